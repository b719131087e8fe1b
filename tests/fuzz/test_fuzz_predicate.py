"""`--where` predicates (and a release spec's `where`) are the one user text tk runs.

Properties, for expressions built from the manifest's columns, DuckDB's functions (the file readers
among them) and raw text: `check`/`bind`/`rejected` return or raise one TkError line; a file beside the
manifest is never read into the result, and no file is written.
"""

from __future__ import annotations

import os

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fuzz.conftest import EXAMPLES, one_line
from tk.curate import predicate
from tk.errors import TkError

SECRET = "tk-fuzz-secret-4711"
COLUMNS = ["face_count", "license", "file_type", "bbox_extent", "uid"]
TABLE = pa.table({"uid": ["a", "b", "c"], "face_count": [10, 200, None], "license": ["cc-by-4.0", "by-nc", None],
                  "file_type": ["glb", "obj", "ply"], "bbox_extent": [[1.0, 2.0, 3.0], None, [0.5, 0.5, 0.5]]})
FUNCS = ["read_text", "read_csv", "read_parquet", "read_json", "glob", "getenv", "read_blob", "lower", "len",
         "list_contains", "coalesce", "regexp_matches", "sum", "abs", "query", "query_table", "current_setting"]


def _atoms(secret_dir: str = "{S}") -> st.SearchStrategy:
    paths = [f"{secret_dir}/secret.csv", f"{secret_dir}/*", "secret.csv", "../secret/secret.csv", "/etc/passwd",
             f"file://{secret_dir}/secret.csv", "http://127.0.0.1:9/x", f"{secret_dir}/new.parquet"]
    return st.one_of(
        st.sampled_from(COLUMNS + ["missing_col", "objects.uid", "*", "?", "$1", "NULL", "true"]),
        st.integers(-5, 500).map(str), st.sampled_from(paths).map(lambda p: f"'{p}'"),
        st.text(alphabet="abc'\"%_ ()-;\\\n", max_size=6).map(lambda t: f"'{t}'"),
    )


def _expr(secret_dir: str = "{S}") -> st.SearchStrategy:
    return st.recursive(_atoms(secret_dir), lambda e: st.one_of(
        st.tuples(e, st.sampled_from(["=", "<", ">=", "<>", "AND", "OR", "+", "||", "LIKE", "IN", "IS"]), e)
        .map(lambda t: f"{t[0]} {t[1]} {t[2]}"),
        st.tuples(st.sampled_from(FUNCS), st.lists(e, max_size=2)).map(lambda t: f"{t[0]}({', '.join(t[1])})"),
        e.map(lambda x: f"NOT ({x})"), e.map(lambda x: f"({x})"),
        e.map(lambda x: f"(SELECT {x})"), e.map(lambda x: f"{x}) OR (1=1"), e.map(lambda x: f"{x}); COPY objects TO 'x"),
        e.map(lambda x: f"CASE WHEN {x} THEN 1 ELSE 0 END = 1"), e.map(lambda x: f"{x} -- c"),
    ), max_leaves=6)


# "{S}" stands for the folder of the secret file, filled in per test (tmp_path differs between tests).
WHERE = st.one_of(_expr(), st.text(max_size=40))


@pytest.fixture
def secret_dir(tmp_path) -> str:
    folder = tmp_path / "secret"
    folder.mkdir()
    (folder / "secret.csv").write_text(f"a\n{SECRET}\n")
    return str(folder)


@given(data=st.data())
def test_the_parser_wall(secret_dir, watch, data):
    # The wall every predicate meets first (curate, spec validation, release verify): EXAMPLES inputs.
    where = data.draw(WHERE, label="where").replace("{S}", secret_dir)
    watch.on = True
    try:
        names = predicate.check(where)
        assert isinstance(names, set)
    except TkError as e:
        assert one_line(e), repr(str(e))
    finally:
        watch.on = False
    assert watch.writes == [] and watch.data_reads() == []


# Running a predicate opens two DuckDB sandboxes (~0.1 s): a tenth of the budget runs the whole path.
@settings(max_examples=max(EXAMPLES // 10, 20))
@given(data=st.data())
def test_predicates(secret_dir, tmp_path, watch, data):
    where = data.draw(WHERE, label="where").replace("{S}", secret_dir)
    before = sorted(os.listdir(tmp_path))
    con = predicate.sandbox(TABLE)
    watch.on = True
    try:
        try:
            predicate.bind(where, TABLE.schema)
            out = predicate.rejected(con, where, predicate.TABLE, "uid")
            assert set(out.column("k").to_pylist()) <= {"a", "b", "c"}
            assert SECRET not in str(out.to_pylist())
        except TkError as e:
            assert one_line(e), repr(str(e))
            assert SECRET not in str(e)
    finally:
        watch.on = False
        con.close()
    assert watch.writes == []
    assert sorted(os.listdir(tmp_path)) == before
    assert os.listdir(secret_dir) == ["secret.csv"]


@pytest.mark.parametrize("where", ["face_count > \ud800", "license = '\udcff'", "uid = 'a\x00'"])
def test_predicates_with_text_python_cannot_encode(where):
    # A lone surrogate (argv bytes that are not UTF-8) raised UnicodeEncodeError before the fix.
    try:
        predicate.check(where)
    except TkError as e:
        assert one_line(e)
