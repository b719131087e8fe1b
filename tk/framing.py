"""The framing rule shared by rendering, training inputs and `tk infer` (docs/design.md, "Training geometry").

TripoSR sees its input from one fixed camera, the official front camera (tk.geometry: INPUT_DISTANCE, INPUT_FOVY_DEG).
tk's rule, in three parts:
- Renders: the default camera distance keeps the bounding sphere of any normalised object (radius
  sqrt(3)/2, the unit cube's) inside the frame with a margin, so no view cuts the object at the border.
- Training inputs: the raw render composited on grey, never re-cropped (its exact camera is known); a
  candidate input whose mask touches the image border is never used as input (the trainer draws another).
- Inference: a user's image is cropped so the object spans the median share of the frame that the
  model's training inputs had (`framing.json`, written into every checkpoint). The official weights were
  trained for a share of 0.85 (`run.py`'s foreground ratio), which `tk infer` uses for checkpoints without it.
Pure numpy; no torch, no bpy.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from tk.geometry import INPUT_FOVY_DEG  # the input camera, written once

OBJECT_RADIUS = math.sqrt(3.0) / 2.0  # bounding sphere of an object normalised into [-0.5, 0.5]^3
SPHERE_FILL = 0.95  # the sphere's angular radius may use at most this share of the half field of view
OFFICIAL_FOREGROUND_RATIO = 0.85  # what the released TripoSR weights expect (official run.py)
FRAMING_FILE = "framing.json"


def fit_distance(fovy_deg: float, radius: float = OBJECT_RADIUS, fill: float = SPHERE_FILL) -> float:
    """The nearest camera distance at which a sphere of `radius` at the origin stays inside the frame."""
    return radius / math.sin(math.radians(fovy_deg) / 2.0 * fill)


def default_distance(fovy_deg: float = INPUT_FOVY_DEG) -> tuple[float, float]:
    """Default render distance range: from the fit distance to 15% farther (apparent size varies by ~15%)."""
    near = round(fit_distance(fovy_deg), 2)
    return near, round(near * 1.15, 2)


def foreground_box(alpha: np.ndarray, threshold: float = 0.0) -> tuple[int, int, int, int] | None:
    """(top, left, bottom, right) of alpha > threshold, ends exclusive as numpy slices; None when empty."""
    ys, xs = np.nonzero(np.asarray(alpha) > threshold)
    if ys.size == 0:
        return None
    return int(ys.min()), int(xs.min()), int(ys.max()) + 1, int(xs.max()) + 1


def foreground_fill(alpha: np.ndarray) -> float:
    """Share of the frame's longer side that the object's box spans (what `--foreground-ratio` sets); 0 if empty."""
    box = foreground_box(alpha)
    if box is None:
        return 0.0
    top, left, bottom, right = box
    return max(bottom - top, right - left) / max(alpha.shape[0], alpha.shape[1])


def touches_border(alpha: np.ndarray, threshold: float = 0.0) -> bool:
    """True when any pixel of the outermost rows/columns belongs to the object (the object is cut)."""
    a = np.asarray(alpha) > threshold
    return bool(a[0].any() or a[-1].any() or a[:, 0].any() or a[:, -1].any())


def summarise_fills(fills: list[float], border: int, candidates: int) -> dict[str, Any]:
    """The framing record of a training run: quantiles of the inputs' fill and the border count."""
    q = np.quantile(np.asarray(fills, dtype=np.float64), [0.1, 0.5, 0.9]) if fills else [math.nan] * 3
    return {"foreground_ratio": round(float(q[1]), 4), "fill_p10": round(float(q[0]), 4),
            "fill_p90": round(float(q[2]), 4), "inputs_measured": len(fills), "candidates": candidates,
            "touching_border": border, "rule": "tk.framing: median object share of the training inputs' frame"}


def read_ratio(model_dir: str | Path) -> tuple[float, str]:
    """(foreground ratio, where it came from) for a model folder: its framing.json, else the official 0.85."""
    path = Path(model_dir) / FRAMING_FILE
    if path.is_file():
        try:
            ratio = float(json.loads(path.read_text())["foreground_ratio"])
            if 0.0 < ratio <= 1.0:
                return ratio, f"{FRAMING_FILE} (median of the training inputs)"
        except (ValueError, KeyError, TypeError):
            pass
    return OFFICIAL_FOREGROUND_RATIO, "official TripoSR value (no framing.json in the model folder)"
