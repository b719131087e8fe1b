"""Trainer benchmark: `python -m bench.train [--loader] [--triposr [--nockpt-patch 64]]`. Ratios are against baselines of the same run.

- tiny: samples/s and peak step memory of full training steps on the fixture (CPU);
- cpu-loop: the `cpu` preset's training loop on the fixture, keeping freed host memory (train/host_memory.py) against
  glibc's defaults, each in a process of its own;
- loader reads (issue 22): whole-shard reads per sample over one epoch at 100 shards x 64 objects, the loader before
  against now, each against the ideal (every shard once per epoch); one real epoch of the `cpu` loader on a synthetic
  folder: row groups and bytes read per sample against one object's share of the shards (target <= 2x); memory of
  the training index and loader at 640 and 10,000 synthetic objects (bench/train/loader.py);
- loader: the `cpu` preset's loader alone (no model), samples/s with 0 and 1 workers, against the cpu step's
  consumption (target >= 10x);
- --triposr: the official 419M architecture, one object, 512x512 input, 128x128 patches: one view
  without checkpointing against one and four views with checkpointing (peak memory, seconds per step).
  Needs ~16 GiB free RAM on CPU; on a GPU it runs in bf16.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys


def load_batch() -> int:
    from tk.train.config import load_config

    return load_config("cpu").data.batch_size


def run(*args: str) -> dict:
    env = {**os.environ, "TK_NO_PROGRESS": "1"}
    out = subprocess.run([sys.executable, "-W", "ignore", "-m", "bench.train.cases", *args], env=env,
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        return {"case": " ".join(args), "error": out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "failed"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def loader_reads() -> None:
    """Reads per sample (simulated at 100 x 64 and measured), and memory against the number of objects."""
    p = run("--case", "plan")
    if "error" in p:
        print(f"loader plan: {p['error']}")
    else:
        print(f"loader reads, one epoch at {p['shards']} shards x {p['objects_per_shard']} objects, batches of 4 "
              f"(ideal {p['ideal_reads_per_sample']:.4f} whole-shard reads per sample):")
        rows = p["rows"]
        for before, now in zip(rows[::2], rows[1::2]):
            print(f"  shuffle_buffer {before['shuffle_buffer']}: before {before['reads_per_sample']:.4f} per sample "
                  f"({before['x_ideal']:.1f}x ideal, {before['one_shard_batches']:.1%} one-shard batches); now "
                  f"{now['reads_per_sample']:.4f} ({now['x_ideal']:.2f}x, {now['held']} chunks held, "
                  f"{now['one_shard_batches']:.1%} one-shard batches) ({'ok' if now['x_ideal'] <= 1.2 else 'OVER 1.2x'})")
    r = run("--case", "reads", "--shards", "20")
    if "error" in r:
        print(f"loader reads: {r['error']}")
    else:
        print(f"loader reads, one epoch of the cpu loader on {r['objects']} synthetic objects in {r['shards']} shards: "
              f"{r['row_groups_per_sample']:.4f} row groups per sample ({r['row_groups_per_sample'] / r['ideal_per_sample']:.2f}x "
              f"ideal), {r['bytes_per_sample'] / 1024:.1f} KiB read per sample = {r['x_share']:.2f}x one object's share "
              f"of the shards ({r['object_share_bytes'] / 1024:.1f} KiB) ({'ok' if r['x_share'] <= 2 else 'OVER 2x'})")
    small, large = (run("--case", "memory", "--objects", str(n)) for n in (640, 10_000))
    if "error" in small or "error" in large:
        print(f"loader memory: {small.get('error') or large.get('error')}")
    else:
        print(f"loader memory, {small['objects']} -> {large['objects']} objects: training index {small['index_mib']:.1f} -> "
              f"{large['index_mib']:.1f} MiB, loader after 256 samples +{small['loader_mib']:.1f} -> +{large['loader_mib']:.1f} "
              f"MiB; an index keeping every object (evaluation) {small['objects_index_mib']:.1f} -> "
              f"{large['objects_index_mib']:.1f} MiB")


def main() -> int:
    print(f"bench.train on {os.cpu_count()} CPU(s); absolute times depend on the machine and its load")
    loader_only = "--loader" in sys.argv  # the loader's rows and the cpu step they are compared with
    if not loader_only:
        tiny = run("--case", "tiny", "--steps", "10")
        print(f"tiny: {tiny['samples_per_s']:.2f} samples/s ({tiny['step_s']:.3f} s/step), "
              f"peak step memory {tiny['peak_step_mib']:.0f} MiB over {tiny['rss_mib']:.0f} MiB")
    kept = run("--case", "cpu-loop", "--steps", "200")
    if "error" not in kept:
        kept["samples_per_s"] = load_batch() / kept["step_s"]
    default = run("--case", "cpu-loop", "--steps", "200", "--no-keep") if not loader_only else {"error": "skipped"}
    if "error" not in kept and "error" not in default:
        print(f"cpu loop: {kept['step_s'] * 1000:.0f} ms/step keeping freed host memory, {default['step_s'] * 1000:.0f} "
              f"with glibc's defaults: {default['step_s'] / kept['step_s']:.2f}x faster; page faults "
              f"{kept['faults']} vs {default['faults']}")
    elif "error" not in kept:
        print(f"cpu loop: {kept['step_s'] * 1000:.0f} ms/step ({kept['samples_per_s']:.1f} samples/s)")
    else:
        print(f"cpu loop: {kept.get('error') or default.get('error')}")
    loader_reads()
    step_rate = kept["samples_per_s"] if "error" not in kept else None
    for workers in (0, 1):
        ld = run("--case", "loader", "--steps", "400", "--workers", str(workers))
        if "error" in ld or step_rate is None:
            print(f"loader ({workers} workers): {ld.get('error') or 'no cpu step rate to compare with'}")
            continue
        ratio = ld["samples_per_s"] / step_rate
        print(f"loader alone, cpu preset ({workers} workers): {ld['samples_per_s']:.0f} samples/s = {ratio:.1f}x the "
              f"cpu step's consumption ({step_rate:.1f} samples/s), wall clock ({'ok' if ratio >= 10 else 'BELOW 10x'})")
        if ld.get("cpu_s_per_sample"):
            # the loader's CPU time on one thread, which a loaded machine inflates far less than its wall time: the
            # rate one loader process on a free core would sustain (the step's own CPU time is no measure: its
            # intra-op threads spin while they wait)
            cpu_ratio = 1 / ld["cpu_s_per_sample"] / step_rate
            print(f"loader alone, CPU time: {ld['cpu_s_per_sample'] * 1000:.2f} ms per sample on one thread = "
                  f"{1 / ld['cpu_s_per_sample']:.0f} samples/s on a free core = {cpu_ratio:.1f}x the cpu step's "
                  f"consumption ({'ok' if cpu_ratio >= 10 else 'BELOW 10x'})")
    if "--triposr" in sys.argv:
        # Without checkpointing one 128x128 view holds ~11 GiB of activations on CPU; on a small shared machine
        # pass --nockpt-patch 64 to measure that baseline on a quarter of the rays (memory grows with the rays).
        patch = int(sys.argv[sys.argv.index("--nockpt-patch") + 1]) if "--nockpt-patch" in sys.argv else 128
        scale = (128 / patch) ** 2
        base = run("--case", "triposr", "--views", "1", "--patch", str(patch))
        print(json.dumps(base))
        if "error" not in base and scale != 1:
            print(f"no checkpointing, 1 view at {patch}px: {base['peak_mib'] / 1024:.1f} GiB; "
                  f"activations scale with rays, so ~{base['peak_mib'] * scale / 1024:.1f} GiB at 128px (estimate)")
        for views in (1, 4):
            r = run("--case", "triposr", "--views", str(views), "--ckpt")
            print(json.dumps(r))
            if "error" not in r and "error" not in base:
                print(f"triposr {views} view(s) of 128px with checkpointing: peak {r['peak_mib'] / 1024:.1f} GiB = "
                      f"{r['peak_mib'] / (base['peak_mib'] * scale):.2f}x one 128px view without; "
                      f"{r['step_s']:.1f} s/step")
            if base.get("device") == "cuda" and views == 4 and "error" not in r:
                # a GPU has the memory for four views without checkpointing: the time the recompute costs
                n4 = run("--case", "triposr", "--views", "4", "--patch", "128")
                print(json.dumps(n4))
                if "error" not in n4:
                    print(f"triposr 4 views of 128px: checkpointing / none: time {r['step_s'] / n4['step_s']:.2f}x, "
                          f"peak memory {r['peak_mib'] / n4['peak_mib']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
