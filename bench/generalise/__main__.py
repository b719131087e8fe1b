"""bench/generalise: does a model trained with tk reconstruct objects it never saw? The whole path on a real collection.

    python -m bench.generalise --out OUT [--config generalise] [--seeds 0,1,2] [--sizes 100,300,all]
                               [--max-steps N] [--test] [--docs docs/train.md] [--ship models/sweethome3d-cpu]

1. `tk fetch sweethome3d --out OUT/collection`: Debian's sweethome3d-furniture (820 textured OBJ models).
2. `tk release build manifests/sweethome3d-release.yaml --source-root OUT --out OUT/release`: curate (cc-by
   policy, split 80/10/10 by object), render (16 views at 64², one lighting draw per object), verify, attribute.
3. `tk train --config generalise` on the release's train split (views 12-15 held out of training), once per seed
   and training-set size (`data.max_objects`; 100 lie inside 300). The seed-0 run on every object is OUT/run.
4. `tk eval --baseline retrieval` of each run on the validation split (every choice is made there) and, with
   `--test`, on the test split (report once), plus the seed-0 run on held-out views of its training objects
   (the generalisation gap), all on views 12-15 from an input among views 0-11.
Writes OUT/generalise.json, OUT/generalise.md, OUT/unseen.png (input | prediction | truth, test objects of several
categories) and OUT/curve.png (scores against training objects), and with `--docs FILE` replaces the block between
`<!-- bench.generalise:begin -->` and `<!-- bench.generalise:end -->` in FILE with the table.

Every stage is cached and resumable: the collection and release are reused, `tk train --resume` continues a run, and
an eval is redone only when its checkpoint's bytes, its command or the code changed. A run folder records the sha256
of its resolved config, of the release's SHA256SUMS and of the training code (bench/keys.py), and a rerun with another
config, other renders or changed code is refused instead of reusing or resuming it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from bench.keys import code_fingerprint

REPO = Path(__file__).resolve().parents[2]
SPEC = REPO / "manifests" / "sweethome3d-release.yaml"
EVAL_MESH_RESOLUTION = 96  # a 32-texel plane's surface: 3 cells a texel (bench/fit uses the same)
GAP_OBJECTS = 86  # training objects scored for the gap: as many as the test split holds


def tk(*args: str, log: Path | None = None) -> None:
    """Run a tk command as a user would; its output goes to the console (and `log`); a failure stops the bench."""
    cmd = [sys.executable, "-m", "tk", *args]
    print("$ tk " + " ".join(args), flush=True)
    if log is None:
        done = subprocess.run(cmd)
    else:
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "a") as fh:
            done = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT)
    if done.returncode != 0:
        raise SystemExit(f"bench.generalise: `tk {args[0]}` failed (exit {done.returncode})"
                         + (f"; see {log}" if log else ""))


class Timings:
    """Seconds per stage, kept in OUT/timings.json; a cached stage keeps the time of the run that did the work."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.values: dict[str, float] = json.loads(path.read_text()) if path.is_file() else {}

    def run(self, name: str, fn: Any, cached: bool) -> None:
        if cached:
            print(f"[{name}] cached ({self.values.get(name, float('nan')) / 60:.1f} min when it ran)", flush=True)
            return
        t0 = time.perf_counter()
        fn()
        self.values[name] = time.perf_counter() - t0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(self.values, indent=1) + "\n")


def release(out: Path, timings: Timings) -> Path:
    """The collection fetched and built into a verified release; its renders folder."""
    timings.run("fetch", lambda: tk("fetch", "sweethome3d", "--out", str(out / "collection")),
                cached=(out / "collection" / "collection.json").is_file())
    rel = out / "release"
    timings.run("release", lambda: tk("release", "build", str(SPEC), "--source-root", str(out), "--out", str(rel),
                                      "--workers", "2", log=out / "logs" / "release.log"),
                cached=(rel / "RELEASE.json").is_file())
    return rel / "renders"


def run_config(base: str, seed: int, size: int | None, max_steps: int | None) -> dict[str, Any]:
    """The resolved training config of one run: the preset with its seed and training-set size."""
    from tk.train.config import load_config, with_overrides

    cfg = with_overrides(load_config(base), train={"seed": seed}, data={"max_objects": size})
    raw = cfg.to_dict()
    if max_steps is not None:
        raw["train"]["max_steps"] = max_steps
    return raw


def key_of(raw: dict[str, Any], renders: Path) -> str:
    """sha256 of the resolved config, the renders' hashes and the training code: what a run's results depend on."""
    sums = (renders.parent / "SHA256SUMS").read_bytes()
    return hashlib.sha256(json.dumps(raw, sort_keys=True).encode() + sums + code_fingerprint().encode()).hexdigest()


def train_run(out: Path, tag: str, raw: dict[str, Any], renders: Path, timings: Timings) -> Path:
    """Train (or resume, or reuse) one run; refuse a folder trained with another config, other renders or other code."""
    from tk.train import checkpoint

    run = out / "run" if tag == "seed0-all" else out / "runs" / tag
    key = key_of(raw, renders)
    stamp = run / "bench-key.json"
    if stamp.is_file() and json.loads(stamp.read_text())["key"] != key:
        raise SystemExit(f"bench.generalise: {run} was trained with another config, other renders or other code; use a new --out "
                         "or delete it")
    config = out / "configs" / f"{tag}.yaml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(yaml.safe_dump(raw, sort_keys=False))
    run.mkdir(parents=True, exist_ok=True)
    stamp.write_text(json.dumps({"key": key}) + "\n")
    last = checkpoint.latest(run)
    done = last is not None and int(last.name.split("-")[-1]) >= raw["train"]["max_steps"]
    timings.run(f"train:{tag}", lambda: tk("train", "--config", str(config), "--data", str(renders), "--out", str(run),
                                           "--resume", log=out / "logs" / f"train-{tag}.log"), cached=done)
    return run


def evaluate(out: Path, run: Path, tag: str, renders: Path, split: str, timings: Timings, baseline: str = "retrieval",
             limit: int | None = None) -> dict[str, Any]:
    """`tk eval` of a run's last checkpoint on one split, cached while the checkpoint's bytes (its checkpoint.json
    lists their hashes), the command and the code are the same: a run retrained in place keeps its `latest` path."""
    from tk.train import checkpoint

    dest = out / "eval" / f"{tag}-{split}"
    last = checkpoint.latest(run)
    report, stamp = dest / "report.json", dest / "bench-key.json"
    args = ["eval", str(run), "--data", str(renders), "--split", split, "--out", str(dest), "--baseline", baseline,
            "--mesh-resolution", str(EVAL_MESH_RESOLUTION), "--manifest", str(renders.parent / "manifest")] + (
        ["--limit", str(limit)] if limit else [])
    key = hashlib.sha256((last / "checkpoint.json").read_bytes() + json.dumps(args).encode()
                         + code_fingerprint().encode()).hexdigest()
    cached = report.is_file() and stamp.is_file() and json.loads(stamp.read_text())["key"] == key

    def score() -> None:
        stamp.unlink(missing_ok=True)  # a failed or interrupted eval leaves no key behind
        tk(*args, log=out / "logs" / f"eval-{tag}-{split}.log")
        stamp.write_text(json.dumps({"key": key}) + "\n")

    timings.run(f"eval:{tag}-{split}", score, cached=cached)
    return json.loads(report.read_text())


def main() -> None:
    """Run the stages and write the table, the figures and (with --docs) the docs block."""
    from bench.generalise.report import curve_figure, markdown, replace_block, unseen_figure

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="bench-out/generalise")
    p.add_argument("--config", default="generalise", help="training preset or YAML file")
    p.add_argument("--seeds", default="0", help="comma list of training seeds (the reported row: 0,1,2)")
    p.add_argument("--sizes", default="all", help="comma list of training-set sizes, e.g. 100,300,all")
    p.add_argument("--max-steps", type=int, default=None, help="override the preset's train.max_steps")
    p.add_argument("--test", action="store_true", help="also score the test split (do this once, for the report)")
    p.add_argument("--docs", default=None, help="write the table into this markdown file's bench.generalise block")
    p.add_argument("--ship", default=None, help="copy the seed-0 model with its card into this folder "
                                                "(models/sweethome3d-cpu)")
    args = p.parse_args()
    out = Path(args.out).resolve()
    timings = Timings(out / "timings.json")
    renders = release(out, timings)
    seeds = [int(s) for s in args.seeds.split(",")]
    sizes = [None if s == "all" else int(s) for s in args.sizes.split(",")]
    results: dict[str, Any] = {"config": args.config, "runs": {}}
    for size in sizes:
        for seed in seeds if size is None else seeds[:1]:  # the size curve: one seed per size
            tag = f"seed{seed}-{'all' if size is None else size}"
            raw = run_config(args.config, seed, size, args.max_steps)
            run = train_run(out, tag, raw, renders, timings)
            entry: dict[str, Any] = {"seed": seed, "size": size, "run": str(run), "steps": raw["train"]["max_steps"],
                                     "val": evaluate(out, run, tag, renders, "val", timings)["summary"]}
            val = json.loads((out / "eval" / f"{tag}-val" / "report.json").read_text())
            entry["val_retrieval"] = val["baselines"]["retrieval"]
            if args.test:
                test = evaluate(out, run, tag, renders, "test", timings)
                entry.update(test=test["summary"], test_retrieval=test["baselines"]["retrieval"],
                             test_groups=test["groups"].get("category", {}))
            if tag == "seed0-all":
                gap = evaluate(out, run, tag, renders, "train", timings, baseline="white", limit=GAP_OBJECTS)
                entry["train_views"] = gap["summary"]
            results["runs"][tag] = entry
    from tk.train.shards import ShardIndex

    results["train_objects"] = len(ShardIndex(str(renders), "train").objects)
    results["timings"] = timings.values
    results["collection"] = json.loads((out / "collection" / "collection.json").read_text())
    results["release"] = json.loads((out / "release" / "RELEASE.json").read_text())
    (out / "generalise.json").write_text(json.dumps(results, indent=1, default=float) + "\n")
    if args.test and "seed0-all" in results["runs"]:
        unseen_figure(out / "run", renders, out / "eval" / "seed0-all-test" / "report.json", out / "unseen.png")
    if len(sizes) > 1:
        curve_figure(results, out / "curve.png", "test" if args.test else "val")
    table = markdown(results, args.test)
    (out / "generalise.md").write_text(table)
    print(table)
    if args.docs:
        replace_block(Path(args.docs), table)
    if args.ship:
        from bench.generalise.ship import ship

        ship(out / "run", out / "release", results, Path(args.ship))


if __name__ == "__main__":
    main()
