"""`python -m bench.render.cost [--objects 3] [--views 2] [--threads 1] [--assets DIR]`: what the real job costs.

Renders a few real objects at `tk render`'s defaults (Cycles 512², 64 spp, denoise, `mixed` lighting) in one
persistent Blender worker of `--threads` threads (the process a Ray actor runs), and prints the cost per view
in core-seconds: the worker's CPU time (user + system, from /proc), which a machine shared with other jobs
does not inflate the way it inflates wall time. Also the share of the worker's wall time spent in Blender's
render call. Then projects core-hours for `--total-objects` x `--total-views` (default 800K x 12), and
GPU-hours when `--gpu-core-equivalents` says how many of these cores one GPU renders as fast as.
Objects: bench/get_assets.sh's set when `--assets` holds it, else the repo's manifests/sample/objects.
"""

from __future__ import annotations

import argparse
import os
import platform
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


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a running process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(src: Path, views: int, threads: int, resolution: int, samples: int) -> dict:
    """Render every object of `src` in one worker; CPU and wall seconds per view."""
    from tk.render.inputs import from_folder
    from tk.render.jobs import make_job
    from tk.render.pipeline import RenderConfig
    from tk.blender.process import WorkerProcess

    cfg = RenderConfig(out=str(src.parent / "unused"), input_dir=str(src), views=views, threads=threads,
                       resolution=resolution, samples=samples)
    worker = WorkerProcess(threads=threads)
    totals = {"views": 0, "cpu": 0.0, "wall": 0.0, "render": 0.0}
    try:
        worker.start()  # bpy import and start-up are not per-view costs: a worker renders thousands of objects
        assert worker.pid is not None
        for obj in from_folder(str(src)):
            cpu0, t0 = cpu_seconds(worker.pid), time.perf_counter()
            result = worker.run(make_job(obj, cfg, cfg.hdri_paths()), timeout=24 * 3600)
            cpu, wall = cpu_seconds(worker.pid) - cpu0, time.perf_counter() - t0
            if not result["ok"]:
                print(f"  {obj.local_path}: failed ({result['error']}), not counted")
                continue
            print(f"  {obj.local_path}: {views} views, {cpu:.1f} CPU s, {wall:.1f} s wall, "
                  f"render call {result['seconds'].get('render', 0.0):.1f} s", flush=True)
            totals["views"] += views
            totals["cpu"] += cpu
            totals["wall"] += wall
            totals["render"] += result["seconds"].get("render", 0.0)
    finally:
        worker.close()
    if not totals["views"]:
        raise SystemExit("no object rendered")
    return totals


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--assets", default="/tmp/assets")
    ap.add_argument("--objects", type=int, default=3)
    ap.add_argument("--views", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1, help="threads of the worker (1: cost of one core)")
    ap.add_argument("--resolution", type=int, default=512)
    ap.add_argument("--samples", type=int, default=64)
    ap.add_argument("--total-objects", type=int, default=800_000)
    ap.add_argument("--total-views", type=int, default=12)
    ap.add_argument("--gpu-core-equivalents", type=float, default=0.0,
                    help="how many of these CPU cores one GPU renders as fast as (0: no GPU projection)")
    args, _ = ap.parse_known_args()
    os.environ.setdefault("TK_NO_PROGRESS", "1")
    print(f"bench.render.cost on {platform.node()} ({os.cpu_count()} cores), {time.strftime('%Y-%m-%d %H:%M')}: "
          f"Cycles {args.resolution}², {args.samples} spp, denoise, mixed lighting, 1 worker x {args.threads} "
          f"thread(s)", flush=True)
    with tempfile.TemporaryDirectory(prefix="tk-bench-cost-") as t:
        m = measure(inputs(Path(args.assets), args.objects, Path(t) / "in"), args.views, args.threads,
                    args.resolution, args.samples)
    core_s, n = m["cpu"] / m["views"], m["views"]
    views = args.total_objects * args.total_views
    print(f"{n} views: {core_s:.1f} core-s per view (CPU time), {m['wall'] / n:.1f} s wall per view, "
          f"{100 * m['render'] / m['wall']:.1f}% of the wall time in Blender's render call")
    print(f"projection: {args.total_objects:,} objects x {args.total_views} views = {views:,} views x "
          f"{core_s:.1f} core-s = {views * core_s / 3600:,.0f} core-hours")
    if args.gpu_core_equivalents:
        # only the render call moves to the GPU; import, normalisation and encoding stay on a CPU core
        render_core_s = core_s * m["render"] / m["wall"]
        gpu_s = render_core_s / args.gpu_core_equivalents + (core_s - render_core_s)
        print(f"  one GPU = {args.gpu_core_equivalents:g} of these cores: {gpu_s:.2f} s per view = "
              f"{views * gpu_s / 3600:,.0f} GPU-hours")


if __name__ == "__main__":
    main()
