"""`--where` is one boolean expression over the manifest's columns, run with no file or network access.

Repros of issue 12: a predicate that closes the WHERE clause and appends statements wrote a file, and
one that called read_text() read /etc/passwd. Both are refused with one line and leave nothing behind.
"""

from __future__ import annotations

import shutil

import pyarrow.parquet as pq
import pytest

from tk.cli import main
from tk.curate import predicate
from tk.curate.pipeline import CurateConfig, run as curate
from tk.errors import TkError


@pytest.fixture()
def folder(tmp_path, sample_objects):
    src = tmp_path / "in"
    src.mkdir()
    for name in ("bunny.glb", "025_mug.stl", "pico-neo3.glb"):
        shutil.copy(sample_objects / name, src / name)
    return src


def _curate_cli(folder, out, where, capsys) -> tuple[int, list[str]]:
    code = main(["curate", "--source", "local", "--input", str(folder), "--out", str(out), "--no-download",
                 "--license", "all", "--where", where])
    return code, capsys.readouterr().err.strip().splitlines()


def test_statements_after_the_predicate_are_refused(folder, tmp_path, capsys):
    target = tmp_path / "pwned.txt"
    where = f"face_count > 0); COPY (SELECT 'x') TO '{target}'; SELECT (true"
    code, err = _curate_cli(folder, tmp_path / "out", where, capsys)
    assert code == 2 and len(err) == 1, err
    assert "--where" in err[0] and "one" in err[0]
    assert not target.exists() and not (tmp_path / "out" / "manifest.parquet").exists()


@pytest.mark.parametrize("where", [
    "read_text('/etc/passwd') IS NOT NULL",
    "(SELECT count(*) FROM read_text('/etc/passwd')) > 0",
    "EXISTS (SELECT 1 FROM read_csv('/etc/passwd'))",
    "uid IN (SELECT content FROM read_text('/etc/passwd'))",
    "true) UNION ALL SELECT * FROM read_text('/etc/passwd') WHERE (true",
    "true) ORDER BY (1",
    "true; SELECT 1",
    "true) --",
    "",
    "   ",
])
def test_reads_subqueries_and_trailing_clauses_are_refused(folder, tmp_path, capsys, where):
    code, err = _curate_cli(folder, tmp_path / "out", where, capsys)
    assert code == 2 and len(err) == 1, err
    assert err[0].startswith("error: --where")
    assert "root:" not in err[0]  # nothing of /etc/passwd reaches the message
    assert not (tmp_path / "out" / "manifest.parquet").exists()


def test_file_functions_fail_inside_the_sandbox_even_if_the_parser_allowed_them(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("s3cret")
    con = predicate.sandbox({"uid": ["a"]})
    for sql in (f"SELECT * FROM read_text('{secret}')", f"COPY (SELECT 1) TO '{tmp_path / 'x.csv'}'",
                "SET enable_external_access = true", "LOAD httpfs"):
        with pytest.raises(Exception) as e:
            con.execute(sql)
        assert "s3cret" not in str(e.value)
    assert not (tmp_path / "x.csv").exists()


def test_a_plain_predicate_still_filters(folder, tmp_path):
    out = tmp_path / "out"
    curate(CurateConfig(source="local", input=folder, out=out, no_download=True, license="all",
                        where="file_type = 'glb' AND lower(file_identifier) LIKE '%bunny%'"))
    rows = {r["file_identifier"]: r["reason"] for r in pq.read_table(out / "manifest.parquet").to_pylist()}
    assert rows == {"bunny.glb": None, "025_mug.stl": "where", "pico-neo3.glb": "where"}


def test_unknown_column_and_non_boolean_are_one_line(folder, tmp_path):
    with pytest.raises(TkError, match=r"--where .*no_such_column"):
        curate(CurateConfig(source="local", input=folder, out=tmp_path / "o", no_download=True, where="no_such_column > 1"))
    with pytest.raises(TkError, match="--where"):
        curate(CurateConfig(source="local", input=folder, out=tmp_path / "o", no_download=True, where="face_count >"))


def test_check_needs_no_data():
    predicate.check("face_count > 10 AND list_max(bbox_extent) < 2 AND uid LIKE 'a%'")
    predicate.check("list_filter(bbox_extent, x -> x > 0.5) = []")  # a lambda is an expression, not a read
    with pytest.raises(TkError, match="one boolean expression"):
        predicate.check("1); DROP TABLE objects; SELECT (1")
