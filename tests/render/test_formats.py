"""Every type curate keeps renders (issue 13): one real sample file per type in `tk.formats`, through the real
bpy worker, and each imports upright (the types Blender 5 cannot read are converted to glTF first).

The samples are tests/data/formats/box.* (a 1 x 2 x 3 box, +Z up; made by make.py there, CC0)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tk import formats
from tk.contracts.renders import decode_rgba_u8 as decode_png
from tk.render.inputs import from_folder
from tk.render.jobs import make_job
from tk.render.pipeline import RenderConfig
from tk.blender.process import WorkerProcess

pytest.importorskip("bpy")

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "formats"


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict[str, dict]:
    """Each sample rendered once (1 view, 16 px, 2 Cycles samples), keyed by file type."""
    cfg = RenderConfig(out=str(tmp_path_factory.mktemp("unused")), input_dir=str(SAMPLES), views=1, resolution=16,
                       samples=2, denoise=False, lighting="studio", depth=False, normals=False)
    worker = WorkerProcess()
    try:
        return {o.file_type: worker.run(make_job(o, cfg, cfg.hdri_paths()), timeout=300) for o in from_folder(SAMPLES)}
    finally:
        worker.close()


def test_there_is_one_sample_of_every_type_tk_reads(rendered):
    assert sorted(rendered) == sorted(formats.EXTENSIONS)


@pytest.mark.parametrize("file_type", formats.EXTENSIONS)
def test_every_type_renders(rendered, file_type):
    result = rendered[file_type]
    assert result["ok"], result["error"]
    assert result["scale"] == pytest.approx(1 / 3, rel=1e-4)  # the box's longest side is 3
    assert result["missing_textures"] == []
    [view] = result["views"]
    assert decode_png(view["rgba"])[..., 3].max() == 255


def test_the_converted_collada_keeps_its_texture(rendered):
    """box.dae samples a red PNG beside it: the conversion must carry the image (box.off has no colour)."""
    def mean_rgb(file_type: str) -> np.ndarray:
        rgba = decode_png(rendered[file_type]["views"][0]["rgba"]).astype(np.float64)
        return rgba[..., :3][rgba[..., 3] == 255].mean(axis=0)

    red = mean_rgb("dae")
    assert red[0] > 2 * red[1] and red[0] > 2 * red[2], red
    grey = mean_rgb("off")
    assert abs(grey[0] - grey[1]) < 0.2 * grey.mean(), grey


IMPORT_ALL = """
import json, sys
import numpy as np
from tk import formats
from tk.render import scene
out = {}
for path in sys.argv[1:]:
    file_type = formats.file_type(path)
    scene.reset_scene(file_type)
    scene.import_file(path, file_type)
    lo, hi = scene.world_bbox()
    out[file_type] = (hi - lo).round(4).tolist()
    scene.mark_clean()
print("TKBOXES " + json.dumps(out))
"""


def test_every_type_imports_upright():
    """In Blender's frame (+Z up) every sample is 1 x 2 x 3: converted files keep their axes too."""
    files = [str(p) for p in sorted(SAMPLES.iterdir()) if formats.get(formats.file_type(p))]
    r = subprocess.run([sys.executable, "-c", IMPORT_ALL, *files], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    [line] = [ln for ln in r.stdout.splitlines() if ln.startswith("TKBOXES ")]
    boxes = json.loads(line[len("TKBOXES "):])
    assert sorted(boxes) == sorted(formats.EXTENSIONS)
    for file_type, extent in boxes.items():
        assert extent == pytest.approx([1.0, 2.0, 3.0], abs=1e-4), file_type
