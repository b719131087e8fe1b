"""What the render tests count: the (uid, view) keys of every shard in a renders folder."""

from __future__ import annotations

from pathlib import Path

from tk.contracts import SHARD, read_table


def shard_views(out: Path) -> list[tuple[str, int]]:
    """(uid, view) of every row of OUT/shards/shard-*.parquet, read through the contract (a partial file fails)."""
    keys = []
    for shard in sorted((out / "shards").glob("shard-*.parquet")):
        t = read_table(shard, SHARD)
        keys += list(zip(t.column("uid").to_pylist(), t.column("view").to_pylist()))
    return keys
