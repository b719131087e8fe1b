"""bench/render/consistency reads views through the render contract: non-square depth keeps its (H, W) shape."""

from __future__ import annotations

import numpy as np
import pytest

from bench.render.consistency import consistency
from tk.contracts import renders


def _view(view: int, grey: int) -> dict:
    h, w = 3, 4
    rgba = np.full((h, w, 4), 255, np.uint8)
    rgba[..., :3] = grey
    c2w = np.eye(4)
    c2w[2, 3] = 3.0  # on +Z looking down -Z at a wall 2 units away
    return {"uid": "a", "view": view, "split": "train", "rgba": renders.encode_rgba(rgba),
            "depth": renders.encode_depth(np.full((h, w), 2.0)), "normal": None, "c2w": c2w.ravel().tolist(),
            "fx": 4.0, "fy": 4.0, "cx": w / 2, "cy": h / 2, "width": w, "height": h, "light": "{}", "surface": None}


def test_two_views_from_one_camera_see_every_pixel_with_their_colour_difference(tmp_path):
    renders.write_shard(renders.shards_dir(tmp_path) / renders.shard_name(0), [_view(0, 100), _view(1, 110)])
    out = consistency(tmp_path)
    assert out["objects"] == 1 and out["pixels"] == 2 * 3 * 4  # both ordered pairs, every pixel co-visible
    assert out["median"] == pytest.approx(10 / 255, abs=1e-6) and out["mean"] == pytest.approx(10 / 255, abs=1e-6)
