"""The rule engine: first failing rule wins, ranking among rows still kept, NULL passes, skipped rules."""

from __future__ import annotations

import duckdb
import pytest

from tk.curate import rules


@pytest.fixture()
def con():
    c = duckdb.connect()
    c.execute("""CREATE TABLE objects AS SELECT * FROM (VALUES
        ('u1', 'cc0',  'glb', 'h1', 100,  'chair', 9.0),
        ('u2', 'cc0',  'glb', 'h1', 200,  'chair', 8.0),   -- duplicate of u1 by hash
        ('u0', 'nc',   'glb', 'h1', 300,  'chair', 7.0),   -- same hash, but rejected earlier by license
        ('u3', 'cc0',  'txt', 'h2', 100,  'chair', 6.0),
        ('u4', 'cc0',  'obj', 'h3', NULL, 'chair', 5.0),   -- face count unknown: the face rule cannot judge it
        ('u5', 'nc',   'txt', 'h4', 5,    'lamp',  4.0),   -- fails two rules: the first one is the reason
        ('u6', 'cc0',  'obj', NULL, 50,   'lamp',  3.0),
        ('u7', 'cc0',  'obj', NULL, 60,   'lamp',  NULL)
    ) t(uid, license, file_type, sha256, face_count, category, score)""")
    return c


def reasons(con, rule_list):
    inline = dict(con.execute(f"SELECT uid, reason FROM ({rules.chain_sql(rule_list, 'objects')})").fetchall())
    # The materialised form (ranking rules evaluated first into temp tables) must agree row for row.
    staged = dict(con.execute(f"SELECT uid, reason FROM ({rules.chain_sql(rule_list, 'objects', con, key='uid')})").fetchall())
    assert staged == inline
    return inline


LICENSE = rules.Rule("license", "license = 'cc0'", ("license",))
TYPE = rules.Rule("file_type", "file_type IN ('glb', 'obj')", ("file_type",))
FACES = rules.Rule("too_few_faces", "face_count >= 10", ("face_count",))
DEDUP = rules.RankRule("duplicate", "sha256", "uid", 1, ("sha256",))


def test_first_failing_rule_is_the_reason(con):
    got = reasons(con, [LICENSE, TYPE, FACES])
    assert got["u5"] == "license"  # fails license, type and faces
    assert got["u3"] == "file_type" and got["u0"] == "license"
    assert got["u4"] is None  # NULL face count passes
    assert got["u1"] is None and got["u2"] is None  # no dedup rule yet


def test_ranking_counts_only_rows_still_kept(con):
    got = reasons(con, [LICENSE, TYPE, DEDUP])
    # u0 would rank first in hash h1, but it is already rejected: u1 is the kept copy, u2 the duplicate.
    assert (got["u0"], got["u1"], got["u2"]) == ("license", None, "duplicate")
    assert got["u6"] is None and got["u7"] is None  # NULL hashes are never duplicates of each other


def test_category_cap_by_score(con):
    cap = rules.RankRule("category_cap", "category", "score DESC NULLS LAST, uid", 1, ("category",))
    got = reasons(con, [LICENSE, TYPE, cap])
    kept = {u for u, r in got.items() if r is None}
    assert kept == {"u1", "u6"}  # best-scored kept row of each category
    assert got["u2"] == got["u4"] == got["u7"] == "category_cap"


def test_rules_over_all_null_columns_are_skipped(con):
    con.execute("ALTER TABLE objects ADD COLUMN animation_count BIGINT")
    anim = rules.Rule("animated", "animation_count = 0", ("animation_count",))
    nulls = rules.null_columns(con, "objects", ["animation_count", "face_count"])
    assert nulls == {"animation_count"}
    applied, skipped = rules.active([LICENSE, anim, FACES], nulls)
    assert [r.name for r in applied] == ["license", "too_few_faces"] and [r.name for r in skipped] == ["animated"]


def _config(**kw):
    from tk.curate.config import CurateConfig
    from tk.sections import build

    return build(CurateConfig, {"source": "local", "input": "manifests/sample/objects", "dry_run": True, **kw}, "")


def test_a_configs_rules_read_its_typed_fields(con):
    cfg = _config(min_faces="55", max_faces=None, max_size_mb=1, max_per_category=1, animated=True)
    by_name = {r.name: r for r in rules.for_config(cfg)}
    assert "animated" not in by_name and "too_many_faces" not in by_name and "no_textures" not in by_name
    assert by_name["too_few_faces"].keep == "face_count >= 55"  # the CLI's text arrives as a number
    assert by_name["too_large"].keep == f"size_bytes <= {1024 * 1024}"
    got = reasons(con, [LICENSE, TYPE, by_name["too_few_faces"], by_name["category_cap"]])
    assert (got["u6"], got["u4"], got["u2"]) == ("too_few_faces", "category_cap", "category_cap")
    assert {u for u, r in got.items() if r is None} == {"u1", "u7"}  # u7 is lamp's best once u6 is rejected
    strict = {r.name for r in rules.for_config(_config(require_textures=True, max_vertices=5))}
    assert {"animated", "no_textures", "too_many_vertices", "too_many_faces"} <= strict
