"""Objaverse-XL annotations: `DIR/<source>/<source>.parquet` as the `objaverse.xl` package lays them out.

The annotation files are read by DuckDB where they lie (tens of millions of rows never pass through
Python): this module returns the SQL of a relation with the manifest's columns. uid = sha256 of the
fileIdentifier (docs/design.md), source = `xl-<folder>`, license normalised through a small mapping table
built from the distinct raw values. sha256 values are kept as the files give them (lower-case hex in the
published tables; lower-casing 10M of them would cost more than the dedup itself); anything that is
not 64 characters long becomes NULL.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tk.curate.sources.base import CANDIDATE_COLUMNS
from tk.errors import TkError

XL_SOURCES = ("github", "sketchfab", "thingiverse", "smithsonian")
XL_COLUMNS = ("fileIdentifier", "source", "license", "fileType", "sha256", "metadata")
_TEXT_TYPES = ("VARCHAR", '"NULL"')  # an all-null column is typed NULL in Arrow


def check_sources(names: tuple[str, ...] | None) -> tuple[str, ...] | None:
    """`--xl-sources` (`("github", "sketchfab")`) checked and in lower case; None or empty: None (all four)."""
    names = tuple(s.strip().lower() for s in names or () if s.strip())
    if not names:
        return None
    bad = [n for n in names if n not in XL_SOURCES]
    if bad:
        raise TkError(f"--xl-sources: unknown source(s) {bad}; choose from {', '.join(XL_SOURCES)}")
    return names


def annotation_files(xl_dir: Path, sources: tuple[str, ...]) -> dict[str, Path]:
    """The annotation Parquet of each requested source that exists; errors when none do."""
    if not xl_dir.is_dir():
        raise TkError(f"--xl-dir {xl_dir}: not a folder; point it at the objaverse-xl annotations (DIR/<source>/<source>.parquet)")
    found = {s: xl_dir / s / f"{s}.parquet" for s in sources if (xl_dir / s / f"{s}.parquet").is_file()}
    if not found:
        want = ", ".join(f"{s}/{s}.parquet" for s in sources)
        raise TkError(f"--xl-dir {xl_dir}: none of {want} found; download them with objaverse.xl.get_annotations()")
    return found


def _check_file(con: object, source: str, path: Path) -> str:
    """Validate one annotation file's columns; return the SQL expression of its metadata column."""
    import duckdb

    try:
        described = con.execute(f"DESCRIBE SELECT * FROM read_parquet('{_q(path)}')").fetchall()  # type: ignore[attr-defined]
    except duckdb.Error as e:
        raise TkError(f"{path}: not a readable Parquet annotation file ({str(e).splitlines()[0]})") from None
    cols = {row[0]: row[1] for row in described}
    missing = [c for c in ("fileIdentifier", "license", "fileType", "sha256") if c not in cols]
    if missing:
        raise TkError(f"{path}: missing column(s) {missing}; an objaverse-xl annotation file has {', '.join(XL_COLUMNS)}")
    for col in ("fileIdentifier", "license", "fileType", "sha256"):
        # Checked here so that a wrong type is one line, not a DuckDB binder error deep in the rules query
        # (or, for license and fileType, a silent cast of e.g. a list into an `unknown` license).
        if cols[col] not in _TEXT_TYPES:
            raise TkError(f"{path}: column {col} holds {cols[col]}, not text; an objaverse-xl annotation file has string columns {', '.join(XL_COLUMNS[:5])}")
    if "metadata" not in cols:
        return "CAST(NULL AS VARCHAR)"
    return "metadata" if cols["metadata"] == "VARCHAR" else "CAST(to_json(metadata) AS VARCHAR)"


def relation_sql(con: object, xl_dir: Path, sources: tuple[str, ...]) -> str:
    """SQL of the candidate rows of the requested sources (columns named as in the manifest)."""
    parts = []
    for source, path in annotation_files(xl_dir, sources).items():
        meta = _check_file(con, source, path)
        # A row without an identifier still gets a distinct uid (from its file position) so that it
        # can be reported as rejected instead of vanishing.
        parts.append(
            f"""SELECT
                CASE WHEN fileIdentifier IS NULL OR fileIdentifier = ''
                     THEN sha256('missing:{source}:' || file_row_number) ELSE sha256(fileIdentifier) END AS uid,
                'xl-{source}' AS source,
                coalesce(fileIdentifier, '') AS file_identifier,
                lower(trim(CAST(fileType AS VARCHAR), '. ')) AS file_type,
                CASE WHEN length(sha256) = 64 THEN sha256 END AS sha256,
                CAST(license AS VARCHAR) AS license_raw,
                {meta} AS metadata,
                file_row_number AS source_row
            FROM read_parquet('{_q(path)}', file_row_number = true)"""
        )
    return " UNION ALL ".join(parts)


def _q(path: Path) -> str:
    return str(path).replace("'", "''")


# the columns the annotations give; the counts and sizes come only from probing
FILLS = frozenset({"uid", "source", "file_identifier", "file_type", "sha256", "license_raw", "metadata"})


class XLSource:
    """Objaverse-XL: read by DuckDB where the annotation files lie; its row order is free."""

    name = "objaverse-xl"
    fills: frozenset[str] | None = FILLS
    large = True

    def check(self, cfg: Any) -> None:
        if cfg.xl_dir is None:
            raise TkError("--source objaverse-xl needs --xl-dir DIR (the folder holding <source>/<source>.parquet)")

    def load(self, con: Any, cfg: Any, stats: dict[str, Any]) -> None:
        sql = relation_sql(con, cfg.xl_dir, cfg.xl_sources or XL_SOURCES)
        cols = ", ".join(c if c in FILLS else f"CAST(NULL AS {t}) AS {c}" for c, t in CANDIDATE_COLUMNS.items())
        # A parallel scan returns rows in any order: --limit takes the first rows by file position.
        limit = f" ORDER BY source, source_row LIMIT {int(cfg.limit)}" if cfg.limit is not None else ""
        con.execute(f"CREATE TEMP VIEW candidates AS SELECT {cols} FROM ({sql}){limit}")

    def probe_settings(self, cfg: Any) -> dict[str, str]:
        return {}


SOURCE = XLSource()
