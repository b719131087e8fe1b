"""Several curate sources merge into one manifest (Parquet and DuckDB), each source's report kept."""

from __future__ import annotations

import duckdb
import pyarrow.compute as pc
import pytest

from tk import contracts
from tk.contracts import release as layout
from tk.errors import ContractError
from tk.release.build import merge_manifests


def _split_manifest(release, tmp_path):
    table = contracts.read_table(layout.manifest(release), contracts.MANIFEST)
    first = table.filter(pc.equal(table["source"], "local")).slice(0, 2)
    second = table.slice(2)
    dirs = []
    for i, part in enumerate((first, second)):
        d = tmp_path / f"curate-{i}"
        contracts.write_table(d / "manifest.parquet", part, contracts.MANIFEST)
        (d / "report.md").write_text(f"# report {i}\n")
        dirs.append(d)
    return table, dirs


def test_merge_keeps_every_row(synthetic_release_master, tmp_path):
    table, dirs = _split_manifest(synthetic_release_master, tmp_path)
    out = tmp_path / "merged"
    out.mkdir()
    merge_manifests(dirs, out)
    merged = contracts.read_table(out / "manifest.parquet", contracts.MANIFEST)
    assert sorted(merged["uid"].to_pylist()) == sorted(table["uid"].to_pylist())
    con = duckdb.connect(str(out / "manifest.duckdb"), read_only=True)
    assert con.execute("SELECT count(*), count(*) FILTER (WHERE status = 'keep') FROM objects").fetchall() == [(4, 3)]
    con.close()
    assert (out / "source-1.report.md").read_text() == "# report 1\n"


def test_merge_refuses_the_same_object_twice(synthetic_release_master, tmp_path):
    _, dirs = _split_manifest(synthetic_release_master, tmp_path)
    out = tmp_path / "merged"
    out.mkdir()
    with pytest.raises(ContractError, match="duplicate uid"):
        merge_manifests([dirs[0], dirs[0]], out)
