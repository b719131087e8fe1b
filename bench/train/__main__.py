"""Trainer benchmark: `python -m bench.train [--triposr]`. Ratios are against baselines of the same run.

- tiny: samples/s and peak step memory of full training steps on the fixture (CPU);
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
    for workers in (0, 2):
        ld = run("--case", "loader", "--steps", "40", "--workers", str(workers))
        ratio = ld["samples_per_s"] / tiny["samples_per_s"]
        print(f"loader ({workers} workers): {ld['samples_per_s']:.1f} samples/s = {ratio:.1f}x the tiny step's "
              f"consumption ({'ok' if ratio >= 5 else 'BELOW 5x'})")
    if "--triposr" in sys.argv:
        base = run("--case", "triposr", "--views", "1")
        print(json.dumps(base))
        for views in (1, 4):
            r = run("--case", "triposr", "--views", str(views), "--ckpt")
            print(json.dumps(r))
            if "error" not in r and "error" not in base:
                print(f"triposr {views} view(s) with checkpointing: peak {r['peak_mib'] / 1024:.1f} GiB = "
                      f"{r['peak_mib'] / base['peak_mib']:.2f}x one view without "
                      f"({base['peak_mib'] / 1024:.1f} GiB); step {r['step_s'] / base['step_s']:.2f}x its time")
    return 0


if __name__ == "__main__":
    sys.exit(main())
