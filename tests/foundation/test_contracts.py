"""The contract validator accepts conforming tables and names what is wrong in the others."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tk import contracts
from tk.errors import ContractError


def _manifest_rows(n: int = 3) -> pa.Table:
    return pa.table(
        {
            "uid": [f"u{i}" for i in range(n)],
            "source": ["local"] * n,
            "file_identifier": [f"/x/{i}.glb" for i in range(n)],
            "file_type": ["glb"] * n,
            "sha256": [None] * n,
            "license": ["cc0-1.0"] * n,
            "license_raw": ["CC0"] * n,
            "attribution": ["a"] * n,
            "size_bytes": list(range(n)),
            "vertex_count": [None] * n,
            "face_count": [None] * n,
            "mesh_count": [None] * n,
            "material_count": [None] * n,
            "texture_count": [None] * n,
            "animation_count": [None] * n,
            "bbox_extent": [[1.0, 2.0, 3.0]] * n,
            "status": ["keep"] * (n - 1) + ["reject"],
            "reason": [None] * (n - 1) + ["license"],
            "split": ["train"] * n,
            "local_path": [None] * n,
            "category": ["chair"] * n,
        }
    )


def test_manifest_roundtrip_keeps_extra_columns(tmp_path):
    path = tmp_path / "m.parquet"
    written = contracts.write_table(path, _manifest_rows(), "manifest")
    back = contracts.read_table(path, "manifest")
    assert back.equals(written)
    assert back.column_names[-1] == "category"
    assert back.schema.field("size_bytes").type == pa.int64()
    assert back.schema.metadata[b"tk.contract_version"] == b"1"


def test_rejected_row_without_reason_is_refused(tmp_path):
    t = _manifest_rows().set_column(17, "reason", pa.array([None, None, None], pa.string()))
    with pytest.raises(ContractError, match="no reason"):
        contracts.write_table(tmp_path / "m.parquet", t, "manifest")
    assert not (tmp_path / "m.parquet").exists()


def test_bad_enum_and_missing_column_are_named(tmp_path):
    t = _manifest_rows().set_column(18, "split", pa.array(["train", "dev", "test"]))
    with pytest.raises(ContractError, match="'split'.*dev"):
        contracts.write_table(tmp_path / "m.parquet", t, "manifest")
    with pytest.raises(ContractError, match="license"):
        contracts.conform(_manifest_rows().drop_columns(["license"]), "manifest")


def test_file_of_other_version_or_kind_fails_with_its_path(tmp_path):
    t = contracts.conform(_manifest_rows(), "manifest")
    old = tmp_path / "old.parquet"
    pq.write_table(t.replace_schema_metadata({b"tk.contract": b"manifest", b"tk.contract_version": b"0"}), old)
    with pytest.raises(ContractError, match=r"old\.parquet.*version 0"):
        contracts.read_table(old, "manifest")
    with pytest.raises(ContractError, match="expected a 'shard' file"):
        contracts.read_table(old, "shard")
    junk = tmp_path / "junk.parquet"
    junk.write_bytes(b"PNG not parquet")
    with pytest.raises(ContractError, match="not a readable Parquet"):
        contracts.read_table(junk, "manifest")


def test_shard_of_version_1_says_what_version_2_added(tmp_path):
    row = {"uid": ["a"], "view": [0], "split": ["train"], "rgba": [b"x"], "depth": [None], "normal": [None],
           "c2w": [[0.0] * 16], "fx": [1.0], "fy": [1.0], "cx": [0.5], "cy": [0.5], "width": [1], "height": [1],
           "light": ["{}"], "surface": [None]}
    t = contracts.conform(pa.table(row), "shard").drop_columns(["surface"])
    old = tmp_path / "shard-00000.parquet"
    pq.write_table(t.replace_schema_metadata({b"tk.contract": b"shard", b"tk.contract_version": b"1"}), old)
    with pytest.raises(ContractError, match=r"shard-00000\.parquet: shard contract version 1.*`surface`.*re-render") as e:
        contracts.read_table(old, "shard")
    assert "\n" not in str(e.value)


def test_shard_surface_is_whole_rows_on_one_row_per_object():
    row = {"uid": ["a", "a"], "view": [0, 1], "split": ["train", "train"], "rgba": [b"x", b"y"],
           "depth": [None, None], "normal": [None, None], "c2w": [[0.0] * 16] * 2, "fx": [1.0, 1.0],
           "fy": [1.0, 1.0], "cx": [0.5, 0.5], "cy": [0.5, 0.5], "width": [1, 1], "height": [1, 1],
           "light": ["{}", "{}"], "surface": [b"\0" * 24, None]}
    contracts.validate_table(contracts.conform(pa.table(row), "shard"), "shard")
    with pytest.raises(ContractError, match="more than one row"):
        contracts.validate_table(contracts.conform(pa.table({**row, "surface": [b"\0" * 24] * 2}), "shard"), "shard")
    with pytest.raises(ContractError, match="whole float16"):
        contracts.validate_table(contracts.conform(pa.table({**row, "surface": [b"\0" * 10, None]}), "shard"), "shard")


def test_shard_duplicate_views_rejected():
    row = {
        "uid": ["a", "a"], "view": [0, 0], "split": ["train", "train"], "rgba": [b"x", b"y"],
        "depth": [None, None], "normal": [None, None], "c2w": [[0.0] * 16] * 2,
        "fx": [1.0, 1.0], "fy": [1.0, 1.0], "cx": [0.5, 0.5], "cy": [0.5, 0.5],
        "width": [1, 1], "height": [1, 1], "light": ["{}", "{}"], "surface": [None, None],
    }
    t = contracts.conform(pa.table(row), "shard")
    assert t.schema.field("c2w").type == pa.list_(pa.float32(), 16)
    with pytest.raises(ContractError, match="duplicate"):
        contracts.validate_table(t, "shard")
