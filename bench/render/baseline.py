"""The common baseline: one fresh Python+bpy process per object (what the objaverse-xl render script does),
with the same job (cameras, lights, engine settings) as tk's pool, writing its images to files.

Run as `python -m bench.render.baseline JOB.pkl OUTDIR` by `run_baseline`."""

from __future__ import annotations

import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def run_baseline(jobs: list[dict[str, Any]], timeout: float = 600.0) -> tuple[float, int]:
    """Render each job in its own new process, one after another: (wall seconds, objects ok)."""
    ok = 0
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="tk-bench-baseline-") as tmp:
        for i, job in enumerate(jobs):
            job_path = Path(tmp) / f"job{i}.pkl"
            job_path.write_bytes(pickle.dumps(job))
            r = subprocess.run([sys.executable, "-m", "bench.render.baseline", str(job_path), str(Path(tmp) / f"o{i}")],
                               capture_output=True, timeout=timeout)
            ok += r.returncode == 0
    return time.perf_counter() - t0, ok


def _main(job_path: str, out_dir: str) -> int:
    import bpy  # noqa: F401  (the per-object start-up cost this baseline pays)

    from tk.render.worker import encode_result, render_object

    result = encode_result(render_object(pickle.loads(Path(job_path).read_bytes())))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for v in result["views"]:
        (out / f"{v['view']:03d}.png").write_bytes(v["rgba"])
        if v["depth"] is not None:
            (out / f"{v['view']:03d}.depth").write_bytes(v["depth"])
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1], sys.argv[2]))
