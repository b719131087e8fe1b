"""Writes the metadata files of a release around its manifest and renders: the spec, RELEASE.json,
ATTRIBUTION.md, LICENSES.md, the contact sheet and the dataset card."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tk import atomic
from tk.contracts import release as layout
from tk.contracts import renders
from tk.curate.licenses import allowed
from tk.errors import TkError
from tk.release import attribution, card, stages
from tk.release.spec import ReleaseSpec
from tk.release.stats import compute_stats, kept_rows
from tk.release.versions import resolved_versions
from tk.render.preview import contact_sheet


def license_policy(spec: ReleaseSpec) -> dict[str, Any]:
    """The curate license policy the spec builds with, and the license ids it allows (None: all)."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="tk-release-policy-") as tmp:
        policy = str(getattr(stages.curate_config(spec, spec.sources[0], Path(tmp)), "license", "all"))
    ids = allowed(policy)
    return {"policy": policy, "allowed": None if ids is None else sorted(ids)}


def write_metadata(root: Path, spec: ReleaseSpec, spec_text: str, policy: dict[str, Any]) -> dict[str, Any]:
    """Write the spec, RELEASE.json, ATTRIBUTION.md, LICENSES.md and README.md of the release at `root`.

    `policy` is what `license_policy` returns; the contact sheet is written before (`write_preview`).
    """
    stats = compute_stats(root)
    atomic.write_text(root / layout.SPEC, spec_text)
    render_json = json.loads(renders.render_json_path(root / layout.RENDERS_DIR).read_text(encoding="utf-8"))
    record = layout.write_record(root, {
        "name": spec.name,
        "version": spec.version,
        "description": spec.description,
        **spec.to_record(),
        "versions": resolved_versions(),
        "license_policy": policy,
        "stats": stats.to_dict(),
        "render_settings": render_json,
    })
    atomic.write_text(root / layout.ATTRIBUTION, attribution.attribution_markdown(kept_rows(root), spec.name))
    atomic.write_text(root / layout.LICENSES, card.license_summary(stats))
    atomic.write_text(root / layout.CARD, card.dataset_card(record, stats))
    return record


def check_rendered(root: Path) -> None:
    """Fail when no object rendered: such a release would hold no data."""
    stats = compute_stats(root)
    if stats.rendered == 0:
        raise TkError(f"no object rendered ({stats.kept} kept, {stats.render_failed} failed); see the errors "
                      "in the render stage's objects.parquet; nothing was released")


def write_preview(root: Path) -> None:
    """The contact sheet of the renders (objects x views, with masks), made by tk.render.preview."""
    contact_sheet(root / layout.RENDERS_DIR, root / layout.PREVIEW)
