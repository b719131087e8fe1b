"""The output folder of a render job: shards, objects.parquet and render.json, written so a job killed at
any moment resumes with exactly one complete set of views per object, and so that no finished shard is lost.

Order of writes when a shard is finished: objects.parquet first (its `ok` rows name the shard), then the
shard, each atomically. On open, `ok` rows whose shard file does not exist (killed between the two writes)
are dropped. Each shard also records, in its Parquet metadata, its objects' rows and the settings it was
rendered with: a shard that no `ok` row names (objects.parquet deleted or replaced by an older copy) is
adopted back into the index from that record, and a missing render.json is rewritten only when the
shards' settings are this run's. A finished shard is never deleted; what cannot be reconciled is refused
with one line. `out_lock` keeps a second job out of a folder while one is writing it.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tk import atomic, faults
from tk.contracts import renders
from tk.errors import TkError

MAX_SHARD_BYTES = 256 * 2**20


class ShardStore:
    """Buffers finished objects and writes them out as shards plus an up-to-date objects.parquet."""

    def __init__(self, out: str | Path, objects_per_shard: int = 64, settings: dict[str, Any] | None = None) -> None:
        self.out = Path(out)
        self.shard_dir = renders.shards_dir(self.out)
        self.objects_per_shard = objects_per_shard
        self.settings = settings  # recorded in each shard; shards adopted back must have been made with them
        self.shard_dir.mkdir(parents=True, exist_ok=True)
        atomic.remove_stale_temps(self.out)
        atomic.remove_stale_temps(self.shard_dir)
        self.objects: dict[str, dict[str, Any]] = {}
        if renders.objects_path(self.out).exists():
            for row in renders.read_objects(self.out).to_pylist():
                self.objects[row["uid"]] = row
        self._reconcile()
        self._pending_rows: list[dict[str, Any]] = []
        self._pending_objects: list[dict[str, Any]] = []
        self._pending_bytes = 0
        self.next_index = max((renders.shard_index(p.name) for p in renders.shard_paths(self.out)), default=-1) + 1

    def _reconcile(self) -> None:
        present = {p.name for p in renders.shard_paths(self.out)}
        for uid, row in list(self.objects.items()):
            if row["status"] == "ok" and row.get("shard") not in present:
                del self.objects[uid]  # its shard never landed: render it again
        named = {row.get("shard") for row in self.objects.values() if row["status"] == "ok"}
        orphans = sorted(present - named)
        for name in orphans:
            self._adopt(name)
        if orphans:
            self._write_objects()  # the rebuilt index, at once

    def _adopt(self, name: str) -> None:
        """Put the objects of a shard that no `ok` row names back into the index, from the shard's own record."""
        path = self.shard_dir / name
        record = renders.read_record(path)
        if record is None:
            raise TkError(f"{path} is a finished shard that {renders.objects_path(self.out)} does not list, and it does "
                          "not record its objects (made by an older tk); restore objects.parquet or render into a "
                          "new --out folder (no shard was deleted)")
        if self.settings is not None and record.get("settings") != self.settings:
            raise TkError(f"{path} was rendered with other settings ({', '.join(_diff(record.get('settings') or {}, self.settings))}) "
                          "than this run; use the same settings or a new --out folder")
        for row in record["objects"]:
            old = self.objects.get(row["uid"])
            if old is not None and old["status"] == "ok":
                raise TkError(f"{path} and {self.shard_dir / old['shard']} both hold views of object {row['uid']}; "
                              f"move one of the two files out of {self.shard_dir} and run again")
            self.objects[row["uid"]] = {**row, "shard": name}

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
        if not self.shard_dir.is_dir():
            # --out deleted mid-run: writing on would recreate it holding only the objects of this run's memory.
            raise faults.StorageError(errno.ENOENT, self.shard_dir)
        if not self._pending_objects:
            self._write_objects()
            return
        name = renders.shard_name(self.next_index)
        for row in self._pending_objects:
            self.objects[row["uid"]] = {**row, "shard": name}
        self._write_objects()
        record = {"settings": self.settings, "objects": [{k: v for k, v in r.items() if k != "shard"} for r in self._pending_objects]}
        renders.write_shard(self.shard_dir / name, self._pending_rows, record)
        self.next_index += 1
        self._pending_rows, self._pending_objects, self._pending_bytes = [], [], 0

    def _write_objects(self) -> None:
        renders.write_objects(self.out, list(self.objects.values()))


def write_render_json(out: str | Path, settings: dict[str, Any], versions: dict[str, str]) -> None:
    """Write render.json; on resume, refuse when the existing one, or the shards without one, hold other settings."""
    path = renders.render_json_path(out)
    if path.exists():
        old = json.loads(path.read_text())
        if old.get("settings") != settings:
            raise TkError(f"{out} holds renders made with other settings ({', '.join(_diff(old.get('settings', {}), settings))}); "
                          "use a new --out folder or the same settings")
        return
    for shard in renders.shard_paths(out):  # render.json was deleted: the shards say which settings made them
        record = renders.read_record(shard)
        if record is None or record.get("settings") is None:
            raise TkError(f"{out} has shards but no render.json, and {shard.name} does not record its settings "
                          "(made by an older tk); restore render.json or use a new --out folder")
        if record["settings"] != settings:
            raise TkError(f"{out} holds renders made with other settings ({', '.join(_diff(record['settings'], settings))}) "
                          "and no render.json; use a new --out folder or the same settings")
    atomic.write_text(path, json.dumps({"settings": settings, "seed": settings["seed"], "versions": versions},
                                       indent=2, sort_keys=True) + "\n")


def _diff(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    return sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))


@contextlib.contextmanager
def out_lock(out: str | Path) -> Iterator[None]:
    """Hold `OUT/.lock` for the block; another holder makes this raise TkError at once.

    An flock is released by the OS when its process dies, so a killed job leaves no lock behind (only the
    file, which the next holder reuses). The file is removed on exit while still locked; a job that opened it
    just before checks that it locked the file that is still at the path, else it tries again.
    """
    import fcntl

    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / ".lock"
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise TkError(f"another tk render (pid {holder}) is writing to {out}; wait for it to end or use another --out") from None
        try:
            current = os.stat(path).st_ino
        except FileNotFoundError:
            current = None
        if current == os.fstat(fd).st_ino:
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        path.unlink(missing_ok=True)
        os.close(fd)
