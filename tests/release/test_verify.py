"""verify: a sealed release passes; a changed, missing or extra file, a lost view, a disallowed or uncredited
license each fail with one line naming what is wrong."""

from __future__ import annotations

import json
import subprocess

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from tests.release.synthetic import reseal
from tk import contracts
from tk.cli import main
from tk.contracts import release as layout
from tk.release.verify import VerifyError, verify_release

SHARD = "renders/shards/shard-00000.parquet"


def test_sealed_release_verifies(synthetic_release):
    report = verify_release(synthetic_release)
    checks = dict(report.checks)
    assert set(checks) == {"hashes", "spec", "schemas", "counts", "licenses", "record"}
    assert "3 kept, 3 rendered x 2 views = 6 rows" in checks["counts"]
    assert "cc-by-3.0 1" in checks["licenses"] and "mit 1" in checks["licenses"]


def test_sums_file_is_sha256sum_compatible(synthetic_release):
    r = subprocess.run(["sha256sum", "--strict", "-c", layout.SUMS], cwd=synthetic_release, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    listed = (synthetic_release / layout.SUMS).read_text().count("\n")
    files = [p for p in synthetic_release.rglob("*") if p.is_file() and p.name != layout.SUMS]
    assert listed == len(files)


def _cli_error(root, capsys) -> str:
    assert main(["release", "verify", str(root)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_changed_shard_byte_fails_naming_the_shard(synthetic_release, capsys):
    path = synthetic_release / SHARD
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    line = _cli_error(synthetic_release, capsys)
    assert f"{SHARD}: sha256 differs" in line


def test_deleted_shard_fails_naming_the_shard(synthetic_release, capsys):
    (synthetic_release / SHARD).unlink()
    assert f"{SHARD}: missing" in _cli_error(synthetic_release, capsys)


def test_extra_file_fails_naming_it(synthetic_release, capsys):
    (synthetic_release / "renders" / "notes.txt").write_text("hi")
    assert "renders/notes.txt: extra file" in _cli_error(synthetic_release, capsys)


def test_missing_release_json_and_folder(tmp_path, synthetic_release, capsys):
    assert "release folder not found" in _cli_error(tmp_path / "nope", capsys)
    (synthetic_release / layout.RELEASE_JSON).unlink()
    assert "RELEASE.json: missing" in _cli_error(synthetic_release, capsys)


def test_lost_view_fails_counts_even_when_rehashed(synthetic_release):
    path = synthetic_release / SHARD
    table = contracts.read_table(path, contracts.SHARD)
    contracts.write_table(path, table.filter(pc.not_equal(table["view"], 1)).slice(1), contracts.SHARD)
    reseal(synthetic_release)
    with pytest.raises(VerifyError) as e:
        verify_release(synthetic_release)
    assert "views [0], expected 0..1" in str(e.value) or "views [], expected 0..1" in str(e.value)


def test_disallowed_license_fails_even_when_rehashed(synthetic_release):
    path = layout.manifest(synthetic_release)
    table = pq.read_table(path).to_pylist()
    cat = next(r for r in table if r["license"] == "cc-by-3.0")
    cat["license"] = "cc-by-nc-4.0"
    import pyarrow as pa

    contracts.write_table(path, pa.Table.from_pylist(table), contracts.MANIFEST)
    reseal(synthetic_release)
    with pytest.raises(VerifyError) as e:
        verify_release(synthetic_release)
    assert f"object {cat['uid']} has license cc-by-nc-4.0" in str(e.value)


def test_uncredited_cc_by_object_fails(synthetic_release):
    record = json.loads((synthetic_release / layout.RELEASE_JSON).read_text())
    attribution = synthetic_release / layout.ATTRIBUTION
    lines = attribution.read_text().splitlines()
    cat_line = next(line for line in lines if "cc-by-3.0" in line and line.startswith("| `"))
    uid = cat_line.split("`")[1]
    attribution.write_text("\n".join(line for line in lines if line != cat_line))
    reseal(synthetic_release)
    with pytest.raises(VerifyError) as e:
        verify_release(synthetic_release)
    assert f"ATTRIBUTION.md: object {uid} (cc-by-3.0) is not credited" in str(e.value)
    assert record["stats"]["licenses_kept"] == {"cc-by-3.0": 1, "cc0-1.0": 1, "mit": 1}


def test_damaged_record_is_one_line(synthetic_release, capsys):
    path = synthetic_release / layout.RELEASE_JSON
    record = json.loads(path.read_text())
    del record["stats"]
    path.write_text(json.dumps(record))
    assert "RELEASE.json: lacks stats" in _cli_error(synthetic_release, capsys)
    path.write_text("{not json")
    assert "RELEASE.json: not valid JSON" in _cli_error(synthetic_release, capsys)


def test_widened_license_list_fails(synthetic_release):
    path = synthetic_release / layout.RELEASE_JSON
    record = json.loads(path.read_text())
    record["license_policy"]["allowed"].append("cc-by-nc-4.0")
    path.write_text(json.dumps(record))
    reseal(synthetic_release)
    with pytest.raises(VerifyError, match="license_policy.allowed is not what policy 'commercial' allows"):
        verify_release(synthetic_release)
