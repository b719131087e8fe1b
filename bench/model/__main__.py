"""TripoSR benchmark: tk against the official implementation, same run, same threads, fresh process per case.

    python -m bench.model [--size triposr] [--repeats 1] [--pairs 3] [--threads 2] [--patch 128] [--skip-official]
    python -m bench.model --device cuda [--size triposr] [--repeats 10] [--batches 1,8,32]

Cases: `forward` (512² uint8 image -> scene codes, preprocessing included, no grad) and `render`
(one patch x patch view from scene codes with grad, then backward; renderer chunk 8192 points). tk's
render runs twice: without and with per-ray-chunk gradient checkpointing.
Peak memory: each case in a fresh process (peak RSS). Time: `bench.model.paired` alternates the two
implementations call by call in one process with the same weights (robust on a shared machine) and reports
the median per-pair ratio. Needs the official source and transformers 4.35 (see bench/model/official.py).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys


def run_case(impl: str, case: str, args: argparse.Namespace, checkpoint: bool = False) -> dict:
    """Run one case in a fresh interpreter and return its JSON record."""
    cmd = [sys.executable, "-W", "ignore", "-m", "bench.model.cases", "--impl", impl, "--case", case,
           "--size", args.size, "--repeats", str(args.repeats), "--threads", str(args.threads),
           "--patch", str(args.patch)]
    if checkpoint:
        cmd.append("--checkpoint")
    if args.official_src:
        cmd += ["--official-src", args.official_src]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"bench.model: {impl} {case} failed: {(proc.stderr or proc.stdout).strip().splitlines()[-1]}")
    record = json.loads(proc.stdout.strip().splitlines()[-1])
    label = f"{impl}{' +ckpt' if checkpoint else ''}"
    print(f"  {case:8s} {label:12s} median {record['median_s']:7.2f} s  peak RSS {record['peak_rss_mib'] / 1024:6.2f} GiB"
          f"  (built {record['rss_built_mib'] / 1024:.2f} GiB; runs {', '.join(f'{t:.2f}' for t in record['times_s'])})",
          flush=True)
    return record


def run_cuda_case(case: str, dtype: str, args: argparse.Namespace, checkpoint: bool = False) -> dict:
    """One tk case on the GPU in a fresh interpreter; its JSON record."""
    cmd = [sys.executable, "-W", "ignore", "-m", "bench.model.cases", "--impl", "tk", "--case", case, "--device", "cuda",
           "--dtype", dtype, "--size", args.size, "--repeats", str(args.repeats), "--patch", str(args.patch),
           "--batches", args.batches]
    if checkpoint:
        cmd.append("--checkpoint")
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"bench.model: cuda {case} {dtype} failed: {(proc.stderr or proc.stdout).strip().splitlines()[-1]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main_cuda(args: argparse.Namespace) -> None:
    """tk alone on one GPU: forward images/s in fp32 and bf16 autocast per batch size; render+backward with and
    without per-ray-chunk checkpointing in both precisions. Ratios against the same run's baselines."""
    fwd = {dt: run_cuda_case("forward", dt, args) for dt in ("fp32", "bf16")}
    print(f"  device {fwd['fp32']['device']}, torch {fwd['fp32']['torch']}, model {fwd['fp32']['built_mib'] / 1024:.2f} GiB")
    print("forward (512² images on the GPU -> scene codes, no grad; median of the timed calls):")
    for b in args.batches.split(","):
        f32, b16 = fwd["fp32"]["batches"][b], fwd["bf16"]["batches"][b]
        print(f"  batch {b:>3s}: fp32 {f32['images_per_s']:7.1f} img/s ({f32['median_s'] * 1e3:7.1f} ms, peak "
              f"{f32['peak_mib'] / 1024:5.2f} GiB)  bf16 {b16['images_per_s']:7.1f} img/s ({b16['median_s'] * 1e3:7.1f} ms, "
              f"peak {b16['peak_mib'] / 1024:5.2f} GiB)  bf16/fp32 throughput {b16['images_per_s'] / f32['images_per_s']:.2f}x")
    print(f"render {args.patch}² view + backward from scene codes (chunk 8192 points):")
    ren = {}
    for dt in ("fp32", "bf16"):
        for ck in (False, True):
            r = ren[(dt, ck)] = run_cuda_case("render", dt, args, checkpoint=ck)
            print(f"  {dt} {'ckpt  ' if ck else 'nockpt'}: {r['median_s'] * 1e3:7.1f} ms, peak {r['peak_mib'] / 1024:5.2f} GiB",
                  flush=True)
    for dt in ("fp32", "bf16"):
        n, c = ren[(dt, False)], ren[(dt, True)]
        print(f"  {dt}: checkpointing / none: time {c['median_s'] / n['median_s']:.2f}x, peak memory {c['peak_mib'] / n['peak_mib']:.2f}x")
    for ck in (False, True):
        f, b = ren[("fp32", ck)], ren[("bf16", ck)]
        print(f"  {'ckpt' if ck else 'nockpt'}: bf16 / fp32 time {b['median_s'] / f['median_s']:.2f}x, peak memory {b['peak_mib'] / f['peak_mib']:.2f}x")


def ratio(a: dict, b: dict, key: str) -> float:
    return a[key] / b[key]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", default="triposr", help="model preset: tiny, small, triposr")
    ap.add_argument("--repeats", type=int, default=1, help="timed calls per fresh-process (memory) case")
    ap.add_argument("--pairs", type=int, default=3, help="alternated call pairs of the paired timing (0: skip)")
    ap.add_argument("--paired-patch", type=int, default=64, help="render patch side of the paired timing")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--patch", type=int, default=128, help="render case: patch side in pixels")
    ap.add_argument("--skip-official", action="store_true", help="tk numbers only (no baseline, no ratios)")
    ap.add_argument("--official-src", default=None, help="folder holding the official tsr/ package")
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu", help="cuda: tk alone on the GPU (fp32 vs bf16)")
    ap.add_argument("--batches", default="1,8,32", help="cuda forward: batch sizes")
    args = ap.parse_args()
    os.environ.setdefault("TK_NO_PROGRESS", "1")
    if args.device == "cuda":
        if args.repeats == 1:
            args.repeats = 10  # GPU calls are short: time 10 after 2 warm-up calls
        print(f"bench.model --device cuda: size={args.size} repeats={args.repeats} patch={args.patch}² "
              f"{datetime.datetime.now().isoformat(timespec='minutes')}", flush=True)
        main_cuda(args)
        return
    print(f"bench.model: size={args.size} threads={args.threads} repeats={args.repeats} patch={args.patch}² "
          f"{platform.processor() or platform.machine()} {os.cpu_count()} cpus, "
          f"{datetime.datetime.now().isoformat(timespec='minutes')}", flush=True)
    res = {}
    for case in ("forward", "render"):
        if not args.skip_official:
            res[("official", case)] = run_case("official", case, args)
        res[("tk", case)] = run_case("tk", case, args)
        if case == "render":
            res[("tk+ckpt", case)] = run_case("tk", case, args, checkpoint=True)
    if args.skip_official:
        return
    print("peak memory ratios (tk / official; < 1 is better):")
    for case, label in (("forward", "tk"), ("render", "tk"), ("render", "tk+ckpt")):
        a, b = res[(label, case)], res[("official", case)]
        print(f"  {case:8s} {label:8s} {ratio(a, b, 'peak_rss_mib'):5.2f}x")
    nock, ck = res[("tk", "render")], res[("tk+ckpt", "render")]
    print(f"  render: per-ray-chunk checkpointing peak / no checkpointing = {ratio(ck, nock, 'peak_rss_mib'):.2f} "
          "(target <= 0.33)")
    if args.pairs:
        print(f"paired timing ({args.pairs} alternated pairs, same weights, render at {args.paired_patch}²):", flush=True)
        cmd = [sys.executable, "-W", "ignore", "-m", "bench.model.paired", "--size", args.size, "--pairs",
               str(args.pairs), "--threads", str(args.threads), "--patch", str(args.paired_patch)]
        if args.official_src:
            cmd += ["--official-src", args.official_src]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            sys.exit(f"bench.model: paired timing failed: {(proc.stderr or proc.stdout).strip().splitlines()[-1]}")
        *lines, last = proc.stdout.rstrip().splitlines()
        print("\n".join(lines))
        r = json.loads(last)
        print(f"time ratios (tk / official, median of pairs): forward {r['forward_ratio_median']:.2f}x, "
              f"render+backward {r['render_ratio_median']:.2f}x, with checkpointing {r['render_ckpt_ratio_median']:.2f}x; "
              f"scene codes max |tk - official| = {r['scene_codes_max_abs_diff']:.2e}")


if __name__ == "__main__":
    main()
