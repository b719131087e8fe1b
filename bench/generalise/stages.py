"""The stages of bench.generalise, each run as a user would (`tk ...` in a subprocess), cached and keyed by what its
result depends on (bench/keys.py): the collection and release, one training run, one eval."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from bench.keys import code_fingerprint, renders_fingerprint

REPO = Path(__file__).resolve().parents[2]
SPEC = REPO / "manifests" / "sweethome3d-release.yaml"
EVAL_MESH_RESOLUTION = 96  # a 32-texel plane's surface: 3 cells a texel (bench/fit uses the same)
GAP_OBJECTS = 86  # training objects scored for the gap: as many as the test split holds
# density levels scored on the validation split; the best by F@0.1 is the level test is scored at. A small model's
# density can stay below the official 25 (no surface at all), so the sweep reaches down to 1
DENSITY_SWEEP = (1.0, 2.5, 5.0, 10.0, 25.0)
SWEEP_ARG = ",".join(f"{v:g}" for v in DENSITY_SWEEP)  # as tk eval --density-sweep takes it


def chosen_level(val_report: dict[str, Any]) -> float:
    """The --density-sweep level of a validation report with the best model F@0.1 (ties: the higher level)."""
    sweep = val_report["surface_sweep"]["model"]
    best = max(sweep, key=lambda level: ((sweep[level]["fscore@0.1"] or 0.0), float(level)))
    return float(best)


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


def run_config(base: str, seed: int, size: int | None, max_steps: int | None, split: str = "train",
               finetune: bool = False) -> dict[str, Any]:
    """The resolved training config of one run: the preset with its seed, training-set size and split; with
    `finetune`, the fine-tuning optimiser defaults (lr, warmup, grad clip of configs/train/finetune.yaml) that
    `tk train --init` gives a preset (written out here, since a config file keeps every value it sets)."""
    from tk.train.config import load_config, with_overrides
    from tk.train.finetune import finetune_optim

    cfg = with_overrides(load_config(base), train={"seed": seed}, data={"max_objects": size, "split": split},
                         optim=finetune_optim() if finetune else {})
    raw = cfg.to_dict()
    if max_steps is not None:
        raw["train"]["max_steps"] = max_steps
    return raw


def key_of(raw: dict[str, Any], renders: Path, init: Path | None = None) -> str:
    """sha256 of the resolved config, the renders' hashes (the release's SHA256SUMS, else the shards' bytes), the
    training code and the weights it starts from: what a run's results depend on."""
    sums_file = renders.parent / "SHA256SUMS"
    sums = sums_file.read_bytes() if sums_file.is_file() else renders_fingerprint(renders).encode()
    start = (init / "checkpoint.json").read_bytes() if init is not None else b""
    return hashlib.sha256(json.dumps(raw, sort_keys=True).encode() + sums + code_fingerprint().encode()
                          + start).hexdigest()


def train_run(out: Path, tag: str, raw: dict[str, Any], renders: Path, timings: Timings,
              init: Path | None = None) -> Path:
    """Train (or resume, or reuse) one run, from scratch or from the checkpoint `init`; refuse a folder trained with
    another config, other renders, other code or other starting weights."""
    from tk.train import checkpoint

    run = out / "run" if tag == "seed0-all" else out / "runs" / tag
    key = key_of(raw, renders, init)
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
    start = ["--init", str(init)] if init is not None else []
    timings.run(f"train:{tag}", lambda: tk("train", "--config", str(config), "--data", str(renders), "--out", str(run),
                                           "--resume", *start, log=out / "logs" / f"train-{tag}.log"), cached=done)
    return run


def evaluate(out: Path, run: Path, tag: str, renders: Path, split: str, timings: Timings, baseline: str = "retrieval",
             limit: int | None = None, manifest: Path | None = None, surface: tuple[str, ...] = ()) -> dict[str, Any]:
    """`tk eval` of a run's last checkpoint on one split, cached while the checkpoint's bytes (its checkpoint.json
    lists their hashes), the command and the code are the same: a run retrained in place keeps its `latest` path.
    `surface`: tk eval's density options (--density-sweep on val, --density-threshold on test)."""
    from tk.train import checkpoint

    dest = out / "eval" / f"{tag}-{split}"
    last = checkpoint.latest(run)
    report, stamp = dest / "report.json", dest / "bench-key.json"
    args = ["eval", str(run), "--data", str(renders), "--split", split, "--out", str(dest), "--baseline", baseline,
            "--mesh-resolution", str(EVAL_MESH_RESOLUTION), "--manifest", str(manifest or renders.parent / "manifest")] + (
        ["--limit", str(limit)] if limit else []) + list(surface)
    key = hashlib.sha256((last / "checkpoint.json").read_bytes() + json.dumps(args).encode()
                         + code_fingerprint().encode()).hexdigest()
    cached = report.is_file() and stamp.is_file() and json.loads(stamp.read_text())["key"] == key

    def score() -> None:
        stamp.unlink(missing_ok=True)  # a failed or interrupted eval leaves no key behind
        tk(*args, log=out / "logs" / f"eval-{tag}-{split}.log")
        stamp.write_text(json.dumps({"key": key}) + "\n")

    timings.run(f"eval:{tag}-{split}", score, cached=cached)
    return json.loads(report.read_text())
