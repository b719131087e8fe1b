"""One benchmark case per process (so peak memory is its own): `python -m bench.train.cases --case NAME`.

Prints one JSON line. Peak memory is the growth of the process's peak RSS over its RSS before the
first step (CPU), or torch.cuda.max_memory_allocated (GPU: weights and gradients included; the step is timed
CUDA-synchronised, the median of 3 after a warm-up step).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[2]
RENDERS = REPO / "tests" / "data" / "renders"


def _rss_mib() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def tiny_steps(steps: int) -> dict:
    """Full training steps of the tiny preset on the fixture (data, forward, LPIPS, backward, AdamW)."""
    from tk.train.config import load_config
    from tk.train.data import SampleSpec, make_loader
    from tk.train.loop import PatchRenderer, build_model
    from tk.train.losses import TrainingLoss
    from tk.train.optim import make_optimizer
    from tk.train.shards import ShardIndex

    cfg = load_config("tiny")
    model = build_model(cfg, None, None, 0)
    net, loss_fn, opt = PatchRenderer(model), TrainingLoss(cfg.loss), make_optimizer(model, cfg.optim)
    loader = iter(make_loader(ShardIndex(str(RENDERS)), SampleSpec(cfg.data, model.cfg.cond_image_size)))

    def step() -> None:
        b = next(loader)
        pred = net(b["input"], b["rays_o"], b["rays_d"])
        shape = b["rgb"].shape
        loss, _ = loss_fn(pred["rgb"].reshape(shape).flatten(0, 1), pred["opacity"].reshape(*shape[:-1], 1).flatten(0, 1),
                          b["rgb"].flatten(0, 1), b["mask"].flatten(0, 1))
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    step()  # warm-up
    base = _rss_mib()
    t = time.perf_counter()
    for _ in range(steps):
        step()
    dt = time.perf_counter() - t
    return {"case": "tiny", "steps": steps, "step_s": dt / steps, "samples_per_s": steps * cfg.data.batch_size / dt,
            "peak_step_mib": _peak_mib() - base, "rss_mib": base}


def cpu_loop(steps: int, keep: bool) -> dict:
    """`tk train --config cpu` on the fixture for `steps` steps, with or without keeping freed host memory (a process
    of its own each: mallopt cannot be undone). Steps/s from the run's own log, the first logged window left out."""
    import tempfile

    from tk.train import cpu_process, host_memory
    from tk.train.config import load_config
    from tk.train import loop
    from tk.train.config import TrainRun

    if not keep:
        host_memory.keep_freed_memory = lambda: False  # the glibc defaults
    cpu_process.tune()  # what `tk train` does at its start; train() itself leaves the process as it is
    with tempfile.TemporaryDirectory() as tmp:
        loop.run(TrainRun(config="cpu", data=RENDERS, out=Path(tmp) / "run", max_steps=steps))
        rows = [json.loads(line) for line in (Path(tmp) / "run" / "metrics.jsonl").read_text().splitlines()]
    rates = [r["samples_per_s"] for r in rows if "samples_per_s" in r][1:]
    batch = load_config("cpu").data.batch_size
    return {"case": "cpu-loop", "keep": keep, "steps": steps, "step_s": batch / (sum(rates) / len(rates)),
            "faults": resource.getrusage(resource.RUSAGE_SELF).ru_minflt}


def triposr_step(views: int, patch: int, ckpt: bool) -> dict:
    """One forward+backward of the official 419M architecture: 1 object, 512x512 input, `views` patches."""
    from tk.train.config import load_config, with_overrides
    from tk.train.loop import PatchRenderer, build_model

    cfg = with_overrides(load_config("triposr"), data={"patch_size": patch},
                         train={"checkpoint_tokenizer": ckpt, "checkpoint_backbone": ckpt, "checkpoint_renderer": ckpt})
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model = build_model(cfg, None, None, 0).to(device)
    net = PatchRenderer(model)
    n = patch * patch
    # Rays of the canonical camera's central patch: every ray crosses the radius-0.87 box, the worst case.
    from tk import geometry
    from tk.train import patches

    f = geometry.focal(geometry.INPUT_FOVY_DEG, 512)
    u, v = patches.patch_pixels(256 - patch // 2, 256 - patch // 2, patch)
    o, d = geometry.pixel_rays(geometry.canonical_c2w(), f, f, 256, 256, u, v)
    rays_o = torch.from_numpy(o).expand(1, views, n, 3).contiguous().to(device)
    rays_d = torch.from_numpy(d).expand(1, views, n, 3).contiguous().to(device)
    image = torch.rand(1, 3, 512, 512, device=device)
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32

    def step() -> None:
        model.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=dtype, enabled=device.type == "cuda"):
            pred = net(image, rays_o, rays_d)
        (pred["rgb"].float().mean() + pred["opacity"].float().mean()).backward()

    cuda = device.type == "cuda"
    if cuda:  # a GPU step is short: one warm-up step (kernel selection, allocator), then the median of 3, synchronised
        step()
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    base = _rss_mib()
    times = []
    for _ in range(3 if cuda else 1):  # on CPU one step takes minutes
        t = time.perf_counter()
        step()
        if cuda:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t)
    dt = sorted(times)[len(times) // 2]
    peak = torch.cuda.max_memory_allocated() / 2**20 if cuda else _peak_mib() - base
    return {"case": f"triposr-{views}v-{patch}px-{'ckpt' if ckpt else 'nockpt'}", "device": device.type,
            "step_s": dt, "samples_per_s": 1 / dt, "peak_mib": peak, "params_m": sum(p.numel() for p in model.parameters()) / 1e6}


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--case", required=True, choices=["tiny", "cpu-loop", "plan", "reads", "memory", "memory-of", "loader",
                                                    "triposr"])
    ap.add_argument("--data", default="", help="memory-of: the folder to measure")
    ap.add_argument("--objects", type=int, default=640, help="memory: synthetic objects")
    ap.add_argument("--shards", type=int, default=20, help="reads: synthetic shards of 64 objects")
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--workers", type=int, default=0)
    ap.add_argument("--views", type=int, default=1)
    ap.add_argument("--patch", type=int, default=128)
    ap.add_argument("--ckpt", action="store_true")
    ap.add_argument("--no-keep", action="store_true", help="cpu-loop: glibc's default freeing of host memory")
    a = ap.parse_args()
    os.environ.setdefault("TORCH_HOME", str(REPO / ".cache" / "torch"))
    if a.case == "tiny":
        out = tiny_steps(a.steps)
    elif a.case == "cpu-loop":
        out = cpu_loop(a.steps, keep=not a.no_keep)
    elif a.case in ("plan", "reads", "memory", "memory-of", "loader"):
        from bench.train import loader

        out = {"plan": lambda: loader.plan(), "reads": lambda: loader.reads(a.shards),
               "memory": lambda: loader.memory(a.objects),
               "memory-of": lambda: loader.memory_of(a.data, a.steps), "loader": lambda: loader.throughput(a.steps, a.workers)}[a.case]()
    else:
        out = triposr_step(a.views, a.patch, a.ckpt)
    print(json.dumps(out), flush=True)
