"""The output folder of a render job: shards, objects.parquet and render.json, written so a job killed at
any moment resumes with exactly one complete set of views per object.

Order of writes when a shard is finished: objects.parquet first (its `ok` rows name the shard), then the
shard, each atomically. On open, `ok` rows whose shard file does not exist (killed between the two writes)
are dropped, and shard files no `ok` row names are deleted, so nothing is counted twice or lost.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import pyarrow as pa

from tk import atomic
from tk.contracts import read_table, write_table
from tk.errors import TkError

SHARD_RE = re.compile(r"^shard-(\d{5,})\.parquet$")
# objects.parquet columns beyond the contract's required ones
OBJECT_EXTRA = [pa.field("split", pa.string()), pa.field("file_type", pa.string()), pa.field("shard", pa.string()),
                pa.field("missing_textures", pa.list_(pa.string()))]
MAX_SHARD_BYTES = 256 * 2**20


class ShardStore:
    """Buffers finished objects and writes them out as shards plus an up-to-date objects.parquet."""

    def __init__(self, out: str | Path, objects_per_shard: int = 64) -> None:
        self.out = Path(out)
        self.shard_dir = self.out / "shards"
        self.objects_per_shard = objects_per_shard
        self.shard_dir.mkdir(parents=True, exist_ok=True)
        atomic.remove_stale_temps(self.out)
        atomic.remove_stale_temps(self.shard_dir)
        self.objects: dict[str, dict[str, Any]] = {}
        if (self.out / "objects.parquet").exists():
            for row in read_table(self.out / "objects.parquet", "objects").to_pylist():
                self.objects[row["uid"]] = row
        self._reconcile()
        self._pending_rows: list[dict[str, Any]] = []
        self._pending_objects: list[dict[str, Any]] = []
        self._pending_bytes = 0
        existing = [int(m.group(1)) for p in self.shard_dir.iterdir() if (m := SHARD_RE.match(p.name))]
        self.next_index = max(existing, default=-1) + 1

    def _reconcile(self) -> None:
        present = {p.name for p in self.shard_dir.iterdir() if SHARD_RE.match(p.name)}
        for uid, row in list(self.objects.items()):
            if row["status"] == "ok" and row.get("shard") not in present:
                del self.objects[uid]  # its shard never landed: render it again
        named = {row.get("shard") for row in self.objects.values() if row["status"] == "ok"}
        for name in present - named:
            (self.shard_dir / name).unlink()  # a shard no object row claims would duplicate views

    def done(self) -> set[str]:
        """Uids whose views are safely in a shard."""
        return {uid for uid, row in self.objects.items() if row["status"] == "ok"}

    def add(self, row: dict[str, Any], views: list[dict[str, Any]]) -> None:
        """Record one object's objects row and (when ok) its shard rows; flush when a shard is full."""
        if row["status"] == "ok":
            self._pending_rows.extend(views)
            self._pending_objects.append(row)
            self._pending_bytes += sum(len(v["rgba"]) + len(v["depth"] or b"") + len(v["normal"] or b"")
                                       + len(v.get("surface") or b"") for v in views)
            if len(self._pending_objects) >= self.objects_per_shard or self._pending_bytes >= MAX_SHARD_BYTES:
                self.flush()
        else:
            self.objects[row["uid"]] = row

    def flush(self) -> None:
        """Write the buffered objects as one shard (objects.parquet first, see module doc)."""
        if not self._pending_objects:
            self._write_objects()
            return
        name = f"shard-{self.next_index:05d}.parquet"
        for row in self._pending_objects:
            self.objects[row["uid"]] = {**row, "shard": name}
        self._write_objects()
        write_table(self.shard_dir / name, pa.Table.from_pylist(self._pending_rows), "shard",
                    row_group_size=max(1, len(self._pending_rows)))
        self.next_index += 1
        self._pending_rows, self._pending_objects, self._pending_bytes = [], [], 0

    def _write_objects(self) -> None:
        from tk.contracts import schema

        # pyarrow 25 cannot read back a null entry of a fixed-size list column from Parquet, so an object
        # without a normalisation (failed) stores NaNs as its center
        rows = [{**r, "center": r["center"] if r["center"] is not None else [math.nan] * 3}
                for r in (self.objects[uid] for uid in sorted(self.objects))]
        table = pa.Table.from_pylist(rows, schema=schema("objects", OBJECT_EXTRA))
        write_table(self.out / "objects.parquet", table, "objects")


def write_render_json(out: str | Path, settings: dict[str, Any], versions: dict[str, str]) -> None:
    """Write render.json; on resume, refuse when the existing one was made with other settings."""
    path = Path(out) / "render.json"
    if path.exists():
        old = json.loads(path.read_text())
        if old.get("settings") != settings:
            diff = sorted(k for k in set(old.get("settings", {})) | set(settings)
                          if old.get("settings", {}).get(k) != settings.get(k))
            raise TkError(f"{out} holds renders made with other settings ({', '.join(diff)}); "
                          "use a new --out folder or the same settings")
        return
    atomic.write_text(path, json.dumps({"settings": settings, "seed": settings["seed"], "versions": versions},
                                       indent=2, sort_keys=True) + "\n")
