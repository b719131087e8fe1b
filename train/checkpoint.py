"""Checkpoints of a run: `checkpoints/step-NNNNNNN/` folders written atomically, `checkpoints/latest`.

A folder holds the model in the contract format (config.yaml + model.safetensors, via
`save_pretrained`), `train_state.pt` (optimizer, scheduler, step, per-rank RNG states and data
positions; plain tensors and numbers, loaded with weights_only=True), optionally `ema.safetensors`,
and `checkpoint.json` with the sha256 of every file so a damaged checkpoint is caught on resume.
The folder is built under a temporary name and renamed, so a run killed mid-save leaves the
previous checkpoints untouched; an existing step folder is never overwritten.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import torch

from tk import atomic
from tk.errors import TkError
from tk.hashing import sha256_file

STATE_FILE = "train_state.pt"
MANIFEST_FILE = "checkpoint.json"


def step_dir(run: Path, step: int) -> Path:
    """RUN/checkpoints/step-NNNNNNN for `step`."""
    return Path(run) / "checkpoints" / f"step-{step:07d}"


def list_steps(run: Path) -> list[Path]:
    """Complete step folders of a run, oldest first."""
    folder = Path(run) / "checkpoints"
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("step-*") if p.is_dir() and p.name[5:].isdigit())


def save(
    run: Path, step: int, model: torch.nn.Module, state: dict[str, Any], keep_last: int,
    ema: torch.nn.Module | None = None, extra_files: dict[str, str] | None = None,
) -> Path | None:
    """Write step folder `step` atomically, point `latest` at it, prune to `keep_last`; None if it existed."""
    from safetensors.torch import save_file

    final = step_dir(run, step)
    if final.exists():
        return None
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f".{final.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        model.save_pretrained(tmp)
        with atomic.atomic_path(tmp / STATE_FILE) as path:
            torch.save(state, path)
        if ema is not None:
            with atomic.atomic_path(tmp / "ema.safetensors") as path:
                save_file({k: v.contiguous() for k, v in ema.state_dict().items()}, str(path))
        for name, text in (extra_files or {}).items():  # e.g. framing.json, which tk infer reads
            atomic.write_text(tmp / name, text)
        files = sorted(p for p in tmp.rglob("*") if p.is_file())
        manifest = {"step": step, "files": {str(p.relative_to(tmp)): sha256_file(p) for p in files}}
        atomic.write_text(tmp / MANIFEST_FILE, json.dumps(manifest, indent=2) + "\n")
        atomic.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _point_latest(final)
    _prune(run, keep_last, keep=final)
    return final


def _point_latest(target: Path) -> None:
    atomic.symlink(target.name, target.parent / "latest")  # relative, so the run folder can be moved


def _prune(run: Path, keep_last: int, keep: Path) -> None:
    steps = list_steps(run)
    for old in steps[: max(0, len(steps) - keep_last)]:
        if old != keep:
            shutil.rmtree(old, ignore_errors=True)


def latest(run: Path) -> Path | None:
    """The folder `checkpoints/latest` points at (or the newest step folder), None when there is none.

    The link must name a step folder of this run: resuming from another run's checkpoint would truncate this
    run's metrics to that step and prune its own checkpoints, so a link leading anywhere else is refused.
    """
    folder = Path(run) / "checkpoints"
    link = folder / "latest"
    if link.is_symlink() or link.exists():
        target = link.resolve()
        if target.parent != folder.resolve() or target.name[:5] != "step-" or not target.name[5:].isdigit():
            steps = list_steps(run)
            fix = f"point it at one of this run's step folders (newest: {steps[-1].name})" if steps else "delete it"
            raise TkError(f"{link} leads to {target}, not to a step folder of this run; {fix}")
        if not target.is_dir():
            raise TkError(f"{link} points at a missing checkpoint; delete the link to resume from the newest step folder")
        return target
    steps = list_steps(run)
    return steps[-1] if steps else None


def remove_stale_temps(run: Path) -> None:
    """Delete the temp folders and links a save killed midway left in RUN/checkpoints (call before training starts)."""
    folder = Path(run) / "checkpoints"
    if not folder.is_dir():
        return
    for p in list(folder.glob(".step-*.tmp-*")) + list(folder.glob(".latest.tmp-*")):
        if p.is_symlink() or p.is_file():
            p.unlink(missing_ok=True)
        else:
            shutil.rmtree(p, ignore_errors=True)


def verify(folder: Path) -> dict[str, Any]:
    """Check every file against checkpoint.json; raise one clear line when the checkpoint is damaged."""
    folder = Path(folder)
    previous = [p.name for p in list_steps(folder.parent.parent) if p.name < folder.name]
    hint = f"delete {folder} to resume from {previous[-1]}" if previous else f"delete {folder} and start again"
    try:
        manifest = json.loads((folder / MANIFEST_FILE).read_text())
        files = manifest["files"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise TkError(f"checkpoint {folder} is damaged (no valid {MANIFEST_FILE}: {e}); {hint}") from None
    for name, digest in files.items():
        path = folder / name
        if not path.is_file():
            raise TkError(f"checkpoint {folder} is damaged ({name} is missing); {hint}")
        if sha256_file(path) != digest:
            raise TkError(f"checkpoint {folder} is damaged ({name} does not match its checksum); {hint}")
    return manifest


def load_state(folder: Path) -> dict[str, Any]:
    """The train state of a verified checkpoint folder (tensors and numbers only: weights_only=True)."""
    try:
        return torch.load(Path(folder) / STATE_FILE, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises several types for damaged or foreign files
        raise TkError(f"checkpoint {folder}: {STATE_FILE} cannot be read ({type(e).__name__}); delete the folder") from None


def load_ema(folder: Path) -> dict[str, torch.Tensor] | None:
    """The EMA weights of a checkpoint folder, if it has them."""
    from safetensors.torch import load_file

    path = Path(folder) / "ema.safetensors"
    return load_file(str(path)) if path.is_file() else None
