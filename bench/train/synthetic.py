"""Synthetic render folders for the loader's benchmarks and tests: the fixture's real objects under new uids."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RENDERS = REPO / "tests" / "data" / "renders"
HEAVY = ("depth", "normal", "surface")  # nullable columns the trainer never reads


def write_synthetic(out: Path, shards: int, objects_per_shard: int, images_only: bool = False) -> Path:
    """A renders folder of `shards` one-row-group shards of `objects_per_shard` objects each (tk's shard layout):
    the fixture's 4 objects copied under new uids, every column as rendered (`images_only`: depth, normals and
    surfaces left null, for folders of many thousand objects)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from tk.contracts import SHARD, renders, write_table

    src = pq.read_table(RENDERS / "shards" / "shard-00000.parquet")
    if images_only:
        for name in HEAVY:
            i = src.schema.get_field_index(name)
            src = src.set_column(i, src.schema.field(i), pa.nulls(src.num_rows, src.schema.field(i).type))
    uids = list(dict.fromkeys(src["uid"].to_pylist()))
    rows = {u: src.filter(pc.equal(src["uid"], u)) for u in uids}
    k = 0
    for s in range(shards):
        parts = []
        for _ in range(objects_per_shard):
            base = uids[k % len(uids)]
            t = rows[base]
            parts.append(t.set_column(t.schema.get_field_index("uid"), "uid",
                                      pa.array([f"{base}-{k:06d}"] * t.num_rows, pa.string())))
            k += 1
        table = pa.concat_tables(parts)
        # no dictionary: a rendered shard's PNGs are all different, and a dictionary would store these copies once
        write_table(renders.shards_dir(out) / renders.shard_name(s), table, SHARD, row_group_size=table.num_rows,
                    use_dictionary=False)
    return out
