"""Where each file of a release folder lies; every other module of tk.release names paths through here."""

from __future__ import annotations

from pathlib import Path

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
MANIFEST_FILES = ("manifest.parquet", "manifest.duckdb", "report.md", "report.json")
RENDER_FILES = ("objects.parquet", "render.json")


def manifest(root: Path) -> Path:
    """The release's manifest.parquet."""
    return root / MANIFEST_DIR / "manifest.parquet"


def objects(root: Path) -> Path:
    """The release's objects.parquet (one row per rendered object)."""
    return root / RENDERS_DIR / "objects.parquet"


def shards(root: Path) -> list[Path]:
    """The release's render shards, in name order."""
    return sorted((root / RENDERS_DIR / "shards").glob("shard-*.parquet"))
