"""Run every stage benchmark in turn: `python -m bench` (slow; each stage also runs alone)."""

import importlib.util
import subprocess
import sys

STAGES = ("curate", "render", "model", "train")

if __name__ == "__main__":
    failed = []
    for stage in STAGES:
        if importlib.util.find_spec(f"bench.{stage}") is None:
            print(f"bench.{stage}: not present, skipped")
            continue
        print(f"== bench.{stage} ==", flush=True)
        if subprocess.call([sys.executable, "-m", f"bench.{stage}", *sys.argv[1:]]) != 0:
            failed.append(stage)
    sys.exit(1 if failed else 0)
