"""TripoSR benchmark: tk against the official implementation, same run, same threads, fresh process per case.

    python -m bench.model [--size triposr] [--repeats 1] [--pairs 3] [--threads 2] [--patch 128] [--skip-official]

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
    args = ap.parse_args()
    os.environ.setdefault("TK_NO_PROGRESS", "1")
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
