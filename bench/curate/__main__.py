"""Benchmark: tk curate's XL path against idiomatic pandas on the same synthetic annotations.

    python -m bench.curate --rows 10000000 [--work DIR] [--sides pandas,tk,floor,reference]

Sides: `pandas` (the idiomatic peer script, the baseline), `tk` (tk's curate), and two single DuckDB
queries that bound what any DuckDB path can do (bench/curate/duckdb_floor.py): `reference` (the
issue's query, which computes no uid) and `floor` (the same plus the contract's sha256 uid).
Each side runs in its own subprocess (so peak memory is its own: ru_maxrss of that process, DuckDB's
native memory included) on the same Parquet files; prints rows/s, peak memory and the ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

SIDES = ("pandas", "tk", "floor", "reference")


def side(name: str, xl_dir: Path, out: Path) -> dict:
    """Run one side in this process; return seconds, peak RSS and rows kept."""
    t0 = time.perf_counter()
    if name == "pandas":
        from bench.curate.pandas_baseline import run

        kept = run(xl_dir, out)
    elif name in ("floor", "reference"):
        from bench.curate.duckdb_floor import run as floor_run

        kept = floor_run(xl_dir, out, with_uid=name == "floor")
    else:
        from tk.curate.pipeline import CurateConfig, run as curate

        kept = curate(CurateConfig(source="objaverse-xl", xl_dir=xl_dir, out=out, no_download=True))["kept"]
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"seconds": time.perf_counter() - t0, "cpu_seconds": usage.ru_utime + usage.ru_stime,
            "peak_mb": usage.ru_maxrss / 1024, "kept": kept}


def run_side(name: str, xl_dir: Path, out: Path) -> dict:
    shutil.rmtree(out, ignore_errors=True)
    cmd = [sys.executable, "-m", "bench.curate", "--side", name, "--xl-dir", str(xl_dir), "--out", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=os.environ | {"TK_NO_PROGRESS": "1"})
    if proc.returncode != 0:
        raise SystemExit(f"{name} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--work", type=Path, default=Path("/tmp/tk-bench-curate"))
    ap.add_argument("--sides", default="pandas,tk,floor,reference", help="which sides to run (pandas needs ~1.5 GB per million rows)")
    ap.add_argument("--side", choices=SIDES, help=argparse.SUPPRESS)
    ap.add_argument("--xl-dir", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.side:
        print(json.dumps(side(args.side, args.xl_dir, args.out)))
        return
    from bench.curate.data import generate

    xl_dir = args.work / f"xl-{args.rows}"
    if not (xl_dir / "github" / "github.parquet").exists():
        t = time.perf_counter()
        generate(xl_dir, args.rows)
        print(f"generated {args.rows} rows in {time.perf_counter() - t:.1f}s")
    size = sum(p.stat().st_size for p in xl_dir.glob("*/*.parquet")) / 2**30
    print(f"input: {args.rows:,} XL rows, {size:.2f} GiB Parquet; {os.cpu_count()} CPUs")
    results = {}
    unknown = set(args.sides.split(",")) - set(SIDES)
    if unknown:
        raise SystemExit(f"--sides: unknown {sorted(unknown)}; choose from {', '.join(SIDES)}")
    for name in [s for s in SIDES if s in args.sides.split(",")]:
        results[name] = r = run_side(name, xl_dir, args.work / f"out-{name}")
        print(f"{name:>9}: {r['seconds']:7.1f} s wall ({r['cpu_seconds']:6.1f} s CPU)  {args.rows / r['seconds']:>12,.0f} rows/s  "
              f"peak {r['peak_mb']:8,.0f} MB  kept {r['kept']:,}", flush=True)
    (args.work / f"results-{args.rows}.json").write_text(json.dumps(results, indent=2))
    if "pandas" not in results:
        return
    p = results["pandas"]
    for name, r in results.items():
        if name == "pandas":
            continue
        if p["kept"] != r["kept"]:
            raise SystemExit(f"the sides disagree: pandas kept {p['kept']}, {name} kept {r['kept']}")
        print(f"{name:>9} vs pandas: {p['seconds'] / r['seconds']:.1f}x faster (wall), {p['cpu_seconds'] / r['cpu_seconds']:.1f}x less CPU, "
              f"{r['peak_mb'] / p['peak_mb']:.2f}x the peak memory")
    if "tk" in results and "floor" in results:
        print(f"tk takes {results['tk']['seconds'] / results['floor']['seconds']:.2f}x the floor's time "
              "(the floor writes the same manifest with one query and no checks, reasons per rule or report)")
    load = os.getloadavg()[0]
    print(f"load average during the run: {load:.1f} on {os.cpu_count()} CPUs (shared machine: compare ratios, not seconds)")


if __name__ == "__main__":
    main()
