"""Where the PSNR of a scene code is lost: its held-out views' squared error split by pixel region.

    python -m bench.fit.decompose --data RENDERS [--checkpoint RUN] [--oracle-steps 300] [--out OUT]

Per held-out view, every pixel falls in one region:
- `inside`: render alpha > 0.5 and predicted opacity > 0.5 (the object's colour);
- `outside`: both <= 0.5 (background: the prediction must stay white);
- `mask`: the two disagree (silhouette errors, mostly the object's boundary at this resolution).
The report gives each region's share of the pixels and of the squared error, and the PSNR the view would have
if that region's error were zero (how many dB fixing it is worth). The all-white prediction's error lies
entirely on the object, so `PSNR - white PSNR` is 10 log10 of (white error / prediction error) whatever the
share of background, while the boundary's share of the error grows as the object gets smaller in the frame.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

REGIONS = ("inside", "outside", "mask")


def error_parts(pred: np.ndarray, opacity: np.ndarray, rgba: np.ndarray) -> dict[str, float]:
    """One view's squared error by region: share of pixels, share of error, and PSNR with that region perfect."""
    from tk.contracts.renders import composite

    target = composite(rgba, 1.0).astype(np.float64)
    sq = ((np.asarray(pred, np.float64) - target) ** 2).mean(axis=-1)  # per pixel, over RGB
    gt, pm = rgba[..., 3] > 0.5, np.asarray(opacity) > 0.5
    regions = {"inside": gt & pm, "outside": ~gt & ~pm, "mask": gt ^ pm}
    total = float(sq.sum())
    n = sq.size
    white = float(((1.0 - target) ** 2).mean())
    out = {"psnr": _psnr(total / n), "white_psnr": _psnr(white), "fill": float(gt.mean()),
           "edge_share": float(((rgba[..., 3] > 0.02) & (rgba[..., 3] < 0.98)).mean())}
    for name, sel in regions.items():
        part = float(sq[sel].sum())
        out[f"{name}_pixels"] = float(sel.mean())
        out[f"{name}_error"] = part / total if total > 0 else 0.0
        out[f"psnr_without_{name}"] = _psnr((total - part) / n)
        out[f"{name}_rmse"] = math.sqrt(part / max(int(sel.sum()), 1))
    return out


def texel_pixels(view: Any, plane_texels: int, radius: float, distance: float = 1.9) -> float:
    """Pixels of `view` that one triplane texel spans at the scene's centre, in the input camera's gauge.

    The gauge puts every input camera at `distance` (1.9), so this is the same for every object and framing:
    2*radius/plane_texels world units per texel against 2*distance*tan(fovy/2)/height per pixel."""
    per_pixel = 2.0 * distance * (view.height / 2.0) / view.fy / view.height
    return (2.0 * radius / plane_texels) / per_pixel


def texel_limited_psnr(rgba: np.ndarray, pixels_per_texel: float) -> float:
    """PSNR of the target against itself seen at the triplane's resolution (area-downsampled to one sample a texel,
    bilinear back up), on white: what a perfect scene code of that plane size could roughly score."""
    import torch
    import torch.nn.functional as F

    from tk.contracts.renders import composite

    target = composite(rgba, 1.0)
    h, w = target.shape[:2]
    x = torch.from_numpy(np.ascontiguousarray(target)).permute(2, 0, 1)[None]
    small = F.interpolate(x, size=(max(1, round(h / pixels_per_texel)), max(1, round(w / pixels_per_texel))),
                          mode="area")
    back = F.interpolate(small, size=(h, w), mode="bilinear", align_corners=False)[0].permute(1, 2, 0).numpy()
    return _psnr(float(((back.astype(np.float64) - target) ** 2).mean()))


def _psnr(mse: float) -> float:
    return float("inf") if mse <= 0 else -10.0 * math.log10(mse)


def code_parts(renderer: Any, decoder: Any, code: Any, ref: Any, reader: Any, gauge: Any, views: list[int]
               ) -> dict[str, float]:
    """Mean of error_parts over `views` (positions in ref.views) of one scene code in one gauge."""
    import torch

    from tk.contracts.renders import decode_rgba
    from tk.train.evaluate import render_view

    rows = []
    with torch.no_grad():
        for i in views:
            rgba = decode_rgba(reader.rgba_bytes(ref, ref.views[i]))
            pred, opacity = render_view(renderer, decoder, code, ref.views[i], gauge.q, gauge.s)
            rows.append(error_parts(pred, opacity, rgba))
    return {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}


def main() -> None:
    """Fit the oracle (and load a trained run, if given) on RENDERS and print the decomposition per object."""
    import torch

    from bench.fit.measure import gauges
    from bench.fit.data import HELD_OUT
    from bench.fit.oracle import fit_triplane
    from tk.model import load_model_config
    from tk.contracts.renders import decode_rgba
    from tk.train.data import input_image
    from tk.train.shards import RowReader, ShardIndex

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True)
    p.add_argument("--checkpoint", default=None, help="a run or checkpoint folder: also decompose its predictions")
    p.add_argument("--model", default="cpu", help="the oracle's model config (triplane and decoder size)")
    p.add_argument("--oracle-steps", type=int, default=300)
    p.add_argument("--oracle-rays", type=int, default=2048)
    p.add_argument("--no-oracle", action="store_true")
    p.add_argument("--seen", action="store_true", help="also decompose the oracle on 4 of the views it was fitted to")
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--out", default=None, help="write the rows as JSON here")
    args = p.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    index = ShardIndex(args.data, "all")
    reader = RowReader(index)
    g = gauges(index, reader)
    refs = [r for r in index.objects if r.uid in g][: args.limit]
    model = None
    if args.checkpoint:
        from tk.train.evaluate import load_model, resolve_checkpoint

        model, _ = load_model(resolve_checkpoint(args.checkpoint))
    model_cfg = load_model_config(args.model)
    rows: dict[str, dict[str, Any]] = {}
    for ref in refs:
        held = [i for i, v in enumerate(ref.views) if v.view in HELD_OUT]
        train_pos = [i for i, v in enumerate(ref.views) if v.view not in HELD_OUT]
        rows[ref.uid] = {}
        if not args.no_oracle:
            code, renderer, decoder = fit_triplane(model_cfg, ref, reader, g[ref.uid], train_pos,
                                                   steps=args.oracle_steps, rays=args.oracle_rays)
            rows[ref.uid]["oracle"] = code_parts(renderer, decoder, code, ref, reader, g[ref.uid], held)
            if args.seen:  # the oracle on views it was fitted to: capacity (seen) vs generalisation (held out)
                rows[ref.uid]["oracle-seen"] = code_parts(renderer, decoder, code, ref, reader, g[ref.uid],
                                                          train_pos[: len(held)])
        if model is not None:
            with torch.no_grad():
                rgba = decode_rgba(reader.rgba_bytes(ref, ref.views[g[ref.uid].input_pos]))
                code = model.encode(input_image(rgba, model.cfg.cond_image_size)[None])[0]
            rows[ref.uid]["trained"] = code_parts(model.renderer, model.decoder, code, ref, reader, g[ref.uid], held)
        for side, r in rows[ref.uid].items():
            print(f"{ref.uid[:10]} {side:11s} " + _line(r), flush=True)
    for side in ("oracle", "oracle-seen", "trained"):
        got = [r[side] for r in rows.values() if side in r]
        if got:
            mean = {k: float(np.mean([r[k] for r in got])) for k in got[0]}
            rows.setdefault("mean", {})[side] = mean
            print(f"{'mean':10s} {side:11s} " + _line(mean), flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=1) + "\n")


def _line(r: dict[str, float]) -> str:
    parts = [f"psnr {r['psnr']:.2f} white {r['white_psnr']:.2f} fill {r['fill']:.2f} edge {r['edge_share']:.2f}"]
    for name in REGIONS:
        parts.append(f"{name}: px {r[f'{name}_pixels']:.2f} err {r[f'{name}_error']:.2f} "
                     f"rmse {r[f'{name}_rmse']:.3f} ->{r[f'psnr_without_{name}']:.1f}")
    return " | ".join(parts)


if __name__ == "__main__":
    main()
