"""Issue 12, items 4 and 8 (curate): a failed download is always a rejection; bad inputs fail in one line."""

from __future__ import annotations

import hashlib
import json
import shutil

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tk import contracts
from tk.cli import main
from tk.curate.pipeline import CurateConfig, run as curate
from tk.errors import TkError

from curate_fixtures import SAMPLE_OBJECTS, serve, write_xl


def write_thingiverse(xl_dir, rows):
    """One XL annotation file (thingiverse) of (fileIdentifier, sha256) rows, all CC BY STL... as GLB."""
    folder = xl_dir / "thingiverse"
    folder.mkdir(parents=True)
    pq.write_table(pa.table({
        "fileIdentifier": [r[0] for r in rows], "source": ["thingiverse"] * len(rows),
        "license": ["Creative Commons - Attribution"] * len(rows), "fileType": ["glb"] * len(rows),
        "sha256": [r[1] for r in rows], "metadata": ["{}"] * len(rows),
    }), folder / "thingiverse.parquet")
    return xl_dir


def test_failed_downloads_are_rejected_when_no_row_reached_a_probe(tmp_path, ray_session):
    # Repro: every download fails (a 404 and a sha256 mismatch), so no row was probed; both rows
    # used to be kept because the `unreadable` rule was skipped (it keyed on `probed_with`).
    site = tmp_path / "site"
    site.mkdir()
    shutil.copy(SAMPLE_OBJECTS / "bunny.glb", site / "bunny.glb")
    with serve(site) as base:
        xl = write_thingiverse(tmp_path / "xl", [(f"{base}/missing.glb", None), (f"{base}/bunny.glb", "0" * 64)])
        out = tmp_path / "out"
        summary = curate(CurateConfig(source="objaverse-xl", xl_dir=xl, out=out, retries=0, workers=1))
    got = {r["file_identifier"]: r for r in contracts.read_table(out / "manifest.parquet", contracts.MANIFEST).to_pylist()}
    missing, wrong = got[f"{base}/missing.glb"], got[f"{base}/bunny.glb"]
    assert (missing["status"], missing["reason"]) == ("reject", "download_failed")
    assert "HTTP 404" in missing["probe_error"]
    assert (wrong["status"], wrong["reason"]) == ("reject", "download_failed")
    assert "sha256 mismatch" in wrong["probe_error"]
    assert summary["kept"] == 0 and summary["rejected_by_reason"] == {"download_failed": 2}
    report = json.loads((out / "report.json").read_text())
    assert report["rejected_by_reason"] == {"download_failed": 2}
    assert "| download_failed | 2 |" in (out / "report.md").read_text()
    # A rerun reuses the stored failures (non-retryable) and still rejects them.
    again = curate(CurateConfig(source="objaverse-xl", xl_dir=xl, out=out, retries=0, workers=1))
    assert again["probe"]["reused"] == 2 and again["rejected_by_reason"] == {"download_failed": 2}


@pytest.mark.parametrize("column, values", [
    ("fileIdentifier", [1, 2]),
    ("sha256", [3, 4]),
    ("license", [[1], [2]]),
    ("fileType", [{"a": 1}, {"a": 2}]),
])
def test_xl_annotations_with_wrong_column_types_fail_in_one_line(tmp_path, capsys, column, values):
    table = {"fileIdentifier": ["https://x/a.glb", "https://x/b.glb"], "license": ["MIT", "MIT"],
             "fileType": ["glb", "glb"], "sha256": [hashlib.sha256(b"a").hexdigest()] * 2}
    table[column] = values
    (tmp_path / "xl" / "github").mkdir(parents=True)
    pq.write_table(pa.table(table), tmp_path / "xl" / "github" / "github.parquet")
    with pytest.raises(TkError, match=f"column {column} holds"):
        curate(CurateConfig(source="objaverse-xl", xl_dir=tmp_path / "xl", out=tmp_path / "out", no_download=True))
    args = ["curate", "--source", "objaverse-xl", "--xl-dir", str(tmp_path / "xl"), "--out", str(tmp_path / "out"), "--no-download"]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "unexpected" not in err
    assert not (tmp_path / "out").exists()


def test_xl_all_null_license_column_is_read(tmp_path):
    # A column of only nulls is typed `null` in Arrow; that is not a wrong type.
    (tmp_path / "xl" / "github").mkdir(parents=True)
    pq.write_table(pa.table({"fileIdentifier": ["https://x/a.glb"], "license": pa.nulls(1), "fileType": ["glb"],
                             "sha256": pa.nulls(1, pa.string())}), tmp_path / "xl" / "github" / "github.parquet")
    s = curate(CurateConfig(source="objaverse-xl", xl_dir=tmp_path / "xl", out=tmp_path / "out", no_download=True))
    assert s["rejected_by_reason"] == {"license": 1}


@pytest.mark.parametrize("where, message", [
    ("regexp_matches(file_identifier, '(')", "missing \\)"),  # the regex is parsed when the predicate runs
    ("CAST(file_identifier AS INTEGER) > 0", "type expression"),  # tk.curate.predicate refuses casts up front
    ("error('boom')", "boom"),
])
def test_where_errors_at_run_time_are_one_line_and_keep_the_old_manifest(tmp_path, capsys, where, message):
    xl = write_xl(tmp_path / "xl")
    out = tmp_path / "out"
    curate(CurateConfig(source="objaverse-xl", xl_dir=xl, out=out, no_download=True))
    before = (out / "manifest.parquet").read_bytes()
    with pytest.raises(TkError, match=f"--where .*(failed on the data|is refused).*{message}"):
        curate(CurateConfig(source="objaverse-xl", xl_dir=xl, out=out, no_download=True, where=where))
    assert main(["curate", "--source", "objaverse-xl", "--xl-dir", str(xl), "--out", str(out), "--no-download", "--where", where]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --where") and "\n" not in err
    with pytest.raises(TkError, match="--where"):
        curate(CurateConfig(source="objaverse-xl", xl_dir=xl, dry_run=True, no_download=True, where=where))
    assert (out / "manifest.parquet").read_bytes() == before
    assert sorted(p.name for p in out.iterdir()) == ["manifest.duckdb", "manifest.parquet", "report.json", "report.md"]
