"""One benchmark case in a fresh process (so its peak RSS is its own); prints one JSON line.

    python -m bench.model.cases --impl tk|official --case forward|render --size triposr [--checkpoint]
    python -m bench.model.cases --impl tk --case forward|render --device cuda [--dtype bf16] [--batches 1,8,32]

On CUDA (tk only) the record holds CUDA-synchronised times after warm-up and torch.cuda.max_memory_allocated
instead of peak RSS; `forward` times model.encode on a batch already on the GPU (no PIL preprocessing), once per
batch size in --batches, and `render` one patch x patch view + backward at chunk 8192 points.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import time

import numpy as np
import torch


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far (Linux ru_maxrss is in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def build(impl: str, size: str, official_src: str | None):
    """The model with random weights (seeded), in eval mode."""
    torch.manual_seed(0)
    if impl == "tk":
        from tk.model import TripoSR, load_model_config

        return TripoSR(load_model_config(size)).eval()
    from bench.model.official import build_official
    from tk.model.config import PRESETS_DIR

    return build_official(PRESETS_DIR / f"{size}.yaml", official_src).eval()


def case_forward(model, repeats: int) -> list[float]:
    """Image (512² uint8, preprocessing included) -> scene codes, no grad; the first call is warm-up."""
    img = (np.random.RandomState(0).rand(512, 512, 3) * 255).astype(np.uint8)
    times = []
    with torch.no_grad():
        for _ in range(repeats + 1):
            t = time.perf_counter()
            model([img], device="cpu")
            times.append(time.perf_counter() - t)
    return times[1:]


def case_render(model, impl: str, repeats: int, patch: int, checkpoint: bool) -> list[float]:
    """One patch x patch view of the front camera rendered from scene codes with grad, then backward."""
    from tk.geometry import INPUT_DISTANCE, INPUT_FOVY_DEG
    from tk.model.cameras import get_spherical_cameras

    cfg_out = model.post_processor.upsample.out_channels
    side = 2 * model.tokenizer.embeddings.shape[-1] if impl == "tk" else 2 * model.tokenizer.cfg.plane_size
    torch.manual_seed(1)
    codes = (torch.randn(3, cfg_out, side, side) * 0.5).requires_grad_(True)
    rays_o, rays_d = get_spherical_cameras(1, 0.0, INPUT_DISTANCE, INPUT_FOVY_DEG, patch, patch)
    model.renderer.set_chunk_size(8192)  # run.py's value; tk's chunks are the same 8192 points (64 rays)
    if impl == "tk":
        model.set_gradient_checkpointing(renderer=checkpoint)
    times = []
    for i in range(repeats + 1):
        # the first pass is a warm-up on an 8-pixel-high strip (cheap, not timed)
        o, d = (rays_o[0, :8], rays_d[0, :8]) if i == 0 else (rays_o[0], rays_d[0])
        model.zero_grad(set_to_none=True)
        codes.grad = None
        t = time.perf_counter()
        if impl == "tk":
            rgb = model.renderer.render_rays(model.decoder, codes, o, d)["rgb"]
        else:
            rgb = model.renderer(model.decoder, codes, o, d)
        rgb.mean().backward()
        times.append(time.perf_counter() - t)
    return times[1:]


def _cuda_times(fn, repeats: int, warmup: int = 2) -> list[float]:
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - t)
    return times


def cuda_forward(model, dtype: torch.dtype, batches: list[int], repeats: int) -> dict:
    """model.encode of B random 512² images already on the GPU, no grad, under autocast(dtype) (none for fp32)."""
    out = {}
    size = model.cfg.cond_image_size
    for b in batches:
        x = torch.rand(b, 3, size, size, device="cuda")

        def fwd() -> torch.Tensor:
            with torch.no_grad(), torch.autocast("cuda", dtype=dtype, enabled=dtype != torch.float32):
                return model.encode(x)

        torch.cuda.reset_peak_memory_stats()
        times = _cuda_times(fwd, repeats)
        med = statistics.median(times)
        out[str(b)] = {"times_s": times, "median_s": med, "images_per_s": b / med, "codes_dtype": str(fwd().dtype),
                       "peak_mib": torch.cuda.max_memory_allocated() / 2**20}
    return out


def cuda_render(model, dtype: torch.dtype, repeats: int, patch: int, checkpoint: bool) -> dict:
    """One patch x patch front view from random scene codes with grad, then backward, under autocast(dtype)."""
    from tk.geometry import INPUT_DISTANCE, INPUT_FOVY_DEG
    from tk.model.cameras import get_spherical_cameras

    side = 2 * model.tokenizer.embeddings.shape[-1]
    torch.manual_seed(1)
    codes = (torch.randn(3, model.post_processor.upsample.out_channels, side, side, device="cuda") * 0.5).requires_grad_(True)
    rays_o, rays_d = get_spherical_cameras(1, 0.0, INPUT_DISTANCE, INPUT_FOVY_DEG, patch, patch)
    o, d = rays_o[0].cuda(), rays_d[0].cuda()
    model.renderer.set_chunk_size(8192)
    model.set_gradient_checkpointing(renderer=checkpoint)

    def step() -> None:
        model.zero_grad(set_to_none=True)
        codes.grad = None
        with torch.autocast("cuda", dtype=dtype, enabled=dtype != torch.float32):
            rgb = model.renderer.render_rays(model.decoder, codes, o, d)["rgb"]
        rgb.float().mean().backward()

    torch.cuda.reset_peak_memory_stats()
    times = _cuda_times(step, repeats)
    return {"times_s": times, "median_s": statistics.median(times), "peak_mib": torch.cuda.max_memory_allocated() / 2**20}


def main_cuda(a: argparse.Namespace) -> None:
    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16}[a.dtype]
    torch.manual_seed(0)
    from tk.model import TripoSR, load_model_config

    model = TripoSR(load_model_config(a.size)).cuda().eval()
    built = torch.cuda.memory_allocated() / 2**20
    record = {"impl": "tk", "case": a.case, "device": torch.cuda.get_device_name(), "torch": torch.__version__,
              "dtype": a.dtype, "checkpoint": a.checkpoint, "built_mib": built}
    if a.case == "forward":
        record["batches"] = cuda_forward(model, dtype, [int(b) for b in a.batches.split(",")], a.repeats)
    else:
        record.update(cuda_render(model, dtype, a.repeats, a.patch, a.checkpoint))
    print(json.dumps(record))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--impl", choices=["tk", "official"], required=True)
    ap.add_argument("--case", choices=["forward", "render"], required=True)
    ap.add_argument("--size", default="triposr")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--patch", type=int, default=128)
    ap.add_argument("--checkpoint", action="store_true", help="tk only: checkpoint per ray chunk")
    ap.add_argument("--official-src", default=None)
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu", help="cuda: tk only, see the module docstring")
    ap.add_argument("--dtype", choices=["fp32", "bf16"], default="fp32", help="cuda only: autocast dtype")
    ap.add_argument("--batches", default="1", help="cuda forward only: comma-separated batch sizes")
    a = ap.parse_args()
    if a.device == "cuda":
        if a.impl != "tk":
            ap.error("--device cuda runs tk only (the official code is not installed on GPU machines)")
        main_cuda(a)
        return
    torch.set_num_threads(a.threads)
    model = build(a.impl, a.size, a.official_src)
    rss_built = peak_rss_mib()
    if a.case == "forward":
        times = case_forward(model, a.repeats)
    else:
        times = case_render(model, a.impl, a.repeats, a.patch, a.checkpoint)
    print(json.dumps({"impl": a.impl, "case": a.case, "checkpoint": a.checkpoint, "times_s": times,
                      "median_s": statistics.median(times), "rss_built_mib": rss_built,
                      "peak_rss_mib": peak_rss_mib(), "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
