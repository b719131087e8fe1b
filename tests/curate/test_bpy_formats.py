"""Formats only Blender opens (usd, abc, fbx, blend) probed through bpy, and `tk curate --address`.

The files are written by Blender itself in the fixture: a 1 x 2 x 3 box in each format, and a .blend
holding an animation and a registered text block that would write a marker file if anything ran it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tk import contracts
from tk.curate.pipeline import CurateConfig, run as curate

pytest.importorskip("bpy")

MAKE_FILES = """
import bpy, sys
from pathlib import Path
out, marker = Path(sys.argv[-2]), sys.argv[-1]
bpy.ops.wm.read_factory_settings(use_empty=True)
bpy.ops.mesh.primitive_cube_add(size=1.0)
box = bpy.context.active_object
box.scale = (1.0, 2.0, 3.0)
bpy.ops.object.transform_apply(scale=True)
bpy.ops.wm.usd_export(filepath=str(out / "box.usdc"))
bpy.ops.wm.usd_export(filepath=str(out / "box.usda"))
bpy.ops.wm.alembic_export(filepath=str(out / "box.abc"))
bpy.ops.export_scene.fbx(filepath=str(out / "box.fbx"))
bpy.ops.wm.save_as_mainfile(filepath=str(out / "box.blend"))
text = bpy.data.texts.new("evil.py")
text.write("open(%r, 'w').write('ran')\\n" % marker)
text.use_module = True  # a registered text block runs when the file is opened with scripts allowed
box.keyframe_insert("location", frame=1)
box.location.x = 1.0
box.keyframe_insert("location", frame=10)
bpy.ops.wm.save_as_mainfile(filepath=str(out / "animated script.blend"))
"""
BOXES = ("box.usdc", "box.usda", "box.abc", "box.fbx", "box.blend")


@pytest.fixture(scope="module")
def blender_files(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("bpy-formats")
    folder, marker = root / "in", root / "MARKER"
    folder.mkdir()
    r = subprocess.run([sys.executable, "-c", MAKE_FILES, str(folder), str(marker)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    (folder / "LICENSE").write_text("CC0 1.0 Universal\n")
    return folder, marker


def _rows(out: Path) -> dict[str, dict]:
    table = contracts.read_table(out / "manifest.parquet", contracts.MANIFEST)
    return {r["file_identifier"]: r for r in table.to_pylist()}


def test_blender_formats_are_measured_and_no_script_runs(blender_files, tmp_path, ray_session):
    folder, marker = blender_files
    summary = curate(CurateConfig(source="local", input=folder, out=tmp_path / "out", workers=2))
    rows = _rows(tmp_path / "out")
    assert set(rows) == {*BOXES, "animated script.blend"}
    for name in BOXES:
        r = rows[name]
        assert r["status"] == "keep" and r["reason"] is None, (name, r["reason"], r["probe_error"])
        assert r["probed_with"] == "bpy" and r["license"] == "cc0-1.0"
        assert (r["vertex_count"], r["face_count"], r["mesh_count"], r["animation_count"]) == (8, 6, 1, 0), name
        assert r["bbox_extent"] == pytest.approx([1.0, 2.0, 3.0], abs=1e-5), name
    animated = rows["animated script.blend"]
    assert animated["reason"] == "animated" and animated["animation_count"] == 1 and animated["face_count"] == 6
    assert not marker.exists(), "the probe ran a script stored in a .blend file"
    assert summary["kept"] == len(BOXES)


def test_curate_joins_an_existing_ray_cluster_and_leaves_it_running(blender_files, tmp_path, ray_session):
    import ray

    folder, _ = blender_files
    address = ray.get_runtime_context().gcs_address
    cmd = [sys.executable, "-m", "tk.cli", "curate", "--source", "local", "--input", str(folder), "--out", str(tmp_path / "out"),
           "--address", address, "--workers", "2"]
    r = subprocess.run(cmd, env={**os.environ, "TK_NO_PROGRESS": "1"}, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert ray.is_initialized() and ray.cluster_resources().get("CPU") == 2  # the cluster's owner still has it
    rows = _rows(tmp_path / "out")
    assert {k for k, v in rows.items() if v["status"] == "keep"} == set(BOXES)
    assert all(v["probed_with"] == "bpy" for v in rows.values())


def test_curate_without_address_starts_its_own_ray_beside_a_running_one(blender_files, tmp_path):
    """A Ray cluster already running on the machine (`ray start --head`, another user's job) is not joined by a job
    given no --address: joining it with tk's own CPU count failed ("num_cpus ... must not be provided"), and a job
    must not take another's cluster."""
    ray_cli = Path(sys.executable).with_name("ray")
    env = {**os.environ, "TK_NO_PROGRESS": "1", "RAY_USAGE_STATS_ENABLED": "0"}
    env.pop("RAY_ADDRESS", None)
    started = subprocess.run([str(ray_cli), "start", "--head", "--num-cpus", "1", "--include-dashboard", "false",
                              "--disable-usage-stats"], env=env, capture_output=True, text=True, timeout=300)
    assert started.returncode == 0, started.stderr[-2000:]
    try:
        folder, _ = blender_files
        cmd = [sys.executable, "-m", "tk.cli", "curate", "--source", "local", "--input", str(folder), "--out",
               str(tmp_path / "out"), "--workers", "1"]
        r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    finally:
        subprocess.run([str(ray_cli), "stop", "--force"], env=env, capture_output=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    rows = _rows(tmp_path / "out")
    assert {k for k, v in rows.items() if v["status"] == "keep"} == set(BOXES)
