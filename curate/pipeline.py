"""`run(cfg) -> summary`: candidates from a source → (download + probe) → rules → manifest and report.

Steps, each in its own module: a source (`tk.curate.sources.REGISTRY[cfg.source]`, one `Source` per module; the
pipeline never asks which) loads its candidate rows; rows that pass
the metadata rules are fetched and probed on Ray actors (`executor`, `work`), each result persisted as
it finishes (`probe_store`); the ordered rules (`rules.for_config`) run as one DuckDB
query that also computes the split (`splits`); `writer` writes manifest.parquet and manifest.duckdb;
`report` summarises. `tk curate`, `tk release` and `tk demo` all call `run`. The config is
`tk.curate.config.CurateConfig`.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tk import contracts, splits
from tk.contracts import manifest
from tk.curate import executor, licenses, predicate, report, rules, work, writer
from tk.curate.config import CurateConfig
from tk.curate.probe_store import ProbeStore
from tk.curate.sources import REGISTRY
from tk.curate.sources.base import CANDIDATE_COLUMNS
from tk.errors import TkError

PROBE_COLUMNS = ("size_bytes", "vertex_count", "face_count", "mesh_count", "material_count", "texture_count", "animation_count", "bbox_extent", "local_path", "missing_resources")


def run(cfg: CurateConfig) -> dict[str, Any]:
    """Run a curation (the config checked itself when built); return the summary (what report.json holds).
    Writes nothing with dry_run."""
    import duckdb

    t0 = time.perf_counter()
    if cfg.scores is not None and not cfg.scores.is_file():  # the disk checks the config leaves to run
        raise TkError(f"--scores {cfg.scores}: file not found")
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    source = REGISTRY[cfg.source]
    if source.large:
        # Row order is free on XL-sized tables (a parallel scan and write); smaller sources keep
        # their candidate order (sorted paths or uids), so their manifests are byte-stable.
        con.execute("SET preserve_insertion_order = false")
    stats: dict[str, Any] = {}
    source.load(con, cfg, stats)
    license_sql = _license_sql(con)
    score_key = _scores(con, cfg)
    con.execute(f"CREATE TEMP VIEW base AS {_base_sql(license_sql, score_key)}")
    all_rules = rules.for_config(cfg)
    if cfg.where is not None:
        schema = con.sql("SELECT *, NULL::VARCHAR AS probe_error, NULL::VARCHAR AS probed_with FROM base LIMIT 0")
        predicate.bind(cfg.where, schema.to_arrow_table().schema)

    probes = None
    if not cfg.no_download and cfg.out is not None:
        # A dry run probes nothing and creates nothing; it uses the probes an earlier run stored.
        if not cfg.dry_run or (_work_dir(cfg) / "probes").is_dir():
            store = ProbeStore(_work_dir(cfg))
            if not cfg.dry_run:
                stats["probe"] = _probe(con, cfg, store, all_rules, source.probe_settings(cfg))
            probes = store.load()
            stats.setdefault("probe", {})["stored"] = probes.num_rows
    _objects_view(con, probes)
    if cfg.where is not None:
        con.register("_where_arrow", predicate.rejected(con, cfg.where, "objects", rules.WHERE_KEY))
        con.execute(f"CREATE TEMP TABLE {rules.WHERE_TABLE} AS SELECT k FROM _where_arrow")
        con.unregister("_where_arrow")

    # Which columns are NULL on every row: known without a scan for columns the source never fills
    # (XL annotations carry no counts) and for probe/score columns when there are no probes/scores;
    # on a 10M-row table each counted column costs a pass.
    known_null = {"score"} if score_key is None else set()
    if probes is None or probes.num_rows == 0:
        known_null |= {"probed_with", "probe_error"}
        if source.fills is not None:
            known_null |= set(CANDIDATE_COLUMNS) - source.fills
    filled = {"uid", "source", "file_identifier"} | (source.fills or set())
    unknown = [c for c in [*CANDIDATE_COLUMNS, "probed_with", "probe_error", "score"] if c not in filled | known_null]
    null_cols = known_null | rules.null_columns(con, "objects", unknown)
    applied, skipped = rules.active(all_rules, null_cols)
    # file_identifier is unique among kept rows (repeats would share a uid, which the writer refuses)
    # and, unlike uid, costs no hashing in the narrow ranking pass.
    chain = rules.chain_sql(applied, "objects", con, key="file_identifier")
    # Extra columns that are empty in this run (e.g. `title` for XL) are left out of the manifest.
    keep_cols = [c for c in _objects_columns(con) if c not in null_cols or c in _contract_names()]
    query = (
        f"SELECT {writer.contract_select(keep_cols + ['status', 'reason', 'split'])} FROM ("
        f"SELECT *, CASE WHEN reason IS NULL THEN 'keep' ELSE 'reject' END AS status, "
        f"{splits.split_sql('uid', cfg.split_seed, cfg.fractions)} AS split FROM ({chain}))"
    )
    meta = {
        "source": cfg.source, "rules": [_describe(r) for r in applied], "skipped_rules": [_describe(r) for r in skipped],
        "license_policy": cfg.license, "split": list(cfg.fractions), "split_seed": cfg.split_seed, **stats,
    }
    if cfg.dry_run:
        with _where_blamed(con, cfg):
            summary = report.summarize(con, f"({query})", meta)
    else:
        assert cfg.out is not None
        with _where_blamed(con, cfg):
            written = writer.write_manifest(con, query, cfg.out, cfg.duckdb_table_max_rows)
        meta["duckdb_objects_is_view"] = bool(written.get("duckdb_view"))
        summary = report.summarize(con, f"read_parquet('{_q(manifest.parquet_path(cfg.out))}')", meta, written["groups"])
    summary["seconds"] = round(time.perf_counter() - t0, 3)
    if not cfg.dry_run:
        report.write(summary, cfg.out)  # type: ignore[arg-type]
    con.close()
    return summary




@contextlib.contextmanager
def _where_blamed(con: Any, cfg: CurateConfig) -> Iterator[None]:
    """Turn a DuckDB error raised by the user's `--where` on the rows (a bad cast, a regex that does not
    parse, `error()`) into one line; errors the predicate alone does not reproduce pass unchanged."""
    import duckdb

    try:
        yield
    except duckdb.Error:
        if not cfg.where:
            raise
        try:
            con.execute(f"SELECT count(*) FROM objects WHERE coalesce(({cfg.where}), false)").fetchone()
        except duckdb.Error as own:
            first = str(own).strip().splitlines()[0]
            raise TkError(f"--where {cfg.where!r} failed on the data: {first}") from None
        raise


def _contract_names() -> set[str]:
    return {f.name for f in contracts.MANIFEST_FIELDS}


def _describe(rule: rules.AnyRule) -> dict[str, str]:
    return {"name": rule.name, "doc": rule.doc}


def _work_dir(cfg: CurateConfig) -> Path:
    assert cfg.out is not None
    return cfg.out / ".work"


def _license_sql(con: Any) -> str:
    """SQL of the license id of `c.license_raw`, from the distinct raw spellings (a few hundred even on 10M rows).

    A lookup in a constant MAP of the recognised spellings (the others are `unknown`); past 1000
    spellings, a subquery on a mapping table instead.
    """
    raws = [r[0] for r in con.execute("SELECT DISTINCT license_raw FROM candidates WHERE license_raw IS NOT NULL").fetchall()]
    mapping = {raw: licenses.normalize(raw) for raw in raws}
    if len(mapping) > _CASE_MAX_SPELLINGS:
        con.execute("CREATE TEMP TABLE license_map(raw VARCHAR, id VARCHAR)")
        con.executemany("INSERT INTO license_map VALUES (?, ?)", list(mapping.items()))
        return f"coalesce((SELECT id FROM license_map m WHERE m.raw = c.license_raw), '{licenses.UNKNOWN}')"
    known = {raw: lid for raw, lid in sorted(mapping.items()) if lid != licenses.UNKNOWN}
    if not known:
        return f"'{licenses.UNKNOWN}'"
    # A constant MAP looked up per row: 4x cheaper than a CASE of IN lists on 10M rows.
    entries = ", ".join(f"{_lit(raw)}: {_lit(lid)}" for raw, lid in known.items())
    return f"coalesce(MAP {{{entries}}}[c.license_raw], '{licenses.UNKNOWN}')"


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _scores(con: Any, cfg: CurateConfig) -> str | None:
    """Table scores(score_key, score) from --scores (Parquet or CSV keyed by uid or sha256); the key's name."""
    if cfg.scores is None:
        return None
    import duckdb

    reader = "read_parquet" if cfg.scores.suffix.lower() == ".parquet" else "read_csv_auto"
    try:
        cols = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {reader}('{_q(cfg.scores)}')").fetchall()]
    except duckdb.Error as e:
        raise TkError(f"--scores {cfg.scores}: unreadable ({str(e).splitlines()[0]})") from None
    key = "uid" if "uid" in cols else "sha256" if "sha256" in cols else None
    if key is None or "score" not in cols:
        raise TkError(f"--scores {cfg.scores}: needs a 'score' column and a 'uid' or 'sha256' column (found {cols})")
    con.execute(
        f"CREATE TEMP TABLE scores AS SELECT CAST({key} AS VARCHAR) AS score_key, max(CAST(score AS DOUBLE)) AS score "
        f"FROM {reader}('{_q(cfg.scores)}') GROUP BY 1"
    )
    return key


def _base_sql(license_sql: str, score_key: str | None) -> str:
    score_join, score_col = "", "CAST(NULL AS DOUBLE) AS score"
    if score_key is not None:
        score_join = f" LEFT JOIN scores s ON s.score_key = c.{score_key}"
        score_col = "s.score AS score"
    return f"SELECT c.*, {license_sql} AS license, {score_col} FROM candidates c{score_join}"


def _objects_view(con: Any, probes: Any) -> None:
    """View `objects`: base rows with the probe results laid over them (probe values win)."""
    if probes is None or probes.num_rows == 0:
        con.execute(
            "CREATE TEMP VIEW objects AS SELECT *, CAST(NULL AS VARCHAR) AS probe_error, "
            "CAST(NULL AS VARCHAR) AS probed_with FROM base"
        )
        return
    con.register("probes_arrow", probes)
    cols = ", ".join(f"CAST(p.{c} AS {CANDIDATE_COLUMNS[c]}) AS p_{c}" for c in PROBE_COLUMNS)
    con.execute(f"CREATE TEMP TABLE probes AS SELECT p.uid, {cols}, p.probe_error, p.probed_with FROM probes_arrow p")
    con.unregister("probes_arrow")
    replace = ", ".join(f"coalesce(p.p_{c}, b.{c}) AS {c}" for c in PROBE_COLUMNS)
    con.execute(
        f"CREATE TEMP VIEW objects AS SELECT b.* REPLACE ({replace}), p.probe_error, p.probed_with "
        "FROM base b LEFT JOIN probes p ON p.uid = b.uid"
    )


def _objects_columns(con: Any) -> list[str]:
    return [r[0] for r in con.execute("DESCRIBE SELECT * FROM objects").fetchall()]


def _probe(con: Any, cfg: CurateConfig, store: Any, all_rules: list[rules.AnyRule],
           source_settings: dict[str, str]) -> dict[str, int]:
    """Fetch and probe the rows that pass the metadata rules and are not in the store yet."""
    meta_rules = [r for r in all_rules if isinstance(r, rules.Rule) and r.name in rules.META_RULES]
    con.execute("CREATE TEMP VIEW pre AS SELECT *, CAST(NULL AS VARCHAR) AS probe_error, CAST(NULL AS VARCHAR) AS probed_with FROM base")
    wanted = con.execute(
        f"SELECT uid, source, file_identifier, file_type, sha256, local_path FROM ({rules.chain_sql(meta_rules, 'pre')}) "
        "WHERE reason IS NULL ORDER BY uid"
    ).fetchall()
    done = store.done_uids()
    common = {
        "max_bytes": cfg.max_bytes, "timeout": cfg.timeout, "retries": cfg.retries,
        "download_dir": str(cfg.download_dir or _work_dir(cfg).parent / "objects"),
        "objaverse_dir": "", "objaverse_url": cfg.objaverse_url, "input_root": "", **source_settings,
    }
    keys = ("uid", "source", "file_identifier", "file_type", "sha256", "local_path")
    items = [dict(zip(keys, row)) | common for row in wanted if row[0] not in done]
    counts = {"candidates": len(wanted), "reused": len(wanted) - len(items), "probed": 0, "failed": 0, "retried": 0,
              "node_lost": 0}
    if items:
        def on_result(item: dict[str, Any], result: dict[str, Any]) -> None:
            store.add({"uid": item["uid"]} | result)

        ran = executor.run(items, work.process, on_result, cfg.workers, cfg.timeout + 30, cfg.retries,
                           address=cfg.ray_address, log_dir=_work_dir(cfg) / "logs")
        counts |= {"probed": ran["done"] + ran["failed"], "failed": ran["failed"], "retried": ran["retried"],
                   "node_lost": ran["node_lost"]}
    store.compact()
    return counts


_CASE_MAX_SPELLINGS = 1000


def _q(path: Path) -> str:
    return str(path).replace("'", "''")
