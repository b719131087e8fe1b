"""`python -m bench.render.consistency [--out bench-out/consistency]`: do the views of one object agree on its colour?

TripoSR's colour has no view dependence, so a pixel seen from two views should have one colour. For every ordered
pair of views of an object, each pixel of view A is lifted through its depth, projected into view B, and kept
when B's depth agrees there (co-visible, 2% of the depth); the report is the median absolute RGB difference of
those pixels, per lighting setting, on the 10 objects x 16 views that bench/fit renders (64², Cycles 32 spp).
Lighting drawn once per object leaves only view-dependent shading (speculars, Fresnel); per view it does not.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def pair_error(a: dict, b: dict) -> np.ndarray:
    """Absolute RGB differences (N, 3) of the pixels of view a that view b sees too."""
    from tk.geometry import project, unproject

    da, db = a["depth"], b["depth"]
    pts = unproject(da, a["c2w"], a["fx"], a["fy"], a["cx"], a["cy"])
    valid = (da > 0) & (a["alpha"] > 0.99)
    uv, depth = project(pts[valid], b["c2w"], b["fx"], b["fy"], b["cx"], b["cy"])
    h, w = db.shape
    x, y = np.floor(uv[:, 0]).astype(int), np.floor(uv[:, 1]).astype(int)
    inside = (x >= 0) & (x < w) & (y >= 0) & (y < h) & (depth > 0)
    x, y, depth, colours = x[inside], y[inside], depth[inside], a["rgb"][valid][inside]
    seen = (db[y, x] > 0) & (np.abs(db[y, x] - depth) < 0.02 * depth) & (b["alpha"][y, x] > 0.99)
    return np.abs(colours[seen] - b["rgb"][y[seen], x[seen]])


def consistency(renders: Path) -> dict[str, float]:
    """Median and mean co-visible RGB error over every ordered view pair of every object in `renders`."""
    from tk.contracts.renders import decode_depth, decode_rgba, read_views

    views: dict[str, list[dict]] = {}
    for r in read_views(renders):
        rgba = decode_rgba(r["rgba"])
        views.setdefault(r["uid"], []).append({
            "rgb": rgba[..., :3].astype(np.float64), "alpha": rgba[..., 3],
            "depth": decode_depth(r["depth"], r["width"], r["height"]).astype(np.float64),
            "c2w": np.asarray(r["c2w"]).reshape(4, 4), "fx": r["fx"], "fy": r["fy"], "cx": r["cx"], "cy": r["cy"]})
    errors = [pair_error(a, b) for vs in views.values() for i, a in enumerate(vs) for j, b in enumerate(vs) if i != j]
    err = np.concatenate([e for e in errors if len(e)]).mean(axis=1)
    return {"pixels": int(err.size), "median": float(np.median(err)), "mean": float(err.mean()), "objects": len(views)}


def main() -> None:
    """Render (or reuse) the bench/fit sets and print the co-visible colour disagreement of both settings."""
    from bench.fit.data import render_set

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="bench-out/fit")
    out = Path(p.parse_args().out)
    rows = {}
    for per in ("object", "view"):
        render_set(out / f"renders-{per}", per)
        rows[per] = consistency(out / f"renders-{per}")
    print("| lighting drawn per | co-visible pixels | median abs RGB error | mean |")
    print("| --- | --- | --- | --- |")
    for per, r in rows.items():
        print(f"| {per} | {r['pixels']} | {r['median']:.4f} | {r['mean']:.4f} |")
    print(f"per-view / per-object median error: {rows['view']['median'] / max(rows['object']['median'], 1e-9):.2f}x")


if __name__ == "__main__":
    main()
