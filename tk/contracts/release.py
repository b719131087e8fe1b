"""A release folder (`tk release`): where each file lies, and its RELEASE.json record's reader and writer.

    DIR/RELEASE.json, SHA256SUMS, ATTRIBUTION.md, LICENSES.md, README.md, spec.yaml, preview.png
    DIR/manifest/   a curate output folder (tk.contracts.manifest)
    DIR/renders/    a render folder (tk.contracts.renders)

Every module of tk.release names paths through here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tk import atomic
from tk.contracts import manifest as manifest_contract
from tk.contracts import renders as renders_contract
from tk.errors import TkError

FORMAT = "tk-release/1"
RELEASE_JSON = "RELEASE.json"
SUMS = "SHA256SUMS"
ATTRIBUTION = "ATTRIBUTION.md"
LICENSES = "LICENSES.md"
CARD = "README.md"
SPEC = "spec.yaml"
PREVIEW = "preview.png"
MANIFEST_DIR = "manifest"
RENDERS_DIR = "renders"
# The stage outputs a release ships; anything else a stage leaves (downloads, logs, caches) stays out.
MANIFEST_FILES = manifest_contract.FILES
RENDER_FILES = renders_contract.FILES
RECORD_KEYS = ("name", "version", "spec", "source_base", "versions", "license_policy", "stats")


def manifest(root: Path) -> Path:
    """The release's manifest.parquet."""
    return manifest_contract.parquet_path(root / MANIFEST_DIR)


def objects(root: Path) -> Path:
    """The release's objects.parquet (one row per rendered object)."""
    return renders_contract.objects_path(root / RENDERS_DIR)


def shards(root: Path) -> list[Path]:
    """The release's render shards, in name order."""
    return renders_contract.shard_paths(root / RENDERS_DIR)


def read_record(root: Path) -> dict[str, Any]:
    """RELEASE.json of the release at `root`; a missing or foreign file fails with one line."""
    path = root / RELEASE_JSON
    if not root.is_dir():
        raise TkError(f"release folder not found: {root}")
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TkError(f"{path}: missing; this is not a finished tk release (build it with tk release build)") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise TkError(f"{path}: not valid JSON; the release is damaged") from None
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise TkError(f"{path}: not a {FORMAT} record; was it written by tk release build?")
    missing = [k for k in RECORD_KEYS if k not in record]
    if missing:
        raise TkError(f"{path}: lacks {', '.join(missing)}; the release is damaged")
    return record


def write_record(root: Path, record: dict[str, Any]) -> dict[str, Any]:
    """Write RELEASE.json (the `format` key added) atomically; returns what was written."""
    record = {"format": FORMAT, **record}
    atomic.write_text(root / RELEASE_JSON, json.dumps(record, indent=2, sort_keys=True, default=str) + "\n")
    return record
