"""The floor of any DuckDB path on this contract: one COPY query, none of tk's checks, reasons or report.

Two variants, both reading the same annotation Parquet and writing every input column plus the
license id, reason, status and split:

- `reference`: the query the issue measured (filter, dedup by a semi-join on min(fileIdentifier) per
  sha256 among the kept rows, hash split, COPY to Parquet). It computes no uid.
- `floor`: the same query plus the contract's uid = sha256(fileIdentifier) for every row, which every
  manifest of this contract must hold; the split is tk's (a turn of the uid ring). No curate can write
  this manifest faster with DuckDB, so `floor` against pandas bounds the ratio any tk path can reach.
"""

from __future__ import annotations

from pathlib import Path

from tk import splits
from tk.curate import licenses
from tk.formats import EXTENSIONS as SUPPORTED_TYPES


def run(xl_dir: Path, out: Path, with_uid: bool) -> int:
    """Write `out/manifest.parquet` with one query; return the rows kept."""
    import duckdb

    files = sorted(str(p) for p in xl_dir.glob("*/*.parquet"))
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    con.execute("SET preserve_insertion_order = false")
    raws = [r[0] for r in con.execute(f"SELECT DISTINCT license FROM read_parquet({files}) WHERE license IS NOT NULL").fetchall()]
    lic_map = "MAP {" + ", ".join(f"'{r.replace(chr(39), chr(39) * 2)}': '{licenses.normalize(r)}'" for r in raws) + "}"
    allowed = ", ".join(f"'{i}'" for i in sorted(licenses.allowed("cc-by")))
    types = ", ".join(f"'{t}'" for t in SUPPORTED_TYPES)
    uid = "sha256(fileIdentifier) AS uid, " if with_uid else ""
    # NOT MATERIALIZED: `r` is read twice (the dedup aggregate, then the output); materialising it would
    # hold every row and column in memory.
    split = splits.split_sql("uid", 0, (0.98, 0.01, 0.01)) if with_uid else (
        "CASE WHEN hash(fileIdentifier) % 100 < 98 THEN 'train' WHEN hash(fileIdentifier) % 100 < 99 THEN 'val' ELSE 'test' END")
    base = f"""SELECT *, {uid}lower(fileType) AS file_type, coalesce({lic_map}[license], 'unknown') AS license_id
               FROM read_parquet({files})"""
    reasoned = f"""SELECT *, CASE WHEN coalesce(fileIdentifier, '') = '' THEN 'no_identifier'
                                  WHEN license_id NOT IN ({allowed}) THEN 'license'
                                  WHEN file_type NOT IN ({types}) THEN 'file_type' END AS reason0 FROM ({base})"""
    out.mkdir(parents=True, exist_ok=True)
    con.execute(f"""
        COPY (
          WITH r AS NOT MATERIALIZED ({reasoned}),
               keep AS (SELECT sha256, min(fileIdentifier) AS fid FROM r WHERE reason0 IS NULL AND sha256 IS NOT NULL GROUP BY sha256)
          SELECT r.* EXCLUDE (reason0),
                 CASE WHEN reason0 IS NOT NULL THEN reason0
                      WHEN r.sha256 IS NOT NULL AND keep.fid IS NULL THEN 'duplicate' END AS reason,
                 CASE WHEN reason0 IS NULL AND (r.sha256 IS NULL OR keep.fid IS NOT NULL) THEN 'keep' ELSE 'reject' END AS status,
                 {split} AS split
          FROM r LEFT JOIN keep ON r.sha256 = keep.sha256 AND r.fileIdentifier = keep.fid
        ) TO '{out / "manifest.parquet"}' (FORMAT parquet, COMPRESSION snappy, DICTIONARY_SIZE_LIMIT 1)
    """)
    kept = con.execute(f"SELECT count(*) FROM read_parquet('{out / 'manifest.parquet'}') WHERE status = 'keep'").fetchone()[0]
    con.close()
    return int(kept)
