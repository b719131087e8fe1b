"""Paired timing: tk and the official model, same weights, in one process, calls alternated.

On a shared, noisy machine, separate runs minutes apart measure the neighbours as much as the code;
alternating the two implementations call by call gives each the same conditions, and the median of the
per-pair ratios is stable. Also checks that both give the same scene codes for the same weights.

    python -m bench.model.paired [--size triposr] [--pairs 3] [--patch 64]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np
import torch


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="triposr")
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--patch", type=int, default=64, help="render timing patch side (memory is measured at 128²)")
    ap.add_argument("--official-src", default=None)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    from bench.model.cases import build
    from tk.geometry import INPUT_DISTANCE, INPUT_FOVY_DEG
    from tk.model.cameras import get_spherical_cameras

    official = build("official", a.size, a.official_src)
    tk = build("tk", a.size, None)
    tk.load_state_dict(official.state_dict(), strict=True)  # same weights: the official keys load as they are
    img = (np.random.RandomState(0).rand(512, 512, 3) * 255).astype(np.uint8)

    res: dict[str, list[float]] = {"forward": [], "render": [], "render_ckpt": []}
    with torch.no_grad():
        codes_o, codes_t = official([img], device="cpu"), tk([img], device="cpu")  # warm-up and equality
        diff = (codes_o - codes_t).abs().max().item()
        for _ in range(a.pairs):
            t_o = timed(lambda: official([img], device="cpu"))
            t_t = timed(lambda: tk([img], device="cpu"))
            res["forward"].append(t_t / t_o)
            print(f"  forward pair: official {t_o:.2f} s, tk {t_t:.2f} s", flush=True)

    rays_o, rays_d = get_spherical_cameras(1, 0.0, INPUT_DISTANCE, INPUT_FOVY_DEG, a.patch, a.patch)
    code = codes_o[0].clone().requires_grad_(True)
    official.renderer.set_chunk_size(8192)
    tk.renderer.set_chunk_size(8192)

    def render_official() -> None:
        official.zero_grad(set_to_none=True)
        official.renderer(official.decoder, code, rays_o[0], rays_d[0]).mean().backward()

    def render_tk(ckpt: bool) -> None:
        tk.zero_grad(set_to_none=True)
        tk.set_gradient_checkpointing(renderer=ckpt)
        tk.renderer.render_rays(tk.decoder, code, rays_o[0], rays_d[0])["rgb"].mean().backward()

    render_official(), render_tk(False)  # warm-up
    for _ in range(a.pairs):
        t_o = timed(render_official)
        t_t = timed(lambda: render_tk(False))
        t_c = timed(lambda: render_tk(True))
        res["render"].append(t_t / t_o)
        res["render_ckpt"].append(t_c / t_o)
        print(f"  render+backward {a.patch}² pair: official {t_o:.2f} s, tk {t_t:.2f} s, tk +ckpt {t_c:.2f} s", flush=True)
    print(json.dumps({"scene_codes_max_abs_diff": diff, **{f"{k}_ratio_median": statistics.median(v) for k, v in res.items()},
                      "ratios": res}))


if __name__ == "__main__":
    main()
