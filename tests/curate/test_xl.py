"""`--source objaverse-xl --no-download`: raw licenses, duplicates, broken rows, contract, report, errors."""

from __future__ import annotations

import json

import duckdb
import pytest

from tk import contracts
from tk.cli import main
from tk import splits
from tk.curate.pipeline import CurateConfig, run as curate
from tk.errors import TkError
from tk.hashing import sha256_text

from curate_fixtures import XL_ROWS, sha, write_xl


def rows_by_identifier(out):
    table = contracts.read_table(out / "manifest.parquet", contracts.MANIFEST)
    return {r["file_identifier"]: r for r in table.to_pylist()}


def test_cc_by_policy_on_raw_xl_licenses(tmp_path):
    xl = write_xl(tmp_path / "xl")
    summary = curate(CurateConfig(source="objaverse-xl", xl_dir=xl, out=tmp_path / "out", no_download=True, split_seed=3))
    got = rows_by_identifier(tmp_path / "out")
    assert len(got) == sum(len(v) for v in XL_ROWS.values()) == summary["rows"]
    kept = {fid for fid, r in got.items() if r["status"] == "keep"}
    assert kept == {
        "https://sketchfab.com/3d-models/chair-" + "a" * 32,  # by
        "https://sketchfab.com/3d-models/rock-" + "c" * 32,  # cc0
        "https://www.thingiverse.com/download:102",  # Creative Commons - Attribution
        "https://www.thingiverse.com/download:103",  # Public Domain Dedication
        "https://github.com/c/r/blob/c3/w.glb",  # CC0-1.0, type spelled ".GLB"
        "https://3d-api.si.edu/content/document/3d_package:1/model.glb",  # Smithsonian CC0
    }
    assert got["https://sketchfab.com/3d-models/lamp-" + "b" * 32]["reason"] == "license"
    assert got["https://github.com/b/r/blob/c2/y.glb"]["license"] == "unknown"
    assert got[""]["reason"] == "no_identifier"  # the row without an identifier is reported, not dropped
    assert got["https://github.com/b/r/blob/c2/z.glb"]["reason"] == "file_type"  # CC0 but no file type
    w = got["https://github.com/c/r/blob/c3/w.glb"]
    assert w["file_type"] == "glb" and w["sha256"] is None and w["uid"] == sha256_text(w["file_identifier"])
    assert w["source"] == "xl-github" and json.loads(w["metadata"])["repo"] == "x/y"
    for r in got.values():
        assert r["split"] == splits.split_of(r["uid"], 3, (0.98, 0.01, 0.01))
    skipped = {r["name"] for r in summary["skipped_rules"]}
    assert {"unreadable", "no_faces", "animated", "degenerate", "too_large"} <= skipped
    with duckdb.connect(str(tmp_path / "out" / "manifest.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*), count(*) FILTER (status = 'keep') FROM objects").fetchone() == (17, 6)
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["rejected_by_reason"] == {"license": 9, "no_identifier": 1, "file_type": 1}
    assert "animated" in (tmp_path / "out" / "report.md").read_text()  # listed as skipped


def test_commercial_policy_dedups_among_kept_rows(tmp_path):
    xl = write_xl(tmp_path / "xl")
    curate(CurateConfig(source="objaverse-xl", xl_dir=xl, out=tmp_path / "out", no_download=True, license="commercial"))
    got = rows_by_identifier(tmp_path / "out")
    # Three rows share one sha256; the GPL one fails the license first, so dedup ranks the two MIT rows.
    assert got["https://github.com/a/r/blob/c1/m/0.obj"]["reason"] == "license"
    assert got["https://github.com/a/r/blob/c1/m/a.obj"]["status"] == "keep"
    assert got["https://github.com/a/r/blob/c1/m/b.obj"]["reason"] == "duplicate"
    assert got["https://github.com/b/r/blob/c2/x.fbx"]["status"] == "keep"  # apache-2.0
    assert got["https://github.com/b/r/blob/c2/readme.txt"]["reason"] == "file_type"


def test_large_manifest_duckdb_is_a_view_over_the_parquet(tmp_path):
    xl = write_xl(tmp_path / "xl")
    s = curate(CurateConfig(source="objaverse-xl", xl_dir=xl, out=tmp_path / "out", no_download=True, duckdb_table_max_rows=5))
    assert s["duckdb_objects_is_view"] is True
    with duckdb.connect(str(tmp_path / "out" / "manifest.duckdb"), read_only=True) as con:
        kind = con.execute("SELECT table_type FROM information_schema.tables WHERE table_name = 'objects'").fetchone()[0]
        assert kind == "VIEW"
        assert con.execute("SELECT count(*), count(*) FILTER (status = 'keep') FROM objects").fetchone() == (17, 6)


def test_license_join_path_agrees_with_case_path(tmp_path, monkeypatch):
    from tk.curate import pipeline

    xl = write_xl(tmp_path / "xl")
    curate(CurateConfig(source="objaverse-xl", xl_dir=xl, out=tmp_path / "case", no_download=True, license="commercial"))
    monkeypatch.setattr(pipeline, "_CASE_MAX_SPELLINGS", 0)  # as if the source had thousands of spellings
    curate(CurateConfig(source="objaverse-xl", xl_dir=xl, out=tmp_path / "join", no_download=True, license="commercial"))
    case, join = rows_by_identifier(tmp_path / "case"), rows_by_identifier(tmp_path / "join")
    assert {k: (r["license"], r["reason"]) for k, r in case.items()} == {k: (r["license"], r["reason"]) for k, r in join.items()}


def test_sources_filter_limit_where_and_dry_run(tmp_path):
    xl = write_xl(tmp_path / "xl")
    s = curate(CurateConfig(source="objaverse-xl", xl_dir=xl, xl_sources=("sketchfab", "smithsonian"), dry_run=True, no_download=True))
    assert s["rows"] == 5 and s["kept"] == 3 and set(s["by_source"]) == {"xl-sketchfab", "xl-smithsonian"}
    out = tmp_path / "out"
    s = curate(CurateConfig(source="objaverse-xl", xl_dir=xl, xl_sources=("thingiverse",), out=out, no_download=True,
                            where="file_identifier NOT LIKE '%103'"))
    got = rows_by_identifier(out)
    assert got["https://www.thingiverse.com/download:103"]["reason"] == "where"
    assert s["kept"] == 1
    s = curate(CurateConfig(source="objaverse-xl", xl_dir=xl, xl_sources=("github",), limit=4, dry_run=True, no_download=True))
    assert s["rows"] == 4
    curate(CurateConfig(source="objaverse-xl", xl_dir=xl, xl_sources=("github",), limit=4, out=tmp_path / "lim", no_download=True))
    assert set(rows_by_identifier(tmp_path / "lim")) == {r[0] for r in XL_ROWS["github"][:4]}  # the first rows, every run


def test_bad_annotations_and_bad_where_leave_no_partial_manifest(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(TkError, match="none of"):
        curate(CurateConfig(source="objaverse-xl", xl_dir=tmp_path, out=out, no_download=True))
    broken = tmp_path / "broken"
    (broken / "github").mkdir(parents=True)
    (broken / "github" / "github.parquet").write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(TkError, match="not a readable Parquet"):
        curate(CurateConfig(source="objaverse-xl", xl_dir=broken, out=out, no_download=True))
    xl = write_xl(tmp_path / "xl")
    curate(CurateConfig(source="objaverse-xl", xl_dir=xl, out=out, no_download=True))
    before = (out / "manifest.parquet").read_bytes()
    with pytest.raises(TkError, match="--where"):
        curate(CurateConfig(source="objaverse-xl", xl_dir=xl, out=out, no_download=True, where="nope = 1"))
    # Repeated fileIdentifiers cannot get distinct uids: one clear error, the old manifest stays.
    dup = write_xl(tmp_path / "dup", {"smithsonian": XL_ROWS["smithsonian"] * 2})
    with pytest.raises(TkError, match="duplicate uid"):
        curate(CurateConfig(source="objaverse-xl", xl_dir=dup, out=out, no_download=True))
    assert (out / "manifest.parquet").read_bytes() == before
    assert sorted(p.name for p in out.iterdir()) == ["manifest.duckdb", "manifest.parquet", "report.json", "report.md"]


def test_cli_errors_are_one_line(tmp_path, capsys):
    assert main(["curate", "--source", "objaverse-xl", "--out", str(tmp_path / "o"), "--no-download"]) == 2
    assert capsys.readouterr().err.strip() == "error: --source objaverse-xl needs --xl-dir DIR (the folder holding <source>/<source>.parquet)"
    xl = write_xl(tmp_path / "xl")
    assert main(["curate", "--source", "objaverse-xl", "--xl-dir", str(xl), "--out", str(tmp_path / "o"), "--no-download", "--split", "0.9,0.2,0.1"]) == 2
    assert "--split" in capsys.readouterr().err
    assert main(["curate", "--source", "objaverse-xl", "--xl-dir", str(xl), "--out", str(tmp_path / "o"), "--no-download", "--license", "cc0-1.0"]) == 0
    assert json.loads((tmp_path / "o" / "report.json").read_text())["kept"] == 4


def test_scores_file_min_score_and_category_cap(tmp_path):
    xl = write_xl(tmp_path / "xl")
    scores = tmp_path / "scores.csv"
    # Keyed by sha256 (as TRELLIS-style aesthetic score tables are); "s1" is the chair, "s3" the rock, "m1" Smithsonian.
    scores.write_text(f"sha256,score\n{sha('s1')},6.5\n{sha('s3')},4.0\n{sha('m1')},5.5\n")
    curate(CurateConfig(source="objaverse-xl", xl_dir=xl, out=tmp_path / "out", no_download=True, scores=scores, min_score=5.0))
    got = rows_by_identifier(tmp_path / "out")
    assert got["https://sketchfab.com/3d-models/chair-" + "a" * 32]["score"] == 6.5
    assert got["https://sketchfab.com/3d-models/chair-" + "a" * 32]["status"] == "keep"
    assert got["https://sketchfab.com/3d-models/rock-" + "c" * 32]["reason"] == "low_score"
    assert got["https://www.thingiverse.com/download:102"]["reason"] == "low_score"  # no score at all
    assert {fid for fid, r in got.items() if r["status"] == "keep"} == {
        "https://sketchfab.com/3d-models/chair-" + "a" * 32, "https://3d-api.si.edu/content/document/3d_package:1/model.glb"}
    with pytest.raises(TkError, match="--scores FILE and --min-score"):
        curate(CurateConfig(source="objaverse-xl", xl_dir=xl, out=tmp_path / "o2", no_download=True, scores=scores))
