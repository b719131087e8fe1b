"""No state leaks from one object into the next in a persistent worker: rendering A then B gives B exactly the
pixels it gets in a fresh worker (the per-object reset removes what A's import created)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tk.contracts.renders import decode_rgba_u8 as decode_png
from tk.render.inputs import from_folder
from tk.render.jobs import make_job
from tk.render.pipeline import RenderConfig
from tk.blender.process import WorkerProcess

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "manifests/sample/objects"


def _job(rel: str, engine: str) -> dict:
    cfg = RenderConfig(out="/tmp/unused", input_dir=str(SAMPLE), views=2, resolution=32, engine=engine, samples=4,
                       denoise=False, lighting="studio", seed=0)
    [obj] = [o for o in from_folder(str(SAMPLE)) if o.local_path.endswith(rel)]
    return make_job(obj, cfg, cfg.hdri_paths())


def _pixels(worker: WorkerProcess, job: dict) -> list:
    result = worker.run(job, timeout=300)
    assert result["ok"], result["error"]
    return [decode_png(v["rgba"]).tolist() for v in result["views"]]


@pytest.mark.parametrize("engine", ["workbench", "cycles"])
def test_previous_objects_do_not_change_pixels(engine):
    a1, a2, b = _job("crate/crate.obj", engine), _job("pico-neo3.glb", engine), _job("bunny.glb", engine)
    after, alone = WorkerProcess(), WorkerProcess()
    try:
        _pixels(after, a1)  # textured OBJ: materials, images
        _pixels(after, a2)  # glTF: node hierarchy, collections, engine switch
        b_after = _pixels(after, b)
        b_alone = _pixels(alone, b)
    finally:
        after.close()
        alone.close()
    assert b_after == b_alone
