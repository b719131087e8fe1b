"""Geometry Blender cannot render faithfully is a failed object with its reason, never `ok` with empty masks
(issue 12, item 7)."""

from __future__ import annotations

import numpy as np
import pytest

from tk.contracts.renders import encode_rgba
from tk.render.inputs import from_folder
from tk.render.jobs import make_job
from tk.render.pipeline import RenderConfig
from tk.blender.process import WorkerProcess
from tk.render.worker import encode_result

CUBE_FACES = "f 1 2 3 4\nf 5 8 7 6\nf 1 5 6 2\nf 2 6 7 3\nf 3 7 8 4\nf 5 1 4 8\n"


def _cube(corner: float, size: float) -> str:
    """An OBJ cube with one corner at (corner, corner, corner) and side `size`."""
    lines = []
    for x, y, z in ((0, 0, 0), (1, 0, 0), (1, 1, 0), (0, 1, 0), (0, 0, 1), (1, 0, 1), (1, 1, 1), (0, 1, 1)):
        lines.append(f"v {corner + x * size:.9g} {corner + y * size:.9g} {corner + z * size:.9g}")
    return "\n".join(lines) + "\n" + CUBE_FACES


@pytest.fixture(scope="module")
def worker():
    w = WorkerProcess()
    yield w
    w.close()


def _render(worker, folder, name: str, text: str) -> dict:
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(text)
    cfg = RenderConfig(out=str(folder / "unused"), input_dir=str(folder), views=2, resolution=16, engine="workbench",
                       lighting="studio", depth=False, normals=False)
    [obj] = [o for o in from_folder(str(folder)) if o.local_path.endswith(name)]
    return worker.run(make_job(obj, cfg, cfg.hdri_paths()), timeout=300)


@pytest.mark.parametrize("name, text, reason", [
    ("huge.obj", _cube(-1e38, 2e38), "meshes span"),  # its scale, 5e-39, is below float32's normal range
    ("far.obj", _cube(1e38, 1e37), "meshes span"),
    ("clamped.obj", _cube(3.4e38, 1e38), "meshes span"),  # past float32's largest value (the importer clamps it)
    ("e18.obj", _cube(-5e17, 1e18), "meshes span"),  # a normal float32 scale, 1e-18, and still empty views
])
def test_geometry_past_float32_is_a_failed_object_with_its_reason(worker, tmp_path, name, text, reason):
    result = _render(worker, tmp_path / name.split(".")[0], name, text)
    assert result["ok"] is False and reason in result["error"], result["error"]
    assert result["views"] == []


def test_a_normal_cube_still_renders_with_full_masks(worker, tmp_path):
    result = _render(worker, tmp_path / "cube", "cube.obj", _cube(-3.0, 6.0))
    assert result["ok"], result["error"]
    assert result["scale"] == pytest.approx(1 / 6.0)
    from tk.contracts.renders import decode_rgba_u8 as decode_png

    for v in result["views"]:
        assert decode_png(v["rgba"])[..., 3].max() == 255


def _view(i: int, alpha: float) -> dict:
    rgba = np.zeros((8, 8, 4))
    rgba[2:5, 2:5] = [0.5, 0.5, 0.5, alpha]
    return {"view": i, "rgba": encode_rgba(rgba), "depth": None, "normal": None}


def _result(views: list[dict]) -> dict:
    return {"uid": "u", "ok": True, "error": None, "center": [0.0, 0.0, 0.0], "scale": 1.0, "missing_textures": [],
            "views": views, "seconds": {"total": 0.1}}


def test_a_result_with_an_empty_view_is_never_ok():
    judged = encode_result(_result([_view(0, 1.0), _view(1, 0.0), _view(2, 0.0)]))
    assert judged["ok"] is False and judged["views"] == []
    assert judged["error"] == "views 1, 2 of 3 have an empty mask (nothing of the object is visible)"
    one = encode_result(_result([_view(0, 0.0), _view(1, 1.0)]))
    assert one["error"] == "view 0 of 2 has an empty mask (nothing of the object is visible)"
    kept = encode_result(_result([_view(0, 1.0), _view(1, 0.02)]))  # 5 of 255: faint, not empty
    assert kept["ok"] is True and len(kept["views"]) == 2 and kept["error"] is None
