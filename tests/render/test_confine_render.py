"""Render reads nothing outside an object's folder (issue 12): a green secret.png outside the input reached
the shards through a glTF image `../secret.png`. Each hostile file of tests/data/hostile.py is rendered
(workbench, which shows textures, 16 px, 1 view) in one persistent worker: the control cube, whose own
texture is the same green, shows green; no other does, and each result says what it refused.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.data import hostile
from tk.contracts.renders import decode_rgba_u8 as decode_png
from tk.render.inputs import from_folder
from tk.render.jobs import make_job
from tk.render.pipeline import RenderConfig, precheck
from tk.blender.process import WorkerProcess

pytestmark = pytest.mark.blender


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    pytest.importorskip("bpy")
    src = hostile.build(tmp_path_factory.mktemp("hostile"))
    cfg = RenderConfig(out="/tmp/unused", input_dir=str(src), views=1, resolution=16, engine="workbench",
                       lighting="studio", seed=0)
    objs = {str(Path(o.local_path).relative_to(src)): o for o in from_folder(str(src))}
    worker = WorkerProcess()
    out = {}
    try:
        for rel, obj in objs.items():
            refused = precheck(obj, cfg)
            out[rel] = {"precheck": refused} if refused else worker.run(make_job(obj, cfg, cfg.hdri_paths()), timeout=300)
    finally:
        worker.close()
    return out


def _green(result) -> int:
    rgba = decode_png(result["views"][0]["rgba"]).astype(int)
    r, g, b, a = rgba[..., 0], rgba[..., 1], rgba[..., 2], rgba[..., 3]
    return int(((a > 0) & (g > 120) & (g > r + 60) & (g > b + 60)).sum())


def test_control_shows_its_own_green_texture(results):
    control = results["control/cube.gltf"]
    assert control["ok"], control["error"]
    assert _green(control) > 20 and control["missing_textures"] == []


@pytest.mark.parametrize("rel, why", [
    ("up/cube.gltf", "'../../secret.png' resolves outside the object's folder"),
    ("fileuri/cube.gltf", "is a URI (file:)"),
    ("absolute/cube.gltf", "is an absolute path"),
    ("linked_tex/cube.gltf", "resolves outside the object's folder"),
    ("mtl/cube.obj", "resolves outside the object's folder"),
])
def test_secret_never_reaches_the_pixels(results, rel, why):
    res = results[rel]
    assert res["ok"], res["error"]
    assert _green(res) == 0
    assert any(why in m for m in res["missing_textures"]), res["missing_textures"]


def test_buffer_outside_fails_the_object(results):
    res = results["buffer/cube.gltf"]
    assert not res["ok"] and "glTF buffer '../../secret.bin' resolves outside the object's folder" in res["error"]


def test_links_leaving_the_input_are_failed_or_not_entered(results):
    assert "link.glb is a link to a file outside the input folder" in results["link.glb"]["precheck"]
    assert not any(k.startswith(("linked_dir", ".hidden")) for k in results)
