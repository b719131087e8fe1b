"""Contract 1, curate → render: the manifest folder (docs/design.md).

`OUT/manifest.parquet` (one row per candidate object, kept or rejected) and `OUT/manifest.duckdb`
(table `objects`, the same rows), with `OUT/report.md` and `OUT/report.json` beside them.
`tk.curate.writer` writes it (through DuckDB, checked against this schema); everything else reads it
with `read_manifest`.
"""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa

from tk import atomic
from tk.contracts.tables import TableSpec, read_table
from tk.errors import ContractError
from tk.splits import SPLITS

PARQUET = "manifest.parquet"
DUCKDB = "manifest.duckdb"
DUCKDB_TABLE = "objects"
REPORT_MD, REPORT_JSON = "report.md", "report.json"
REPORTS = (REPORT_MD, REPORT_JSON)
# past this many rows manifest.duckdb holds a view over manifest.parquet, not a copy (see write_duckdb)
DUCKDB_TABLE_MAX_ROWS = 1_000_000
FILES = (PARQUET, DUCKDB, *REPORTS)

SOURCES = ("objaverse", "xl-github", "xl-sketchfab", "xl-thingiverse", "xl-smithsonian", "local")
STATUS = ("keep", "reject")

# What the geometry probe measures (tk.curate.probe), null until a file is probed.
PROBE_COUNTS = ("vertex_count", "face_count", "mesh_count", "material_count", "texture_count", "animation_count")
PROBE_FIELDS: list[pa.Field] = [pa.field("size_bytes", pa.int64()), *(pa.field(n, pa.int64()) for n in PROBE_COUNTS)]

FIELDS: list[pa.Field] = [
    pa.field("uid", pa.string(), nullable=False),
    pa.field("source", pa.string(), nullable=False),
    pa.field("file_identifier", pa.string(), nullable=False),
    pa.field("file_type", pa.string()),
    pa.field("sha256", pa.string()),
    pa.field("license", pa.string(), nullable=False),
    pa.field("license_raw", pa.string()),
    pa.field("attribution", pa.string()),
    *PROBE_FIELDS,
    pa.field("bbox_extent", pa.list_(pa.float64(), 3)),
    pa.field("status", pa.string(), nullable=False),
    pa.field("reason", pa.string()),
    pa.field("split", pa.string(), nullable=False),
    pa.field("local_path", pa.string()),
]


def _check_rows(table: pa.Table, at: str) -> None:
    import pyarrow.compute as pc

    rejected_without_reason = pc.sum(
        pc.and_(pc.equal(table.column("status"), "reject"), pc.is_null(table.column("reason")))
    ).as_py()
    if rejected_without_reason:
        raise ContractError(f"{at}{rejected_without_reason} rejected row(s) have no reason")
    n_unique = len(pc.unique(table.column("uid")))
    if n_unique != table.num_rows:
        raise ContractError(f"{at}{table.num_rows - n_unique} duplicate uid(s)")


MANIFEST = TableSpec("manifest", "1", tuple(FIELDS), {"status": STATUS, "split": SPLITS, "source": SOURCES}, _check_rows)


def parquet_path(folder: str | os.PathLike[str]) -> Path:
    """The manifest.parquet of a curate output folder."""
    return Path(folder) / PARQUET


def duckdb_path(folder: str | os.PathLike[str]) -> Path:
    """The manifest.duckdb of a curate output folder."""
    return Path(folder) / DUCKDB


def report_path(folder: str | os.PathLike[str], name: str) -> Path:
    """One of the folder's REPORTS (report.md, report.json)."""
    if name not in REPORTS:
        raise ValueError(f"{name}: not a manifest report ({', '.join(REPORTS)})")
    return Path(folder) / name


def install(folder: str | os.PathLike[str], parquet: Path, rows: int, max_rows: int = DUCKDB_TABLE_MAX_ROWS) -> bool:
    """Move a written and checked Parquet of `rows` manifest rows into `folder` as manifest.parquet, with its
    manifest.duckdb: the one writer of a manifest folder's two tables, both or neither on a failure (a full disk).

    manifest.duckdb holds table `objects`, a copy of the rows, up to `max_rows` rows; above that a view `objects`
    over manifest.parquet by absolute path (DuckDB's own storage writes ~4x slower than its Parquet writer and would
    dominate a 10M-row curate). The copy is made before the Parquet moves; a view binds its file when created, so it
    is made after, and if that fails the earlier run's manifest.duckdb is removed rather than left beside the new
    Parquet. True: a view."""
    import duckdb

    final_pq, final_db = parquet_path(folder), duckdb_path(folder)
    tmp_db = final_db.with_name(f".{DUCKDB}.{os.getpid()}.tmp")
    temps = (tmp_db, Path(f"{tmp_db}.wal"))
    for p in temps:
        p.unlink(missing_ok=True)
    big = rows > max_rows

    def create(kind: str, source: Path) -> None:
        con = duckdb.connect(str(tmp_db))
        try:
            path = str(source.resolve()).replace("'", "''")
            con.execute(f"CREATE {kind} {DUCKDB_TABLE} AS SELECT * FROM read_parquet('{path}')")
            con.execute("CHECKPOINT")  # write it now: close() would swallow a full disk, and the Parquet then move
        finally:
            con.close()

    try:
        if not big:
            create("TABLE", parquet)
        atomic.replace(parquet, final_pq)
        if big:
            try:
                create("VIEW", final_pq)
            except BaseException:
                final_db.unlink(missing_ok=True)
                raise
        atomic.replace(tmp_db, final_db)
    finally:
        for p in temps:
            p.unlink(missing_ok=True)
    return big


def read_manifest(folder: str | os.PathLike[str], columns: list[str] | None = None) -> pa.Table:
    """The validated manifest table of a curate output folder."""
    return read_table(parquet_path(folder), MANIFEST, columns)
