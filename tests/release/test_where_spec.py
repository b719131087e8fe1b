"""A release spec's `where` is held to the same rule as `--where`: one boolean expression, no file access.

Repro of issue 12: a spec.yaml whose `where` appended a COPY statement, with SHA256SUMS re-hashed, passed
`tk release verify`, and `tk release rebuild` ran it.
"""

from __future__ import annotations

import json

import pytest

from tests.release.synthetic import reseal
from tk.cli import main
from tk.contracts import release as layout
from tk.release.spec import SpecError, parse_spec
from tk.release.verify import VerifyError, verify_release


def _hostile(target) -> str:
    return f"true); COPY (SELECT 'x') TO '{target}'; SELECT (true"


def _tamper(root, where: str, in_record: bool = True) -> None:
    spec = json.loads((root / layout.SPEC).read_text())
    spec["curation"]["where"] = where
    (root / layout.SPEC).write_text(json.dumps(spec))
    if in_record:
        record = json.loads((root / layout.RELEASE_JSON).read_text())
        record["spec"] = spec
        (root / layout.RELEASE_JSON).write_text(json.dumps(record))
    reseal(root)


def test_verify_flags_a_spec_whose_where_would_be_refused(synthetic_release, tmp_path, capsys):
    _tamper(synthetic_release, _hostile(tmp_path / "pwned"))
    with pytest.raises(VerifyError) as e:
        verify_release(synthetic_release)
    assert "spec.yaml: curation.where" in str(e.value)
    assert main(["release", "verify", str(synthetic_release)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "curation.where" in err[0]


def test_verify_flags_a_where_in_release_json_alone(synthetic_release):
    record = json.loads((synthetic_release / layout.RELEASE_JSON).read_text())
    record["spec"]["curation"]["where"] = "(SELECT count(*) FROM read_text('/etc/passwd')) > 0"
    (synthetic_release / layout.RELEASE_JSON).write_text(json.dumps(record))
    reseal(synthetic_release)
    with pytest.raises(VerifyError, match=r"RELEASE.json: spec.curation.where"):
        verify_release(synthetic_release)


def test_a_plain_where_verifies(synthetic_release):
    _tamper(synthetic_release, "face_count IS NULL OR face_count > 0")
    checks = dict(verify_release(synthetic_release).checks)
    assert "spec" in checks


def test_rebuild_refuses_and_writes_nothing(synthetic_release, tmp_path, capsys):
    target = tmp_path / "pwned"
    _tamper(synthetic_release, _hostile(target))
    code = main(["release", "rebuild", str(synthetic_release), "--out", str(tmp_path / "again")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "curation.where" in err[0], err
    assert not target.exists() and not (tmp_path / "again").exists()


def test_build_refuses_the_spec(sample_dir, tmp_path):
    raw = {"name": "x", "version": "1", "sources": [{"source": "local", "input": "objects"}],
           "curation": {"where": _hostile(tmp_path / "pwned")}}
    with pytest.raises(SpecError, match="curation.where"):
        parse_spec(raw, sample_dir)
