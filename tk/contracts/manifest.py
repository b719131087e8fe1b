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

from tk.contracts.tables import TableSpec, read_table
from tk.errors import ContractError
from tk.splits import SPLITS

PARQUET = "manifest.parquet"
DUCKDB = "manifest.duckdb"
DUCKDB_TABLE = "objects"
REPORTS = ("report.md", "report.json")
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


def read_manifest(folder: str | os.PathLike[str], columns: list[str] | None = None) -> pa.Table:
    """The validated manifest table of a curate output folder."""
    return read_table(parquet_path(folder), MANIFEST, columns)
