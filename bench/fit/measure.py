"""Scores of one scene code on an object's held-out views and surface: what bench/fit compares.

The same function scores the oracle's directly optimised triplane and the trained model's prediction, so
the two columns of the table differ only in where the scene code came from.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from tk.train import geometry
from tk.train.data import composite, decode_rgba
from tk.train.shards import ObjectRef, RowReader


@dataclass
class Gauge:
    """An object's canonical gauge: the input view and the similarity p -> s*Q@p it defines."""

    input_pos: int
    q: np.ndarray
    s: float


def view_rays(view: Any, gauge: Gauge) -> tuple[torch.Tensor, torch.Tensor]:
    """Rays of every pixel of `view` (H*W, 3) in the gauge."""
    u, v = np.meshgrid(np.arange(view.width), np.arange(view.height))
    o, d = geometry.pixel_rays(geometry.transform_c2w(view.c2w, gauge.q, gauge.s), view.fx, view.fy, view.cx,
                               view.cy, u, v)
    return torch.from_numpy(o), torch.from_numpy(d)


@torch.no_grad()
def score_views(renderer: Any, decoder: Any, code: torch.Tensor, ref: ObjectRef, reader: RowReader, gauge: Gauge,
                views: list[int]) -> list[dict[str, float]]:
    """Per view (indices into ref.views): PSNR on white, the all-white baseline's PSNR, mask IoU (0.5 thresholds)."""
    rows = []
    for pos in views:
        view = ref.views[pos]
        rgba = decode_rgba(reader.rgba_bytes(ref, view))
        o, d = view_rays(view, gauge)
        out = renderer.render_rays(decoder, code, o, d)
        pred = out["rgb"].float().numpy().reshape(view.height, view.width, 3).clip(0, 1)
        opacity = out["opacity"].float().numpy().reshape(view.height, view.width)
        target = composite(rgba, 1.0)
        mse = float(((pred - target) ** 2).mean())
        white = float(((1.0 - target) ** 2).mean())
        a, b = opacity > 0.5, rgba[..., 3] > 0.5
        union = int((a | b).sum())
        rows.append({"view": view.view, "psnr": -10 * math.log10(max(mse, 1e-10)),
                     "white_psnr": -10 * math.log10(max(white, 1e-10)),
                     "iou": float((a & b).sum() / union) if union else 1.0})
    return rows


def score_surface(renderer: Any, decoder: Any, code: torch.Tensor, gt_mesh: Any, gauge: Gauge,
                  resolution: int = 96) -> dict[str, float]:
    """Chamfer and F-scores against the ground-truth mesh, in the object's normalised units, no alignment search.

    The gauge is known exactly for these objects, so pose errors count (a search would hide them); the
    predicted mesh is mapped back from the gauge (p_norm = Q^T p / s) so units do not depend on the input distance.
    """
    from tk.model.mesh import mesh_from_scene_code
    from tk.train import metrics

    try:
        mesh = mesh_from_scene_code(renderer, decoder, code, resolution, 25.0, False)
    except (ValueError, RuntimeError):
        mesh = None
    if mesh is None or len(mesh.faces) == 0:
        return {"chamfer": math.nan, **{f"fscore@{t:g}": 0.0 for t in metrics.F_THRESHOLDS}}
    mesh.vertices = (np.asarray(mesh.vertices) @ gauge.q) / gauge.s
    return metrics.mesh_metrics(mesh, gt_mesh, search=False)


def mean_scores(rows: list[dict[str, float]]) -> dict[str, float]:
    """Mean of every numeric key over rows (NaNs ignored)."""
    keys = [k for k in rows[0] if k != "view"] if rows else []
    out = {}
    for k in keys:
        vals = [r[k] for r in rows if not (isinstance(r[k], float) and math.isnan(r[k]))]
        out[k] = float(np.mean(vals)) if vals else math.nan
    return out
