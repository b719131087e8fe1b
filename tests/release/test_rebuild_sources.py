"""rebuild finds sources at the recorded folder or under --source-root, and says so when they are not there."""

from __future__ import annotations

import json

from tk.cli import main
from tk.contracts import release as layout
from tk.release.spec import parse_spec


def test_recorded_source_base_resolves_the_spec(synthetic_release, sample_dir):
    record = json.loads((synthetic_release / layout.RELEASE_JSON).read_text())
    assert record["source_base"] == str(sample_dir.resolve())
    raw = json.loads((synthetic_release / layout.SPEC).read_text())
    spec = parse_spec(raw, sample_dir)
    assert spec.sources[0].input == (sample_dir / "objects").resolve()


def test_wrong_source_root_is_one_line(synthetic_release, tmp_path, capsys):
    code = main(["release", "rebuild", str(synthetic_release), "--out", str(tmp_path / "again"),
                 "--source-root", str(tmp_path)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert "sources[0]: input 'objects' not found" in err[0] and "--source-root" in err[0]
    assert not (tmp_path / "again").exists()


def test_missing_recorded_source_base_asks_for_source_root(synthetic_release, tmp_path, capsys):
    from tests.release.synthetic import reseal

    path = synthetic_release / layout.RELEASE_JSON
    record = json.loads(path.read_text())
    record["source_base"] = str(tmp_path / "gone")
    path.write_text(json.dumps(record))
    reseal(synthetic_release)
    assert main(["release", "rebuild", str(synthetic_release), "--out", str(tmp_path / "again")]) == 2
    assert "not found; pass --source-root DIR" in capsys.readouterr().err


def test_rebuild_refuses_a_tampered_release(synthetic_release, tmp_path, capsys):
    (synthetic_release / "extra.txt").write_text("x")
    assert main(["release", "rebuild", str(synthetic_release), "--out", str(tmp_path / "again")]) == 2
    assert "extra.txt: extra file" in capsys.readouterr().err
