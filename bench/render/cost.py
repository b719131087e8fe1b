"""`python -m bench.render.cost [--objects 3] [--views 2] [--threads 1] [--assets DIR]`: what the real job costs.

Renders a few real objects at `tk render`'s defaults (Cycles 512², 64 spp, denoise, `mixed` lighting) with one
worker of `--threads` threads, and prints seconds per view per CPU core: Blender's render call alone, and the
worker's whole wall time (import, normalise, render every view, encode). Then projects core-hours for
`--total-objects` x `--total-views` (default 800K x 12), and GPU-hours when `--gpu-core-equivalents` says how
many of these cores one GPU is worth (docs/render.md gives public figures and their sources).
Objects: bench/get_assets.sh's set when `--assets` holds it, else the repo's manifests/sample/objects.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ["bunny.glb", "pico-neo3.glb", "crate", "Spider_binary.stl", "suzi.glb", "basketball"]


def inputs(assets: Path, n: int, folder: Path) -> Path:
    """A folder of n real objects (links)."""
    if (assets / "manifest.csv").exists():
        from bench.render.__main__ import link_inputs, pick_objects

        return link_inputs(pick_objects(assets, n), folder)
    folder.mkdir(parents=True)
    for name in SAMPLE[:n]:
        src = ROOT / "manifests" / "sample" / "objects" / name
        (folder / name).symlink_to(src, target_is_directory=src.is_dir())
    return folder


def measure(src: Path, out: Path, views: int, threads: int, resolution: int, samples: int) -> dict:
    """One render at the defaults (but views, threads); seconds per view, per core."""
    from tk.render.pipeline import RenderConfig, render

    shutil.rmtree(out, ignore_errors=True)
    s = render(RenderConfig(out=str(out), input_dir=str(src), views=views, workers=1, threads=threads,
                            resolution=resolution, samples=samples))
    n = s["ok"] * views
    if not n:
        raise SystemExit("no object rendered; see objects.parquet in " + str(out))
    return {"views": n, "render_s_per_view": s["render_seconds"] / n, "worker_s_per_view": s["worker_seconds"] / n,
            "job_s": s["seconds"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--assets", default="/tmp/assets")
    ap.add_argument("--objects", type=int, default=3)
    ap.add_argument("--views", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1, help="threads of the one worker (1: cost per core)")
    ap.add_argument("--resolution", type=int, default=512)
    ap.add_argument("--samples", type=int, default=64)
    ap.add_argument("--total-objects", type=int, default=800_000)
    ap.add_argument("--total-views", type=int, default=12)
    ap.add_argument("--gpu-core-equivalents", type=float, default=0.0,
                    help="how many of these CPU cores one GPU renders as fast as (0: no GPU projection)")
    args, _ = ap.parse_known_args()
    os.environ.setdefault("TK_NO_PROGRESS", "1")
    print(f"bench.render.cost on {platform.node()} ({os.cpu_count()} cores, {platform.processor() or 'cpu'}), "
          f"{time.strftime('%Y-%m-%d %H:%M')}: Cycles {args.resolution}², {args.samples} spp, denoise, mixed "
          f"lighting, 1 worker x {args.threads} thread(s)", flush=True)
    with tempfile.TemporaryDirectory(prefix="tk-bench-cost-") as t:
        src = inputs(Path(args.assets), args.objects, Path(t) / "in")
        m = measure(src, Path(t) / "out", args.views, args.threads, args.resolution, args.samples)
    core_s = m["worker_s_per_view"] * args.threads
    views = args.total_objects * args.total_views
    print(f"{m['views']} views: render call {m['render_s_per_view']:.1f} s/view, worker wall "
          f"{m['worker_s_per_view']:.1f} s/view with {args.threads} thread(s) = {core_s:.1f} core-s per view "
          f"(job wall {m['job_s']:.0f} s incl. Ray and bpy start)")
    print(f"projection: {args.total_objects:,} objects x {args.total_views} views = {views:,} views x "
          f"{core_s:.1f} core-s = {views * core_s / 3600:,.0f} core-hours")
    if args.gpu_core_equivalents:
        # only Blender's render call moves to the GPU; import, normalisation and encoding stay as they are
        gpu_s = m["render_s_per_view"] * args.threads / args.gpu_core_equivalents
        rest_s = m["worker_s_per_view"] - m["render_s_per_view"]
        print(f"  one GPU = {args.gpu_core_equivalents:g} of these cores: {gpu_s + rest_s:.2f} s per view "
              f"({gpu_s:.2f} render + {rest_s:.2f} import/encode) = {views * (gpu_s + rest_s) / 3600:,.0f} GPU-hours")


if __name__ == "__main__":
    main()
