"""Curation rules as data: named DuckDB SQL predicates, applied in order by one engine.

A `Rule` keeps the rows where its predicate is true; a `RankRule` keeps the first `limit` rows of each
partition, ranked among the rows still kept at that point (dedup by sha256, per-category caps). The
engine turns the ordered list into one SQL query that adds a `reason` column: the name of the first
rule that rejected the row, NULL when kept. No row is dropped, so every rejection is explained.

A NULL predicate (the column is unknown for that row) passes, so a rule only rejects what it can judge,
unless the rule says otherwise (`null_passes=False`, e.g. a missing file type).
A rule whose columns are NULL on every row (nothing was probed, `--no-download`) is skipped, and the
report lists it.

`for_config(cfg)` is the ordered rule list of a curation, read from its CurateConfig's typed fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from tk import formats
from tk.curate import download
from tk.curate import licenses

if TYPE_CHECKING:
    from tk.curate.config import CurateConfig


@dataclass(frozen=True)
class Rule:
    """Keep rows where the SQL predicate `keep` is true (or NULL); reject the others with `name`."""

    name: str
    keep: str
    columns: tuple[str, ...]
    doc: str = ""
    null_passes: bool = True  # False: a row this rule cannot judge (NULL) is rejected


@dataclass(frozen=True)
class RankRule:
    """Keep the first `limit` still-kept rows per `partition` (ordered by `order`); reject the rest."""

    name: str
    partition: str
    order: str
    limit: int
    columns: tuple[str, ...]
    doc: str = ""


AnyRule = Rule | RankRule


def chain_sql(rules: list[AnyRule], source: str, con: object | None = None, key: str = "uid") -> str:
    """One SELECT over `source` that adds `reason` (first failing rule) following the rules in order.

    Without `con`, ranking rules are inline window functions (one self-contained query). With `con`,
    each ranking rule is first evaluated on a narrow query (DuckDB reads only the columns the rules so
    far need) into a temp table of the `key`s it rejects; the returned query then only tests
    membership. On 10M-row XL tables this keeps the wide `metadata` column out of the window's sort.
    `key` must be unique among rows that are still kept when a ranking rule runs.
    """
    sql = f"SELECT *, CAST(NULL AS VARCHAR) AS reason FROM {source}"
    pending: list[Rule] = []
    for i, rule in enumerate(rules):
        if isinstance(rule, Rule):
            pending.append(rule)
            continue
        sql = _filters(sql, pending)
        pending = []
        sql = _rank(sql, rule) if con is None else _rank_materialised(sql, rule, con, f"_rank_{i}", key)
    return _filters(sql, pending)


def _rank_materialised(sql: str, rule: RankRule, con: object, table: str, key: str) -> str:
    window = f"row_number() OVER (PARTITION BY {rule.partition} ORDER BY {rule.order})"
    con.execute(  # type: ignore[attr-defined]
        f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT k FROM ("
        f"SELECT {key} AS k, {window} AS _rank FROM ({sql}) WHERE reason IS NULL AND ({rule.partition}) IS NOT NULL"
        f") WHERE _rank > {int(rule.limit)}"
    )
    return (
        f"SELECT * REPLACE (CASE WHEN reason IS NULL AND {key} IN (SELECT k FROM {table}) "
        f"THEN '{rule.name}' ELSE reason END AS reason) FROM ({sql})"
    )


def _filters(sql: str, rules: list[Rule]) -> str:
    if not rules:
        return sql
    # One CASE for a run of consecutive filters: its WHEN order is the rule order.
    whens = " ".join(f"WHEN NOT coalesce(({r.keep}), {str(r.null_passes).lower()}) THEN '{r.name}'" for r in rules)
    return f"SELECT * REPLACE (coalesce(reason, CASE {whens} END) AS reason) FROM ({sql})"


def _rank(sql: str, rule: RankRule) -> str:
    # Partitioning on `reason IS NULL` ranks kept rows only among themselves; rows with a NULL
    # partition key are never duplicates of each other.
    window = f"row_number() OVER (PARTITION BY reason IS NULL, {rule.partition} ORDER BY {rule.order})"
    return (
        f"SELECT * REPLACE (CASE WHEN reason IS NULL AND ({rule.partition}) IS NOT NULL "
        f"AND {window} > {int(rule.limit)} THEN '{rule.name}' ELSE reason END AS reason) FROM ({sql})"
    )


def active(rules: list[AnyRule], null_columns: set[str]) -> tuple[list[AnyRule], list[AnyRule]]:
    """Split rules into (applied, skipped): a rule is skipped when every column it reads is all-NULL."""
    applied, skipped = [], []
    for rule in rules:
        (skipped if rule.columns and all(c in null_columns for c in rule.columns) else applied).append(rule)
    return applied, skipped


def null_columns(con: object, source: str, columns: list[str]) -> set[str]:
    """The subset of `columns` that is NULL on every row of `source` (one aggregate query)."""
    cols = [c for c in columns]
    if not cols:
        return set()
    counts = con.execute(  # type: ignore[attr-defined]
        "SELECT " + ", ".join(f"count({c})" for c in cols) + f" FROM {source}"
    ).fetchone()
    return {c for c, n in zip(cols, counts) if n == 0}


# The rules of a curation, built from its CurateConfig's typed fields.

# Rules that read only what is known before fetching a file: rows failing them are never downloaded.
META_RULES = ("no_identifier", "license", "file_type", "too_large", "age_restricted")
# The --where verdicts are keyed like the ranking rules (file_identifier is unique among kept rows).
WHERE_KEY = "coalesce(file_identifier, '')"
WHERE_TABLE = "_where_rejects"


def for_config(cfg: CurateConfig) -> list[AnyRule]:
    """The ordered rules of `cfg`: metadata rules, probe rules, then the ranking rules."""
    out: list[AnyRule] = [Rule("no_identifier", "file_identifier <> ''", (), "the source row has no file identifier")]
    allowed = licenses.allowed(cfg.license)
    if allowed is not None:
        ids = ", ".join(f"'{i}'" for i in sorted(allowed))
        out.append(Rule("license", f"license IN ({ids})", ("license",), f"license policy {cfg.license}"))
    types = ", ".join(f"'{t}'" for t in formats.EXTENSIONS)
    out.append(Rule("file_type", f"file_type IN ({types})", ("file_type",),
                    f"a file type tk renders ({', '.join(formats.EXTENSIONS)})", null_passes=False))
    out.append(Rule("too_large", f"size_bytes <= {cfg.max_bytes}", ("size_bytes",), f"file size <= {cfg.max_size_mb} MB"))
    out.append(Rule("age_restricted", "NOT is_age_restricted", ("is_age_restricted",), "not age-restricted"))
    out += probe_rules(cfg)
    out.append(RankRule("duplicate", "sha256", "file_identifier", 1, ("sha256",), "one object per sha256 (first file_identifier kept)"))
    if cfg.min_score is not None:
        out.append(Rule("low_score", f"coalesce(score >= {cfg.min_score}, false)", (), f"score >= {cfg.min_score}"))
    if cfg.where is not None:
        # The predicate itself runs in a sandbox (tk.curate.predicate); the chain only reads its verdicts.
        out.append(Rule("where", f"{WHERE_KEY} NOT IN (SELECT k FROM {WHERE_TABLE})", (), f"--where {cfg.where}"))
    if cfg.max_per_category is not None:
        out.append(RankRule("category_cap", "category", "score DESC NULLS LAST, uid", cfg.max_per_category,
                            ("category",), f"at most {cfg.max_per_category} per category"))
    return out


def probe_rules(cfg: CurateConfig) -> list[Rule]:
    """Rules over what the probe (or the annotations) measured."""
    # A failed fetch (HTTP error, sha256 mismatch, unsafe archive) is a rejection of its own, whatever else
    # happened in the run: the rule reads `probe_error`, so it applies even when no row reached a probe.
    out = [Rule("download_failed", f"probe_error IS NULL OR NOT starts_with(probe_error, '{download.ERROR_PREFIX}')",
                ("probe_error",), "the file downloads (size cap, sha256 and archive checks pass)")]
    out.append(Rule("unreadable", "probe_error IS NULL", ("probed_with", "probe_error"), "the file opens and measures"))
    out.append(Rule("no_faces", "face_count > 0", ("face_count",), "at least one face"))
    bounds = ((cfg.min_faces, "too_few_faces", "face_count >="), (cfg.max_faces, "too_many_faces", "face_count <="),
              (cfg.min_vertices, "too_few_vertices", "vertex_count >="),
              (cfg.max_vertices, "too_many_vertices", "vertex_count <="))
    for value, name, test in bounds:
        if value is not None:
            out.append(Rule(name, f"{test} {value}", (test.split()[0],), f"{test} {value}"))
    if not cfg.animated:
        out.append(Rule("animated", "animation_count = 0", ("animation_count",), "no animations (--animated keeps them)"))
    out.append(Rule(
        "degenerate",
        f"list_max(bbox_extent) > 0 AND list_min(bbox_extent) >= {cfg.flat_ratio} * list_max(bbox_extent)",
        ("bbox_extent",), f"not flat: shortest side >= {cfg.flat_ratio} x longest",
    ))
    if cfg.require_textures:
        out.append(Rule("no_textures", "texture_count > 0", ("texture_count",), "at least one texture"))
    return out
