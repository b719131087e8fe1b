"""The stored ground-truth surface is the geometry Blender rendered: it lies in the normalised box, projects onto
every view's mask, matches the file (a Draco glTF included) loaded independently, and holds what only Blender's
evaluation gives (a render-only modifier). The sampling itself is checked without Blender."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import trimesh
from scipy.ndimage import binary_dilation
from scipy.spatial import cKDTree

from tk.contracts import OBJECTS, SHARD, read_table
from tk.contracts.renders import decode_rgba_u8 as decode_png
from tk.contracts.renders import decode_surface, encode_surface
from tk.geometry import project
from tk.render.surface import POINTS, sample_parts

ROOT = Path(__file__).resolve().parents[2]
RENDERS = ROOT / "tests" / "data" / "renders"
Y_UP_TO_Z_UP = np.array([[1, 0, 0], [0, 0, -1], [0, 1, 0]], dtype=np.float64)


def _surfaces_and_views(folder: Path) -> tuple[dict[str, np.ndarray], dict[str, list[dict]]]:
    surfaces, views = {}, {}
    for shard in sorted((folder / "shards").glob("shard-*.parquet")):
        for r in read_table(shard, SHARD).to_pylist():
            views.setdefault(r["uid"], []).append(r)
            if r["surface"] is not None:
                assert r["view"] == 0, "the surface belongs on the object's first view's row"
                surfaces[r["uid"]] = np.concatenate(decode_surface(r["surface"]), axis=1)
    return surfaces, views


def _on_mask_share(points: np.ndarray, view: dict) -> tuple[float, float]:
    """(share of points inside the frame, share of those on the 1-pixel-dilated mask alpha > 0.5)."""
    mask = binary_dilation(decode_png(view["rgba"])[..., 3] > 127, iterations=1)
    uv, depth = project(points, np.array(view["c2w"]).reshape(4, 4), view["fx"], view["fy"], view["cx"], view["cy"])
    assert (depth > 0).all()
    px = np.floor(uv).astype(int)
    inside = (px[:, 0] >= 0) & (px[:, 0] < view["width"]) & (px[:, 1] >= 0) & (px[:, 1] < view["height"])
    px = px[inside]
    return float(inside.mean()), float(mask[px[:, 1], px[:, 0]].mean())


def test_fixture_surfaces_lie_in_the_box_and_project_onto_every_mask():
    surfaces, views = _surfaces_and_views(RENDERS)
    assert surfaces.keys() == views.keys() and len(surfaces) == 4
    for uid, s in surfaces.items():
        assert s.shape == (POINTS, 6)
        assert np.abs(s[:, :3]).max() <= 0.5 + 1e-3  # normalised: inside [-0.5, 0.5]^3 (float16 rounding)
        assert (s[:, :3].max(0) - s[:, :3].min(0)).max() > 0.99  # and the longest side fills it
        np.testing.assert_allclose(np.linalg.norm(s[:, 3:], axis=1), 1.0, atol=2e-3)
        for v in views[uid]:
            # every surface point, visible or not, lies inside the silhouette; at d = 1.9 a corner may leave the frame
            inside, on_mask = _on_mask_share(s[:, :3], v)
            assert inside > 0.9 and on_mask >= 0.98, f"{uid[:8]} view {v['view']}: {on_mask:.3f} on the mask"


def test_fixture_surface_matches_the_draco_file_loaded_independently():
    """bunny.glb is Draco-compressed: trimesh reads it only with DracoPy (a test dependency); Blender decodes it."""
    objects = {r["uid"]: r for r in read_table(RENDERS / "objects.parquet", OBJECTS).to_pylist()}
    surfaces, _ = _surfaces_and_views(RENDERS)
    uid, obj = next((u, o) for u, o in objects.items() if o["local_path"].endswith("bunny.glb"))
    assert b"KHR_draco_mesh_compression" in (ROOT / obj["local_path"]).read_bytes()[:4096]
    mesh = trimesh.load(ROOT / obj["local_path"], force="mesh")
    mesh.vertices = (mesh.vertices @ Y_UP_TO_Z_UP.T - np.array(obj["center"])) * obj["scale"]
    dense, faces = trimesh.sample.sample_surface(mesh, 200_000, seed=0)
    dist, nearest = cKDTree(dense).query(surfaces[uid][:, :3])
    assert np.median(dist) < 0.004 and dist.max() < 0.03
    # the normals are the faces' own (outward, as the file winds them)
    agree = np.einsum("ij,ij->i", surfaces[uid][:, 3:], mesh.face_normals[faces[nearest]])
    assert (agree > 0.9).mean() > 0.95


# Blender in its own process: bpy loaded into the test process would crash torch's tests after it
MODIFIER_SCRIPT = """
import bpy, sys
from pathlib import Path
from tk.render.pipeline import LocalExecutor, RenderConfig, run as render
root = Path(sys.argv[-1])
(root / "in").mkdir()
bpy.ops.wm.read_factory_settings(use_empty=True)
bpy.ops.mesh.primitive_cube_add(size=1.0)
array = bpy.context.active_object.modifiers.new("array", "ARRAY")
array.count, array.relative_offset_displace = 3, (1.5, 0.0, 0.0)
array.show_viewport = False  # render-only: the viewport depsgraph would not see it unless tk aligns the two
bpy.ops.wm.save_as_mainfile(filepath=str(root / "in" / "cubes.blend"))
cfg = RenderConfig(out=str(root / "out"), input_dir=str(root / "in"), views=3, resolution=32, engine="workbench",
                   lighting="studio", depth=False, normals=False)
assert render(cfg, executor=LocalExecutor())["ok"] == 1
"""


@pytest.fixture(scope="module")
def modifier_render(tmp_path_factory) -> tuple[np.ndarray, list[dict]]:
    root = tmp_path_factory.mktemp("modifier")
    r = subprocess.run([sys.executable, "-c", MODIFIER_SCRIPT, str(root)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    surfaces, views = _surfaces_and_views(root / "out")
    (uid,) = surfaces
    return surfaces[uid], views[uid]


def test_surface_holds_what_only_blender_evaluates(modifier_render):
    """Three cubes from one by an Array modifier (render-only): the surface spans all three, as the views do."""
    s, views = modifier_render
    points = s[:, :3]
    # cubes of side 1 at x = 0, 1.5, 3: normalised by the 4-long extent, side 0.25, gaps of 0.125
    np.testing.assert_allclose(points.max(0) - points.min(0), [1.0, 0.25, 0.25], atol=2e-3)
    x = points[:, 0]
    cubes = [((x >= lo - 1e-3) & (x <= hi + 1e-3)).sum() for lo, hi in ((-0.5, -0.25), (-0.125, 0.125), (0.25, 0.5))]
    assert sum(cubes) == POINTS and min(cubes) > 0.9 * POINTS / 3  # nothing in the gaps, a third on each cube
    for v in views:
        inside, on_mask = _on_mask_share(points, v)
        assert inside > 0.9 and on_mask >= 0.98, f"view {v['view']}: {on_mask:.3f} on the mask"


def test_sampling_is_area_uniform_seeded_and_mirror_safe():
    tri = np.array([[[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]])  # area 0.5, normal +z
    big = np.diag([1.0, 3.0, 1.0, 1.0])  # the same triangle stretched: area 1.5
    mirror = np.diag([1.0, 1.0, -1.0, 1.0])
    mirror[:3, 3] = (0.0, 0.0, 5.0)
    out = sample_parts([(tri, np.eye(4)), (tri, big), (tri, mirror)], 50_000, seed=3)
    assert out.shape == (50_000, 6) and out.dtype == np.float32
    np.testing.assert_array_equal(out, sample_parts([(tri, np.eye(4)), (tri, big), (tri, mirror)], 50_000, seed=3))
    z0 = out[:, 2] == 0
    on_big = z0 & (out[:, 1] > 1.0)  # only the stretched copy reaches y > 1: (2/3)^2 of its area
    share = np.array([z0.mean(), (out[:, 2] == 5).mean()])
    np.testing.assert_allclose(share, [2 / 2.5, 0.5 / 2.5], atol=0.01)
    assert on_big.mean() == pytest.approx(1.5 / 2.5 * 4 / 9, abs=0.01)
    # the mirrored copy's edges still cross to +z; its true normal (the inverse transpose) is -z
    np.testing.assert_array_equal(out[z0, 5], 1.0)
    np.testing.assert_array_equal(out[out[:, 2] == 5, 5], -1.0)
    assert sample_parts([(tri * 0.0, np.eye(4))], 10, seed=0) is None  # no area, no surface
    points, normals = decode_surface(encode_surface(out[:100]))
    np.testing.assert_allclose(np.concatenate([points, normals], 1), out[:100], atol=2e-3)
