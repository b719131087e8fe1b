"""Bad input through the real pool (Ray actors, bpy subprocesses): every bad file ends as a failed row with
its error, a crash or hang only costs a worker, the good objects still render, and no script inside a file runs."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tk.contracts import OBJECTS, SHARD, read_table
from tk.contracts.renders import decode_rgba_u8 as decode_png
from tk.render.pipeline import RenderConfig, run as render

SAMPLE = Path(__file__).resolve().parents[2] / "manifests" / "sample"

BLEND_SCRIPT = """
import bpy, sys
marker = sys.argv[-2]
bpy.ops.wm.read_factory_settings(use_empty=True)
bpy.ops.mesh.primitive_cube_add(size=1.0)
text = bpy.data.texts.new("evil.py")
text.write("open(%r, 'w').write('ran')\\n" % marker)
text.use_module = True  # registered text blocks run when a file is opened with auto-exec on
bpy.context.scene.objects[0].driver_add("location", 0).driver.expression = "__import__('os').system('touch %s')" % marker
bpy.ops.wm.save_as_mainfile(filepath=sys.argv[-1])
"""


def _make_inputs(root: Path) -> Path:
    src = root / "in"
    (src / "dir with spaces").mkdir(parents=True)
    objs = SAMPLE / "objects"
    shutil.copy(objs / "bunny.glb", src / "dir with spaces" / "bünny 兔.glb")  # spaces and unicode
    shutil.copy(objs / "025_mug.stl", src / "mug.stl")
    (src / "corrupt.glb").write_bytes((objs / "pico-neo3.glb").read_bytes()[:3000])
    (src / "empty.gltf").write_text(json.dumps({"asset": {"version": "2.0"}, "scene": 0, "scenes": [{"nodes": []}]}))
    (src / "edges_only.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nl 1 2\nl 2 3\n")
    (src / "notex").mkdir()
    (src / "notex" / "box.obj").write_text(
        "mtllib box.mtl\nv 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0\nv 0 0 1\nvt 0 0\nvt 1 0\nvt 1 1\n"
        "usemtl skin\nf 1/1 2/2 3/3\nf 1/1 3/3 4/1\nf 1/1 2/2 5/3\n")
    (src / "notex" / "box.mtl").write_text("newmtl skin\nKd 1 1 1\nmap_Kd textures/missing_skin.png\n")
    shutil.copy(objs / "spider.fbx", src / "spider.fbx")  # Blender 5's FBX importer raises on it
    (src / "duck.dae").write_text("<COLLADA/>")
    shutil.copy(SAMPLE / "invalid" / "empty.ply", src / "empty.ply")
    shutil.copy(objs / "suzi.glb", src / "abort_me.glb")  # the test hook aborts the worker on this one
    shutil.copy(objs / "crate" / "crate.obj", src / "hang_me.obj")  # ... hangs on this one
    shutil.copy(objs / "meta-quest-touch-plus.glb", src / "hog_me.glb")
    shutil.copy(objs / "Spider_binary.stl", src / "segv_me.stl")  # ... and segfaults on this one  # ... and eats memory on this one
    (src / "big.stl").write_bytes(b"solid big\n" + b" " * 3 * 2**20 + b"endsolid big\n")  # over --max-file-mb 2
    subprocess.run([sys.executable, "-c", BLEND_SCRIPT, str(root / "marker.txt"), str(src / "scripted.blend")],
                   check=True, capture_output=True, timeout=120)
    return src


@pytest.fixture(scope="module")
def bad_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("bad")
    src = _make_inputs(root)
    mp = pytest.MonkeyPatch()
    mp.setenv("TK_RENDER_TEST_HOOK", "abort=abort_me;hang=hang_me;hog=hog_me;segv=segv_me")
    try:
        cfg = RenderConfig(out=str(root / "out"), input_dir=str(src), views=2, resolution=32, samples=2,
                           denoise=False, lighting="studio", workers=2, timeout=8, retries=1,
                           max_memory_gb=1.5, max_file_mb=2)
        summary = render(cfg)
    finally:
        mp.undo()
    rows = {Path(r["local_path"]).name: r for r in read_table(root / "out" / "objects.parquet", OBJECTS).to_pylist()}
    return root, summary, rows


def test_job_finishes_with_every_object_accounted_for(bad_run):
    root, summary, rows = bad_run
    assert summary["objects"] == len(rows) == 15
    ok = {name for name, r in rows.items() if r["status"] == "ok"}
    assert ok == {"bünny 兔.glb", "mug.stl", "box.obj", "scripted.blend"}
    for name, r in rows.items():
        assert (r["error"] is None) == (name in ok), name


@pytest.mark.parametrize("name, words", [
    ("corrupt.glb", "importer failed"),
    ("empty.gltf", "no mesh objects"),
    ("edges_only.obj", "no faces"),
    ("spider.fbx", "fbx importer failed"),
    ("duck.dae", "COLLADA"),
    ("empty.ply", ""),
    ("abort_me.glb", "SIGABRT"),
    ("segv_me.stl", "SIGSEGV"),
    ("hang_me.obj", "timed out after 8 s"),
    ("hog_me.glb", "over the 1.5 GB memory limit"),
    ("big.stl", "over --max-file-mb 2"),
])
def test_bad_file_is_a_failed_row_with_its_error(bad_run, name, words):
    _, _, rows = bad_run
    row = rows[name]
    assert row["status"] == "failed" and row["error"]
    assert words.lower() in row["error"].lower(), row["error"]


def test_crash_and_hang_are_retried_then_given_up(bad_run):
    _, _, rows = bad_run
    assert rows["abort_me.glb"]["attempts"] == rows["hang_me.obj"]["attempts"] == rows["hog_me.glb"]["attempts"] == 2
    assert rows["big.stl"]["attempts"] == 0  # refused before any import
    assert rows["corrupt.glb"]["attempts"] == 1  # an import error is deterministic: no retry


def test_missing_texture_is_recorded_not_fatal(bad_run):
    _, _, rows = bad_run
    assert rows["box.obj"]["status"] == "ok"
    assert any("missing_skin.png" in p for p in rows["box.obj"]["missing_textures"])


def test_no_script_inside_a_blend_file_ran(bad_run):
    root, _, rows = bad_run
    assert rows["scripted.blend"]["status"] == "ok"  # its objects were appended and rendered ...
    assert not (root / "marker.txt").exists()  # ... but neither its text block nor its driver ran


def test_good_objects_have_complete_valid_views(bad_run):
    root, _, rows = bad_run
    views: dict[str, list[int]] = {}
    for shard in sorted((root / "out" / "shards").glob("shard-*.parquet")):
        t = read_table(shard, SHARD)  # validates the contract
        for r in t.select(["uid", "view", "rgba", "width"]).to_pylist():
            views.setdefault(r["uid"], []).append(r["view"])
            alpha = decode_png(r["rgba"])[..., 3]
            assert alpha.shape == (32, 32) and 0 < (alpha > 0).mean() < 1
    ok_uids = {r["uid"] for r in rows.values() if r["status"] == "ok"}
    assert {u: sorted(v) for u, v in views.items()} == {u: [0, 1] for u in ok_uids}
