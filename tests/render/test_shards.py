"""The shard store without Blender: resume after a kill between its two writes, orphan shards, render.json."""

from __future__ import annotations

import numpy as np
import pytest

from tk.contracts import OBJECTS, SHARD, read_table
from tk.contracts.renders import decode_depth, decode_normal, decode_rgba_u8, encode_rgba, read_views
from tk.errors import TkError
from tk.render.encode import encode_depth, encode_normal
from tk.render.shards import ShardStore, write_render_json


def _object(uid: str, n_views: int = 2) -> tuple[dict, list[dict]]:
    rgba = np.zeros((4, 4, 4))
    rgba[1:3, 1:3] = [0.2, 0.4, 0.6, 1.0]
    png = encode_rgba(rgba)
    row = {"uid": uid, "local_path": f"{uid}.glb", "status": "ok", "error": None, "attempts": 1, "seconds": 0.1,
           "center": [0.0, 0.0, 0.0], "scale": 1.0, "split": "train", "file_type": "glb", "shard": None,
           "missing_textures": []}
    views = [{"uid": uid, "view": i, "split": "train", "rgba": png, "depth": None, "normal": None,
              "c2w": np.eye(4).ravel().tolist(), "fx": 10.0, "fy": 10.0, "cx": 2.0, "cy": 2.0, "width": 4,
              "height": 4, "light": "{}", "surface": None} for i in range(n_views)]
    return row, views


def _all_views(out) -> list[tuple[str, int]]:
    return [(r["uid"], r["view"]) for r in read_views(out)]


def test_shards_group_whole_objects_and_resume_skips_done(tmp_path):
    store = ShardStore(tmp_path, objects_per_shard=2)
    for uid in "abc":
        store.add(*_object(uid))
    store.add({**_object("d")[0], "status": "failed", "error": "boom", "center": None, "scale": None}, [])
    store.flush()
    assert sorted(_all_views(tmp_path)) == [(u, v) for u in "abc" for v in (0, 1)]
    objects = read_table(tmp_path / "objects.parquet", OBJECTS).to_pylist()
    assert {o["uid"]: o["status"] for o in objects} == {"a": "ok", "b": "ok", "c": "ok", "d": "failed"}
    assert {o["uid"]: o["shard"] for o in objects if o["status"] == "ok"} == {
        "a": "shard-00000.parquet", "b": "shard-00000.parquet", "c": "shard-00001.parquet"}
    again = ShardStore(tmp_path, objects_per_shard=2)
    assert again.done() == {"a", "b", "c"} and again.next_index == 2


def test_kill_between_objects_table_and_shard_rerenders_those_objects(tmp_path):
    store = ShardStore(tmp_path, objects_per_shard=1)
    store.add(*_object("a"))
    store.add(*_object("b"))
    (tmp_path / "shards" / "shard-00001.parquet").unlink()  # as if killed after objects.parquet was written
    resumed = ShardStore(tmp_path, objects_per_shard=1)
    assert resumed.done() == {"a"}
    resumed.add(*_object("b"))
    resumed.flush()
    assert sorted(_all_views(tmp_path)) == [("a", 0), ("a", 1), ("b", 0), ("b", 1)]


def test_orphan_shard_is_never_deleted_and_stale_temps_are_removed(tmp_path):
    store = ShardStore(tmp_path, objects_per_shard=1)
    store.add(*_object("a"))
    shard = tmp_path / "shards" / "shard-00000.parquet"
    (tmp_path / "shards" / "shard-00007.parquet").write_bytes(shard.read_bytes())  # claimed by no object row
    (tmp_path / "shards" / ".shard-00008.parquet.x1.tmp").write_bytes(b"partial")
    with pytest.raises(TkError, match="both hold views of object a"):
        ShardStore(tmp_path)  # its record names an object that shard-00000 holds: refused, not deleted
    assert sorted(p.name for p in (tmp_path / "shards").iterdir()) == ["shard-00000.parquet", "shard-00007.parquet"]


def test_shards_rebuild_an_older_objects_table(tmp_path):
    store = ShardStore(tmp_path, objects_per_shard=1, settings={"seed": 0})
    store.add(*_object("a"))
    old_index = (tmp_path / "objects.parquet").read_bytes()
    store.add(*_object("b"))
    store.add({**_object("c")[0], "status": "failed", "error": "boom", "center": None, "scale": None}, [])
    store.flush()
    (tmp_path / "objects.parquet").write_bytes(old_index)  # a backup restored over the newer index
    again = ShardStore(tmp_path, settings={"seed": 0})
    assert again.done() == {"a", "b"} and again.objects["b"]["shard"] == "shard-00001.parquet"
    assert "c" not in again.objects  # a failed object has no shard to come back from: it is tried again
    rows = {r["uid"]: r for r in read_table(tmp_path / "objects.parquet", OBJECTS).to_pylist()}
    assert set(rows) == {"a", "b"} and rows["b"]["center"] == [0.0, 0.0, 0.0] and rows["b"]["attempts"] == 1
    (tmp_path / "objects.parquet").unlink()
    with pytest.raises(TkError, match="other settings .*seed"):
        ShardStore(tmp_path, settings={"seed": 1})
    assert len(list((tmp_path / "shards").iterdir())) == 2


def test_shard_without_a_record_is_refused_not_deleted(tmp_path):
    from tk.contracts import write_table
    import pyarrow as pa

    (tmp_path / "shards").mkdir()
    write_table(tmp_path / "shards" / "shard-00000.parquet", pa.Table.from_pylist(_object("a")[1]), SHARD)  # as older tk wrote
    with pytest.raises(TkError, match="does not record its objects"):
        ShardStore(tmp_path)
    with pytest.raises(TkError, match="no render.json"):
        write_render_json(tmp_path, {"seed": 0, "views": 4}, {"tk": "x"})
    assert [p.name for p in (tmp_path / "shards").iterdir()] == ["shard-00000.parquet"]
    assert not (tmp_path / "render.json").exists()


def test_render_json_refuses_other_settings(tmp_path):
    write_render_json(tmp_path, {"seed": 0, "views": 4}, {"tk": "x"})
    write_render_json(tmp_path, {"seed": 0, "views": 4}, {"tk": "x"})  # same settings: a resume
    with pytest.raises(TkError, match="views"):
        write_render_json(tmp_path, {"seed": 0, "views": 8}, {"tk": "x"})


def test_encodings_round_trip_and_zero_off_the_object():
    alpha = np.zeros((3, 5), dtype=np.uint8)
    alpha[1, 1:4] = 255
    depth = np.full((3, 5), 1e10, dtype=np.float32)
    depth[1, 1:4] = [1.9, 2.0, 2.5]
    d = decode_depth(encode_depth(depth, alpha), 5, 3)
    assert np.allclose(d[1, 1:4], [1.9, 2.0, 2.5], atol=2e-3) and d[alpha == 0].max() == 0.0
    normal = np.zeros((3, 5, 3), dtype=np.float32)
    normal[1, 1:4] = [0.0, 0.0, 1.0]
    n = decode_normal(encode_normal(normal, alpha))
    assert np.allclose(n[1, 2], [0, 0, 1], atol=0.01) and np.allclose(n[0, 0], 0.0, atol=0.01)
    rgba = np.random.default_rng(0).random((3, 5, 4))
    assert np.abs(decode_rgba_u8(encode_rgba(rgba)) / 255.0 - rgba).max() <= 0.5 / 255 + 1e-9
