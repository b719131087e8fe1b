"""Counts of a release (objects, views, licenses, splits, categories), from its own tables."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tk import contracts
from tk.contracts import release as layout
from tk.release import licenses


@dataclass
class ReleaseStats:
    """What a release holds; RELEASE.json records it and `verify` recomputes it."""

    candidates: int
    kept: int
    rendered: int
    render_failed: int
    shards: int
    shard_rows: int
    views_per_object: int
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    licenses_kept: dict[str, int] = field(default_factory=dict)
    licenses_rendered: dict[str, int] = field(default_factory=dict)
    splits: dict[str, int] = field(default_factory=dict)
    categories: dict[str, int] = field(default_factory=dict)
    category_column: str = "file_type"

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form, for RELEASE.json."""
        return asdict(self)


def kept_rows(root: Path) -> list[dict[str, Any]]:
    """The manifest rows with status keep, as dicts."""
    import pyarrow.compute as pc

    table = contracts.read_table(layout.manifest(root), contracts.MANIFEST)
    return table.filter(pc.equal(table["status"], "keep")).to_pylist()


def compute_stats(root: Path) -> ReleaseStats:
    """Read the manifest, objects table and shards of the release at `root` and count them."""
    manifest = contracts.read_table(layout.manifest(root), contracts.MANIFEST).to_pylist()
    objects = contracts.read_table(layout.objects(root), contracts.OBJECTS, columns=["uid", "status"]).to_pylist()
    shard_paths = layout.shards(root)
    rows_per_uid: Counter[str] = Counter()
    for p in shard_paths:
        rows_per_uid.update(contracts.read_table(p, contracts.SHARD, columns=["uid"])["uid"].to_pylist())
    kept = [r for r in manifest if r["status"] == "keep"]
    ok = {o["uid"] for o in objects if o["status"] == "ok"}
    lic = {r["uid"]: licenses.normalise(r["license"]) for r in kept}
    column = "category" if any(r.get("category") for r in kept) else "file_type"
    per_view = set(rows_per_uid.values())
    return ReleaseStats(
        candidates=len(manifest),
        kept=len(kept),
        rendered=len(ok),
        render_failed=sum(1 for o in objects if o["status"] == "failed"),
        shards=len(shard_paths),
        shard_rows=sum(rows_per_uid.values()),
        views_per_object=per_view.pop() if len(per_view) == 1 else -1,
        rejected_by_reason=dict(sorted(Counter(r["reason"] for r in manifest if r["status"] == "reject").items())),
        licenses_kept=dict(sorted(Counter(lic.values()).items())),
        licenses_rendered=dict(sorted(Counter(lic[u] for u in ok if u in lic).items())),
        splits=dict(sorted(Counter(r["split"] for r in kept).items())),
        categories=dict(sorted(Counter(str(r.get(column) or "unknown") for r in kept).items())),
        category_column=column,
    )
