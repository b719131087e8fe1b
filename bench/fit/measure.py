"""Scores of one scene code on an object's held-out views and surface: what bench/fit compares.

The oracle's directly optimised triplane and the trained model's prediction both go through `tk eval`'s own
`evaluate_code` (mask IoU, PSNR on white, the all-white baseline, surface CD/F-score against the surface the render
stage stored, in normalised units), so the two columns of the table differ only in where the scene code came from.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from bench.fit.data import HELD_OUT
from tk.train.shards import ObjectRef, RowReader

MESH_RESOLUTION = 96  # marching cubes of a 32-texel triplane, 3 cells a texel: finer grids add time, not detail


@dataclass
class Gauge:
    """An object's canonical gauge: the input view and the similarity p -> s*Q@p it defines."""

    input_pos: int
    q: np.ndarray
    s: float


def view_rays(view: Any, gauge: Gauge) -> tuple[torch.Tensor, torch.Tensor]:
    """Rays of every pixel of `view` (H*W, 3) in the gauge (the oracle trains on them): tk eval's own rays."""
    from tk.train.evaluate import view_rays as eval_rays

    return eval_rays(view, gauge.q, gauge.s)


def score_code(renderer: Any, decoder: Any, code: torch.Tensor, ref: ObjectRef, reader: RowReader, gauge: Gauge,
               views: list[int], surface: np.ndarray | None) -> dict[str, float]:
    """Mean held-out view scores and surface scores of one scene code (tk eval's evaluate_code, no LPIPS)."""
    from tk.train.evaluate import evaluate_code

    row, _ = evaluate_code(renderer, decoder, code, ref, reader, None, gauge.input_pos, views=views,
                           surface=surface, mesh_resolution=MESH_RESOLUTION, pictures=0,
                           search=False)  # the gauge is known exactly: pose errors count
    return {k: float(v) for k, v in row.items() if isinstance(v, (int, float)) and k not in ("input_view", "novel_views")}


def mean_scores(rows: list[dict[str, float]]) -> dict[str, float]:
    """Mean of every numeric key over rows (NaNs ignored)."""
    keys = [k for k in rows[0] if k != "view"] if rows else []
    out = {}
    for k in keys:
        vals = [r[k] for r in rows if k in r and not (isinstance(r[k], float) and math.isnan(r[k]))]
        out[k] = float(np.mean(vals)) if vals else math.nan
    return out


def gauges(index: Any, reader: Any) -> dict[str, Gauge]:
    """Per object, the gauge of its first uncut training input view (as `tk eval` chooses it)."""
    from tk.train import geometry
    from tk.train.data import first_uncut_input

    out = {}
    for ref in index.objects:
        chosen = first_uncut_input(ref, reader, exclude=HELD_OUT)
        if chosen is not None:
            q, s = geometry.canonical_similarity(ref.views[chosen[0]].c2w)
            out[ref.uid] = Gauge(chosen[0], q, s)
    return out
