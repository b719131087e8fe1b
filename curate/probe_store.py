"""Finished probes, persisted as they complete under `OUT/.work/probes/` so a killed curate resumes.

Each result is one small Parquet part written atomically (temp + rename): after a kill -9 a part is
either complete or absent. A rerun reads every part, skips the uids found there and probes only the
rest; `compact` folds the parts into one file at the end of a run. Reads de-duplicate by uid, so a
kill between writing the compacted file and deleting the parts cannot produce duplicate rows.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from tk import atomic
from tk.curate.probe import PROBE_SCHEMA


class ProbeStore:
    """The resumable set of probe results of one output folder."""

    def __init__(self, work_dir: Path) -> None:
        self.dir = work_dir / "probes"
        self.dir.mkdir(parents=True, exist_ok=True)
        atomic.remove_stale_temps(self.dir)
        self._seq = 0

    def files(self) -> list[Path]:
        """The finished part and compacted files."""
        return sorted(self.dir.glob("*.parquet"))

    def load(self, include_retryable: bool = True) -> pa.Table:
        """Every stored result, one row per uid (the newest wins); retryable failures optionally left out."""
        files = self.files()
        if not files:
            return PROBE_SCHEMA.empty_table()
        table = pa.concat_tables([pq.read_table(f, schema=PROBE_SCHEMA) for f in files])
        # Files sort oldest first (time-stamped names): keep the last row per uid.
        uids = table.column("uid").to_pylist()
        last = {u: i for i, u in enumerate(uids)}
        table = table.take(sorted(last.values()))
        if not include_retryable:
            mask = pa.compute.invert(pa.compute.fill_null(table.column("retryable"), False))
            table = table.filter(mask)
        return table

    def done_uids(self) -> set[str]:
        """uids whose probe finished for good (retryable failures such as timeouts are tried again)."""
        return set(self.load(include_retryable=False).column("uid").to_pylist())

    def add(self, row: dict[str, Any]) -> None:
        """Persist one finished probe atomically."""
        self._seq += 1
        name = f"part-{time.time_ns():020d}-{os.getpid()}-{self._seq:06d}.parquet"
        table = pa.Table.from_pylist([{f.name: row.get(f.name) for f in PROBE_SCHEMA}], schema=PROBE_SCHEMA)
        atomic.write_parquet(self.dir / name, table)

    def compact(self) -> None:
        """Fold all parts into one file (written before the parts are removed)."""
        files = self.files()
        if len(files) <= 1:
            return
        table = self.load()
        atomic.write_parquet(self.dir / f"compact-{time.time_ns():020d}.parquet", table)
        for f in files:
            f.unlink(missing_ok=True)
