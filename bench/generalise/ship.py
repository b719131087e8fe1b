"""Copy bench/generalise's trained model into the repo (models/sweethome3d-cpu) with what made it: the training
config, the release it learned from (name, version, sha256 of its SHA256SUMS), the command and its test scores."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

from bench.generalise.stages import SWEEP_ARG
from tk.model.config import DENSITY_THRESHOLD, SURFACE_FILE, write_surface_level

MODEL_FILES = ("config.yaml", "model.safetensors", "framing.json")  # not train_state.pt: optimiser state, 2x the size


def verdict(test: dict[str, Any], base: dict[str, Any]) -> str:
    """One sentence on whether the model does more than retrieval (IoU and F@0.1 both >= retrieval + 0.05)."""
    if not test or not base or test.get("fscore@0.1") is None or base.get("fscore@0.1") is None:
        return "Not scored on the test split yet."
    if test["iou"] >= base["iou"] + 0.05 and test["fscore@0.1"] >= base["fscore@0.1"] + 0.05:
        return "It beats the retrieval baseline by at least 0.05 in mask IoU and F@0.1."
    return ("It does NOT beat the retrieval baseline by the 0.05 in mask IoU and F@0.1 that would show it does more "
            "than recall a training shape: expect a coarse, colour-matched blob of about the right size, not the "
            "object's shape.")


def ship(run: Path, release: Path, results: dict[str, Any], dest: Path) -> None:
    """Write dest/ (model files, the ViT config folder, train_config.yaml, release.json, README.md) from the run's last checkpoint."""
    from tk.train import checkpoint

    last = checkpoint.latest(run)
    if last is None:
        raise SystemExit(f"{run}: no checkpoint to ship")
    dest.mkdir(parents=True, exist_ok=True)
    for name in MODEL_FILES:
        shutil.copy2(last / name, dest / name)
    for sub in last.iterdir():  # a tk ViT's config.json (tk-vit-cpu/) travels with the weights
        if sub.is_dir():
            shutil.copytree(sub, dest / sub.name, dirs_exist_ok=True)
    shutil.copy2(run / "config.yaml", dest / "train_config.yaml")
    record = json.loads((release / "RELEASE.json").read_text())
    sums = hashlib.sha256((release / "SHA256SUMS").read_bytes()).hexdigest()
    info = {"name": record.get("name"), "version": record.get("version"), "sha256sums_sha256": sums,
            "checkpoint": last.name}
    (dest / "release.json").write_text(json.dumps(info, indent=1) + "\n")
    entry = results["runs"]["seed0-all"]
    level = entry.get("density_threshold", DENSITY_THRESHOLD)
    (dest / SURFACE_FILE).unlink(missing_ok=True)
    if "density_threshold" in entry:  # the level chosen on the validation split: what tk infer extracts at
        write_surface_level(dest, level, "best F@0.1 on the validation split of the release, tk eval --density-sweep "
                            + SWEEP_ARG)
    test, base = entry.get("test", {}), entry.get("test_retrieval", {})

    def fmt(m: dict[str, Any], k: str) -> str:
        return "n/a" if m.get(k) is None else f"{m[k]:.3f}"

    lines = [
        "# sweethome3d-cpu: the `cpu` TripoSR model trained on 639 Sweet Home 3D objects", "",
        f"A 1.6M-parameter model (configs/cpu.yaml) trained for {entry['steps']} steps with "
        f"`configs/train/generalise.yaml` (train_config.yaml here) on the train split of the release "
        f"`{info['name']} {info['version']}` (sha256 of its SHA256SUMS: `{sums}`), {last.name}.", "",
        "Made by:", "", "```",
        "python -m bench.generalise --out bench-out/generalise --test   # tk fetch, tk release build, tk train, tk eval",
        "# which runs, among the rest:",
        "tk fetch sweethome3d --out OUT/collection",
        "tk release build manifests/sweethome3d-release.yaml --source-root OUT --out OUT/release",
        "tk train --config generalise --data OUT/release/renders --out OUT/run", "```", "",
        "On the 86 test objects, which it never saw (views 12-15 of each, 64², input among views 0-11):", "",
        "| | mask IoU | F@0.1 | Chamfer | PSNR | all-white PSNR |", "| --- | --- | --- | --- | --- | --- |",
        f"| this model | {fmt(test, 'iou')} | {fmt(test, 'fscore@0.1')} | {fmt(test, 'chamfer')} | "
        f"{fmt(test, 'psnr')} | {fmt(test, 'white_psnr')} |",
        f"| retrieval baseline | {fmt(base, 'iou')} | {fmt(base, 'fscore@0.1')} | {fmt(base, 'chamfer')} | "
        f"{fmt(base, 'psnr')} | {fmt(base, 'white_psnr')} |", "",
        verdict(test, base),
        "",
        "docs/train.md (\"Does it reconstruct objects it never saw?\") has the full table and what limits it. "
        "Inputs: an RGBA image of one object; `tk infer photo.png --out recon/` uses this model by default. It has "
        "seen 64² renders of furniture and household objects only. " + (
            f"Its densities often peak below the official isosurface level 25: surface.json holds the level chosen "
            f"on the validation split ({level:g}), which `tk infer` and `tk eval` use unless given --threshold / "
            f"--density-threshold; the scores above are at that level." if level != DENSITY_THRESHOLD else
            "Surfaces at the official isosurface level 25."),
        "", "License: the weights are derived from CC0 and CC-BY-3.0 models; the release's ATTRIBUTION.md credits "
        "every creator (`tk release build manifests/sweethome3d-release.yaml` writes it).", ""]
    (dest / "README.md").write_text("\n".join(lines))
