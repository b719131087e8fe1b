"""Write the manifest (Contract 1) from a DuckDB query: `manifest.parquet` then `manifest.duckdb`.

The rows are computed once, streamed by DuckDB's COPY into the Parquet; the DuckDB file is built from
that Parquet. DuckDB writes the Parquet directly (tens of millions of rows never become Python objects), with
the contract's key/value metadata and the Arrow schema of tk.contracts, so `tk.contracts.read_table`
reads it back with the contract's exact types. Both files are renamed into place only after the
checks pass: a failed or killed run leaves the previous manifest or none, never a partial one.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pyarrow as pa

from tk import contracts
from tk.contracts import manifest
from tk.curate import report
from tk.errors import ContractError

_DUCK_TYPES = {pa.string(): "VARCHAR", pa.int64(): "BIGINT", pa.float64(): "DOUBLE"}


def contract_select(columns: list[str]) -> str:
    """A SELECT list casting the manifest's required columns to their DuckDB types, extras after."""
    required = [f.name for f in contracts.MANIFEST_FIELDS]
    out = []
    for f in contracts.MANIFEST_FIELDS:
        if f.name == "bbox_extent":
            # pyarrow 25 cannot read a NULL fixed-size list back from Parquet (its reader expects 3 child
            # slots): an unknown extent is written as [NULL, NULL, NULL], which reads back everywhere.
            src = "CAST(bbox_extent AS DOUBLE[])" if f.name in columns else "CAST(NULL AS DOUBLE[])"
            out.append(f"coalesce({src}, [NULL, NULL, NULL]::DOUBLE[]) AS bbox_extent")
            continue
        duck = _DUCK_TYPES[f.type]
        out.append(f"CAST({f.name} AS {duck}) AS {f.name}" if f.name in columns else f"CAST(NULL AS {duck}) AS {f.name}")
    out += [c for c in columns if c not in required]
    return ", ".join(out)


def write_manifest(con: object, query: str, out: Path,
                   duckdb_table_max_rows: int = manifest.DUCKDB_TABLE_MAX_ROWS) -> dict:
    """Materialise `query` as the manifest in `out`; return {'rows', 'kept', 'groups', 'duckdb_view'}. Validates the contract.

    The contract moves it into place with `manifest.duckdb` (`tk.contracts.manifest.install`): a table up to
    `duckdb_table_max_rows` rows, a view over `manifest.parquet` above; both or neither.
    """
    out.mkdir(parents=True, exist_ok=True)
    tmp_pq = out / f".manifest.parquet.{os.getpid()}.tmp"
    temps = (tmp_pq,)
    for p in temps:
        p.unlink(missing_ok=True)
    try:
        sch = _arrow_schema(con, query)
        meta = {k.decode(): v.decode() for k, v in (sch.metadata or {}).items()}
        meta["ARROW:schema"] = base64.b64encode(sch.serialize().to_pybytes()).decode()
        kv = ", ".join(f"'{k}': '{v}'" for k, v in meta.items())
        con.execute(  # type: ignore[attr-defined]
            # Most manifest columns are unique per row (uid, sha256, metadata): DuckDB's attempt to
            # dictionary-encode them costs ~15% of the write and then is abandoned, so it is turned off.
            f"COPY ({query}) TO '{_q(tmp_pq)}' (FORMAT parquet, COMPRESSION snappy, DICTIONARY_SIZE_LIMIT 1, KV_METADATA {{{kv}}})"
        )
        import pyarrow.parquet as pq

        final_pq = manifest.parquet_path(out)
        contracts.validate_schema(pq.read_schema(tmp_pq), contracts.MANIFEST, str(final_pq))
        counts = _check(con, tmp_pq)
        counts["duckdb_view"] = int(manifest.install(out, tmp_pq, counts["rows"], duckdb_table_max_rows))
        return counts
    except BaseException:
        for p in temps:
            p.unlink(missing_ok=True)
        raise


def _check(con: object, path: Path) -> dict:
    """The row checks of tk.contracts.validate_table, run in DuckDB over the whole written Parquet at once.

    Returns {'rows', 'kept', 'groups'}: `groups` are the rows of `report.group_sql` (the report is
    folded from them, so the narrow columns are scanned once for the checks and the report). NULLs in
    the wide required columns are counted from the Parquet's own statistics, so `uid` is read once (for
    the uniqueness check) and `file_identifier` not at all.
    """
    table = f"read_parquet('{_q(path)}')"

    allowed = {
        "status": contracts.STATUS_MANIFEST,
        "split": contracts.SPLITS,
        "source": contracts.SOURCES,
    }
    cols = ("status", *report._DIMENSIONS)
    groups = con.execute(  # type: ignore[attr-defined]
        report.group_sql(table)
    ).fetchall()
    rows = kept = no_reason = bad = null_req = 0
    for g in groups:
        row = dict(zip(cols, g))
        n = g[len(cols)]
        rows += n
        kept += n if row["status"] == "keep" else 0
        no_reason += n if row["status"] == "reject" and row["reason"] is None else 0
        bad += n if any(row[c] is None or row[c] not in vals for c, vals in allowed.items()) else 0
        null_req += n if row["license"] is None else 0
    null_req += _null_count(con, path, table, "uid") + _null_count(con, path, table, "file_identifier")
    if no_reason:
        raise ContractError(f"manifest: {no_reason} rejected row(s) have no reason")
    if bad or null_req:
        raise ContractError(f"manifest: {bad + null_req} row(s) with a missing or out-of-contract status/split/source/uid")
    # Distinct 64-bit hashes prove distinct uids cheaply; fewer hashes than rows is a duplicate or,
    # very rarely, a hash collision: only then is the exact (string) count paid for.
    uniq = con.execute(f"SELECT count(DISTINCT hash(uid)) FROM {table}").fetchone()[0]  # type: ignore[attr-defined]
    if uniq != rows:
        uniq = con.execute(f"SELECT count(DISTINCT uid) FROM {table}").fetchone()[0]  # type: ignore[attr-defined]
    if uniq != rows:
        raise ContractError(
            f"manifest: {rows - uniq} duplicate uid(s): the input lists the same object (fileIdentifier, uid or file) "
            "more than once; remove the repeated rows"
        )
    return {"rows": int(rows), "kept": int(kept), "groups": [tuple(g[: len(cols) + 1]) for g in groups]}


def _null_count(con: object, path: Path, table: str, column: str) -> int:
    """NULLs in one column: from the row-group statistics when every row group has them, else a scan."""
    groups, with_stats, nulls = con.execute(  # type: ignore[attr-defined]
        f"SELECT count(*), count(stats_null_count), sum(stats_null_count) FROM parquet_metadata('{_q(path)}') "
        "WHERE path_in_schema = ?", [column]
    ).fetchone()
    if groups and groups == with_stats:
        return int(nulls)
    return int(con.execute(f"SELECT count(*) - count({column}) FROM {table}").fetchone()[0])  # type: ignore[attr-defined]


def _arrow_schema(con: object, query: str) -> pa.Schema:
    """The contract schema with the query's extra columns appended (their Arrow types from DuckDB)."""
    required = {f.name for f in contracts.MANIFEST_FIELDS}
    arrow = con.sql(f"SELECT * FROM ({query}) LIMIT 0").to_arrow_table().schema  # type: ignore[attr-defined]
    extra = [arrow.field(n) for n in arrow.names if n not in required]
    return contracts.schema(contracts.MANIFEST, extra)


def _q(path: Path) -> str:
    return str(path).replace("'", "''")
