"""Trainer benchmark: `python -m bench.train [--triposr [--nockpt-patch 64]]`. Ratios are against baselines of the same run.

- tiny: samples/s and peak step memory of full training steps on the fixture (CPU);
- cpu-loop: the `cpu` preset's training loop on the fixture, keeping freed host memory (train/host_memory.py) against
  glibc's defaults, each in a process of its own;
- loader: the tiny loader's samples/s with 0 and 2 workers against the step's consumption (target >= 5x);
- --triposr: the official 419M architecture, one object, 512x512 input, 128x128 patches: one view
  without checkpointing against one and four views with checkpointing (peak memory, seconds per step).
  Needs ~16 GiB free RAM on CPU; on a GPU it runs in bf16.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys


def run(*args: str) -> dict:
    env = {**os.environ, "TK_NO_PROGRESS": "1"}
    out = subprocess.run([sys.executable, "-W", "ignore", "-m", "bench.train.cases", *args], env=env,
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        return {"case": " ".join(args), "error": out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "failed"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    print(f"bench.train on {os.cpu_count()} CPU(s); absolute times depend on the machine and its load")
    tiny = run("--case", "tiny", "--steps", "10")
    print(f"tiny: {tiny['samples_per_s']:.2f} samples/s ({tiny['step_s']:.3f} s/step), "
          f"peak step memory {tiny['peak_step_mib']:.0f} MiB over {tiny['rss_mib']:.0f} MiB")
    kept, default = (run("--case", "cpu-loop", "--steps", "200", *flag) for flag in ((), ("--no-keep",)))
    if "error" not in kept and "error" not in default:
        print(f"cpu loop: {kept['step_s'] * 1000:.0f} ms/step keeping freed host memory, {default['step_s'] * 1000:.0f} "
              f"with glibc's defaults: {default['step_s'] / kept['step_s']:.2f}x faster; page faults "
              f"{kept['faults']} vs {default['faults']}")
    else:
        print(f"cpu loop: {kept.get('error') or default.get('error')}")
    for workers in (0, 2):
        ld = run("--case", "loader", "--steps", "40", "--workers", str(workers))
        ratio = ld["samples_per_s"] / tiny["samples_per_s"]
        print(f"loader ({workers} workers): {ld['samples_per_s']:.1f} samples/s = {ratio:.1f}x the tiny step's "
              f"consumption ({'ok' if ratio >= 5 else 'BELOW 5x'})")
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
