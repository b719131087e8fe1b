"""The contract validator accepts conforming tables and names what is wrong in the others."""

from __future__ import annotations

import numpy as np
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
    written = contracts.write_table(path, _manifest_rows(), contracts.MANIFEST)
    back = contracts.read_table(path, contracts.MANIFEST)
    assert back.equals(written)
    assert back.column_names[-1] == "category"
    assert back.schema.field("size_bytes").type == pa.int64()
    assert back.schema.metadata[b"tk.contract_version"] == b"1"


def test_rejected_row_without_reason_is_refused(tmp_path):
    t = _manifest_rows().set_column(17, "reason", pa.array([None, None, None], pa.string()))
    with pytest.raises(ContractError, match="no reason"):
        contracts.write_table(tmp_path / "m.parquet", t, contracts.MANIFEST)
    assert not (tmp_path / "m.parquet").exists()


def test_bad_enum_and_missing_column_are_named(tmp_path):
    t = _manifest_rows().set_column(18, "split", pa.array(["train", "dev", "test"]))
    with pytest.raises(ContractError, match="'split'.*dev"):
        contracts.write_table(tmp_path / "m.parquet", t, contracts.MANIFEST)
    with pytest.raises(ContractError, match="license"):
        contracts.conform(_manifest_rows().drop_columns(["license"]), contracts.MANIFEST)


def test_file_of_other_version_or_kind_fails_with_its_path(tmp_path):
    t = contracts.conform(_manifest_rows(), contracts.MANIFEST)
    old = tmp_path / "old.parquet"
    pq.write_table(t.replace_schema_metadata({b"tk.contract": b"manifest", b"tk.contract_version": b"0"}), old)
    with pytest.raises(ContractError, match=r"old\.parquet.*version 0"):
        contracts.read_table(old, contracts.MANIFEST)
    with pytest.raises(ContractError, match="expected a 'shard' file"):
        contracts.read_table(old, contracts.SHARD)
    junk = tmp_path / "junk.parquet"
    junk.write_bytes(b"PNG not parquet")
    with pytest.raises(ContractError, match="not a readable Parquet"):
        contracts.read_table(junk, contracts.MANIFEST)


def test_shard_of_version_1_says_what_version_2_added(tmp_path):
    row = {"uid": ["a"], "view": [0], "split": ["train"], "rgba": [b"x"], "depth": [None], "normal": [None],
           "c2w": [[0.0] * 16], "fx": [1.0], "fy": [1.0], "cx": [0.5], "cy": [0.5], "width": [1], "height": [1],
           "light": ["{}"], "surface": [None]}
    t = contracts.conform(pa.table(row), contracts.SHARD).drop_columns(["surface"])
    old = tmp_path / "shard-00000.parquet"
    pq.write_table(t.replace_schema_metadata({b"tk.contract": b"shard", b"tk.contract_version": b"1"}), old)
    with pytest.raises(ContractError, match=r"shard-00000\.parquet: shard contract version 1.*`surface`.*re-render") as e:
        contracts.read_table(old, contracts.SHARD)
    assert "\n" not in str(e.value)


def test_shard_surface_is_whole_rows_on_one_row_per_object():
    row = {"uid": ["a", "a"], "view": [0, 1], "split": ["train", "train"], "rgba": [b"x", b"y"],
           "depth": [None, None], "normal": [None, None], "c2w": [[0.0] * 16] * 2, "fx": [1.0, 1.0],
           "fy": [1.0, 1.0], "cx": [0.5, 0.5], "cy": [0.5, 0.5], "width": [1, 1], "height": [1, 1],
           "light": ["{}", "{}"], "surface": [b"\0" * 24, None]}
    contracts.validate_table(contracts.conform(pa.table(row), contracts.SHARD), contracts.SHARD)
    with pytest.raises(ContractError, match="more than one row"):
        contracts.validate_table(contracts.conform(pa.table({**row, "surface": [b"\0" * 24] * 2}), contracts.SHARD), contracts.SHARD)
    with pytest.raises(ContractError, match="whole float16"):
        contracts.validate_table(contracts.conform(pa.table({**row, "surface": [b"\0" * 10, None]}), contracts.SHARD), contracts.SHARD)


def test_shard_duplicate_views_rejected():
    row = {
        "uid": ["a", "a"], "view": [0, 0], "split": ["train", "train"], "rgba": [b"x", b"y"],
        "depth": [None, None], "normal": [None, None], "c2w": [[0.0] * 16] * 2,
        "fx": [1.0, 1.0], "fy": [1.0, 1.0], "cx": [0.5, 0.5], "cy": [0.5, 0.5],
        "width": [1, 1], "height": [1, 1], "light": ["{}", "{}"], "surface": [None, None],
    }
    t = contracts.conform(pa.table(row), contracts.SHARD)
    assert t.schema.field("c2w").type == pa.list_(pa.float32(), 16)
    with pytest.raises(ContractError, match="duplicate"):
        contracts.validate_table(t, contracts.SHARD)


def _view(uid: str, view: int, surface: bytes | None = None) -> dict:
    from tk.contracts import renders

    rgba = np.zeros((2, 3, 4), np.uint8)
    rgba[0, 1] = (10, 20, 30, 255)
    return {"uid": uid, "view": view, "split": "train", "rgba": renders.encode_rgba(rgba),
            "depth": renders.encode_depth(np.full((2, 3), 1.5)), "normal": None, "c2w": np.eye(4).ravel().tolist(),
            "fx": 3.0, "fy": 3.0, "cx": 1.5, "cy": 1.0, "width": 3, "height": 2, "light": "{}", "surface": surface}


def test_view_codecs_round_trip_and_name_a_bad_file():
    from tk.contracts import renders

    rgba = np.random.default_rng(0).random((3, 5, 4))
    png = renders.encode_rgba(rgba)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and renders.encode_rgba(renders.decode_rgba_u8(png)) == png
    assert np.abs(renders.decode_rgba(png) - rgba).max() <= 0.5 / 255 + 1e-6
    assert renders.decode_rgba(png).dtype == np.float32 and renders.decode_rgba_u8(png).shape == (3, 5, 4)
    assert np.allclose(renders.composite(renders.decode_rgba(png), 0.5)[0, 0],
                       renders.decode_rgba(png)[0, 0, :3] * rgba[0, 0, 3] + 0.5 * (1 - rgba[0, 0, 3]), atol=3e-3)
    with pytest.raises(ContractError, match=r"shard-00003\.parquet \(u view 2\): rgba is not a readable PNG"):
        renders.decode_rgba(b"not a png", "shard-00003.parquet (u view 2)")
    depth = np.array([[0.0, 1.9, 2.5], [100.0, 0.0, 0.25]])
    data = renders.encode_depth(depth)
    assert len(data) == 12 and np.allclose(renders.decode_depth(data, 3, 2), depth, rtol=1e-3)
    with pytest.raises(ContractError, match="12 bytes is not 3x3 float16"):
        renders.decode_depth(data, 3, 3)
    normal = np.zeros((2, 2, 3))
    normal[0, 0] = (0.0, 0.6, -0.8)
    back = renders.decode_normal(renders.encode_normal(normal))
    assert np.allclose(back[0, 0], (0.0, 0.6, -0.8), atol=0.01) and np.allclose(back[1, 1], 0.0, atol=0.01)
    surface = np.array([[0.1, -0.2, 0.3, 0.0, 0.0, 1.0], [0.5, 0.5, -0.5, 1.0, 0.0, 0.0]])
    points, normals = renders.decode_surface(renders.encode_surface(surface))
    assert len(renders.encode_surface(surface)) == 2 * renders.SURFACE_ROW_BYTES
    assert np.allclose(points, surface[:, :3], atol=1e-3) and np.array_equal(normals, surface[:, 3:])


def test_render_folder_layout_writer_and_reader(tmp_path):
    from tk.contracts import renders

    assert renders.shard_name(7) == "shard-00007.parquet" and renders.shard_index("shard-00007.parquet") == 7
    assert not any(renders.is_shard_name(n) for n in (".shard-00001.parquet.x1.tmp", "shard-1.parquet", "objects.parquet"))
    assert renders.shard_paths(tmp_path) == []
    record = {"settings": {"seed": 3}, "objects": [{"uid": "a"}]}
    renders.write_shard(renders.shards_dir(tmp_path) / renders.shard_name(1), [_view("b", 0), _view("b", 1)])
    renders.write_shard(renders.shards_dir(tmp_path) / renders.shard_name(0), [_view("a", 0, b"\0" * 24), _view("a", 1)], record)
    (renders.shards_dir(tmp_path) / ".shard-00002.parquet.x1.tmp").write_bytes(b"partial")
    assert [p.name for p in renders.shard_paths(tmp_path)] == ["shard-00000.parquet", "shard-00001.parquet"]
    assert renders.read_record(renders.shard_paths(tmp_path)[0]) == record
    assert renders.read_record(renders.shard_paths(tmp_path)[1]) is None
    assert [(r["uid"], r["view"]) for r in renders.read_views(tmp_path, ["uid", "view"])] == [("a", 0), ("a", 1), ("b", 0), ("b", 1)]
    first = next(renders.read_views(tmp_path))
    assert renders.decode_rgba_u8(first["rgba"])[0, 1].tolist() == [10, 20, 30, 255]
    assert renders.decode_surface(first["surface"])[0].shape == (2, 3)
    ok = {"uid": "z", "local_path": "z.glb", "status": "ok", "error": None, "attempts": 1, "seconds": 0.1,
          "center": [0.0, 1.0, 2.0], "scale": 0.5, "split": "train", "file_type": "glb", "shard": "shard-00000.parquet",
          "missing_textures": []}
    failed = {**ok, "uid": "y", "status": "failed", "error": "boom", "center": None, "scale": None, "shard": None}
    renders.write_objects(tmp_path, [ok, failed])
    rows = renders.read_objects(tmp_path).to_pylist()
    assert [r["uid"] for r in rows] == ["y", "z"] and np.isnan(rows[0]["center"]).all() and rows[1]["center"] == [0.0, 1.0, 2.0]
    assert [f.name for f in renders.OBJECT_EXTRA] == [c for c in renders.read_objects(tmp_path).column_names][-4:]


def test_release_record_round_trip_and_missing_keys(tmp_path):
    from tk.contracts import release
    from tk.errors import TkError

    values = {k: k.upper() for k in release.RECORD_KEYS}
    written = release.write_record(tmp_path, values)
    assert written["format"] == release.FORMAT and release.read_record(tmp_path) == written
    assert release.shards(tmp_path) == [] and release.objects(tmp_path) == tmp_path / "renders" / "objects.parquet"
    release.write_record(tmp_path, {k: v for k, v in values.items() if k != "stats"})
    with pytest.raises(TkError, match=r"RELEASE\.json: lacks stats"):
        release.read_record(tmp_path)


def test_a_manifest_folder_has_one_writer_with_the_large_manifest_rule(tmp_path):
    """tk.contracts.manifest.install moves a Parquet into place with its manifest.duckdb: a copy up to max_rows, a
    view above (curate's writer and the release merge both use it)."""
    import duckdb

    from tk.contracts import manifest

    def kind(folder):
        con = duckdb.connect(str(manifest.duckdb_path(folder)), read_only=True)
        try:
            return con.execute("SELECT table_type FROM information_schema.tables WHERE table_name = 'objects'"
                               ).fetchone()[0], con.execute("SELECT count(*) FROM objects").fetchone()[0]
        finally:
            con.close()

    for max_rows, want, view in ((10, "BASE TABLE", False), (1, "VIEW", True)):
        folder = tmp_path / want.replace(" ", "_")
        staged = folder / "staged.parquet"
        table = contracts.write_table(staged, _manifest_rows(), contracts.MANIFEST)
        assert manifest.install(folder, staged, table.num_rows, max_rows) is view
        assert not staged.exists() and manifest.read_manifest(folder).num_rows == table.num_rows
        assert kind(folder) == (want, table.num_rows)
        assert sorted(p.name for p in folder.iterdir()) == ["manifest.duckdb", "manifest.parquet"]  # no temps left
