"""Image(s) -> textured meshes and turntables: the pipeline behind `tk infer` (and `tk demo`)."""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import glob
import os
import shutil
from collections.abc import Iterator
from dataclasses import MISSING, dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from tk import faults, framing
from tk.atomic import atomic_path, replace
from tk.errors import TkError
from tk.model.config import DENSITY_THRESHOLD, MESH_RESOLUTION, read_surface_level
from tk.progress import progress
from tk.sections import setting

MESH_FORMATS = ("glb", "obj", "ply")
# the collection-trained model shipped in the repo (bench/generalise made it; its README.md says how)
SHIPPED_MODEL = Path(__file__).resolve().parents[1] / "models" / "sweethome3d-cpu"


@dataclass(frozen=True)
class InferConfig:
    """Settings of one `tk infer` run, and its command line: each `setting` is an option (tk.sections.command)."""

    images: tuple[Path, ...] = setting(MISSING, "RGBA images (alpha = object mask); any size, mode or bit depth.",
                                       argument=True)
    out: Path = setting(MISSING, "Output folder; one subfolder per image.", cli="--out")
    model: Path | None = setting(
        None, "Checkpoint folder: config.yaml + model.safetensors or model.ckpt (default: the model trained on the "
        "Sweet Home 3D collection shipped in the repo, models/sweethome3d-cpu).", cli="--model")
    resolution: int = setting(MESH_RESOLUTION, "Marching-cubes grid resolution.")
    threshold: float | None = setting(
        None, "Density isosurface level; default: the level chosen for the model (surface.json in the checkpoint, "
        f"e.g. on a validation split with tk eval --density-sweep), or {DENSITY_THRESHOLD:g} (the official level).")
    foreground_ratio: float | None = setting(
        None, "Share of the frame the object spans after cropping; default: the median of the model's training "
        "inputs (framing.json in the checkpoint), or 0.85 (the official value) for checkpoints without it.")
    formats: tuple[str, ...] = setting(("glb", "obj"), "Mesh formats, comma-separated: glb, obj, ply.", cli="--format")
    turntable_views: int = setting(8, "Turntable frames (0: none).")
    turntable_size: int = setting(128, "Turntable frame size in pixels.")
    chunk_size: int = setting(8192, "Renderer points per decoder call (0: no chunking).")
    prepared: bool = setting(False, "Inputs are RGB already on grey 0.5 and framed; use as is.", cli="--prepared")
    save_density: bool = setting(False, "Also write density.npy (the isosurface grid).", cli="--save-density")
    device: str = setting("cpu", "torch device, e.g. cpu or cuda.")

    def __post_init__(self) -> None:
        if self.resolution < 2:
            raise TkError(f"--resolution {self.resolution} must be >= 2 ({MESH_RESOLUTION} is the official value)")
        if self.foreground_ratio is not None and not 0 < self.foreground_ratio <= 1:
            raise TkError(f"--foreground-ratio {self.foreground_ratio} must be in (0, 1] (0.85 is the official value)")
        object.__setattr__(self, "formats", tuple(f.strip().lower() for f in self.formats if f.strip()))
        bad = [f for f in self.formats if f not in MESH_FORMATS]
        if bad or not self.formats:
            raise TkError(f"--format {','.join(self.formats)}: choose from {','.join(MESH_FORMATS)}")
        if self.turntable_views < 0 or self.turntable_size < 8:
            raise TkError("--turntable-views must be >= 0 and --turntable-size >= 8")
        if self.threshold is not None and not self.threshold > 0:
            raise TkError(f"--threshold {self.threshold:g} must be above 0 ({DENSITY_THRESHOLD:g} is the official level)")
        if self.chunk_size < 0:
            raise TkError(f"--chunk-size {self.chunk_size} must be >= 0 (0: no chunking)")


def load_input(path: Path, cfg: InferConfig) -> np.ndarray:
    """One input file -> the preprocessed (S, S, 3) uint8 image the model sees."""
    from PIL import Image

    if not path.is_file():
        raise TkError(f"{path}: no such image file")
    try:
        return _load_input(path, cfg)
    except Image.DecompressionBombError as e:  # Pillow refuses, on open, an image whose header claims a huge size
        raise TkError(f"{path}: too large to open: {str(e).rstrip('.')}; give an image of a few megapixels") from None


def _load_input(path: Path, cfg: InferConfig) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    from tk.model.preprocess import load_rgba, prepare_rgba

    if cfg.prepared:
        try:
            with Image.open(path) as im:
                return np.asarray(im.convert("RGB"), dtype=np.uint8).copy()
        except (UnidentifiedImageError, OSError) as e:
            raise TkError(f"{path}: cannot read the image ({e})") from None
    rgba = load_rgba(path)  # its errors name the file already
    try:
        return prepare_rgba(rgba, cfg.foreground_ratio)
    except TkError as e:
        raise TkError(f"{path}: {e}") from None


def _folder_names(paths: Sequence[Path]) -> list[str]:
    """One output folder per input, named by file stem (numbered when stems repeat)."""
    names, seen = [], {}
    for p in paths:
        stem = p.stem or "image"
        seen[stem] = seen.get(stem, 0) + 1
        names.append(stem if seen[stem] == 1 else f"{stem}-{seen[stem]}")
    return names


def run(cfg: InferConfig) -> dict[str, Any]:
    """Reconstruct each image: per image a folder with input.png, mesh.<fmt>, turntable.gif/.png (moved in together,
    once all are written).

    Every input is read and checked before the model is loaded, so a bad file fails in seconds. Without
    `cfg.model`, the model shipped in the repo (SHIPPED_MODEL). Returns the framing used and, per image, a dict
    with the written paths and the mesh size (`results`).
    """
    import torch
    from PIL import Image

    from tk.model.tsr import TripoSR

    model_dir = cfg.model
    if model_dir is None:
        model_dir = SHIPPED_MODEL
        if not (model_dir / "model.safetensors").is_file():
            raise TkError(f"no --model given and the shipped model {model_dir} is missing (a tk installed without the "
                          "repo's models/ folder): pass --model CHECKPOINT_DIR")
    source = "--foreground-ratio"
    if cfg.foreground_ratio is None:  # the framing the model was trained with (one rule: tk.framing)
        ratio, source = framing.read_ratio(model_dir)
        cfg = dataclasses.replace(cfg, foreground_ratio=ratio)
    level_from = "--threshold"
    if cfg.threshold is None:  # the level chosen for this model, if any (tk.model.config.SURFACE_FILE)
        level, level_from = read_surface_level(model_dir)
        cfg = dataclasses.replace(cfg, threshold=level)
    paths = list(cfg.images)
    if not paths:
        raise TkError("no input images given: tk infer IMAGE... --model DIR --out DIR")
    prepared = [load_input(p, cfg) for p in paths]
    model = TripoSR.from_pretrained(model_dir).to(cfg.device).eval()
    model.renderer.set_chunk_size(cfg.chunk_size)
    out_dir = cfg.out
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:  # read-only or not writable: one line naming --out
        err = faults.as_storage_error(e, out_dir)
        if err is None:
            raise
        raise err from e
    results = []
    # --out held open: deleted mid-run, the run stops in one line instead of writing the rest of its images into a
    # folder of that name made again by the writes (tk.atomic makes missing folders)
    with faults.HeldFolder(out_dir) as held, progress() as bar, torch.no_grad():
        task = bar.add_task("infer", total=len(paths))
        try:
            for path, name, image in zip(paths, _folder_names(paths), prepared):
                held.check()
                folder = out_dir / name
                with _staged(folder, held) as staging:
                    with atomic_path(staging / "input.png") as tmp:
                        Image.fromarray(image).save(tmp, format="PNG")
                    code = model([image], device=cfg.device)[0]
                    result = _write_outputs(model, code, staging, folder, cfg)
                results.append({"image": str(path), "dir": str(folder), "input": str(folder / "input.png"),
                                "foreground_ratio": cfg.foreground_ratio, "foreground_ratio_from": source,
                                "threshold": cfg.threshold, **result})
                bar.advance(task)
        except Exception as e:
            if not held.gone():
                raise
            held.remove_if_remade()  # the staging folder in it is removed already
            if isinstance(e, faults.StorageError) and e.path == str(out_dir):
                raise
            raise faults.StorageError(errno.ENOENT, out_dir) from e
    return {"foreground_ratio": cfg.foreground_ratio, "foreground_ratio_from": source, "threshold": cfg.threshold,
            "threshold_from": level_from, "results": results}


@contextlib.contextmanager
def _staged(folder: Path, held: faults.HeldFolder) -> Iterator[Path]:
    """A hidden folder beside `folder` to write one image's files in: they are moved into `folder` (over the files of
    an earlier run) only once all are written, so a full disk or a kill midway leaves none of them there. `held` is
    the folder they are in (--out): deleted meanwhile, nothing is moved."""
    for stale in folder.parent.glob(f".{glob.escape(folder.name)}.tmp-*"):  # what a killed run left
        shutil.rmtree(stale, ignore_errors=True)
    staging = folder.parent / f".{folder.name}.tmp-{os.getpid()}"
    try:
        staging.mkdir()
        yield staging
        held.check()
        folder.mkdir(exist_ok=True)
        for path in sorted(staging.iterdir()):
            replace(path, folder / path.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _write_outputs(model: Any, code: Any, staging: Path, folder: Path, cfg: InferConfig) -> dict[str, Any]:
    """Mesh files, the optional density grid and the turntable of one scene code (3, C, H, W), written into
    `staging`; the paths returned are where they end up, in `folder`."""
    from tk.model.mesh import density_grid, export_mesh, mesh_from_density
    from tk.model.turntable import turntable_frames, write_turntable

    field = density_grid(model.renderer, model.decoder, code, cfg.resolution).float().cpu().numpy()
    if cfg.save_density:
        with atomic_path(staging / "density.npy") as tmp, open(tmp, "wb") as fh:
            np.save(fh, field)
    mesh = mesh_from_density(model.renderer, model.decoder, code, field, cfg.threshold)
    out: dict[str, Any] = {"vertices": len(mesh.vertices), "faces": len(mesh.faces), "meshes": {}}
    if not len(mesh.vertices):
        out["warning"] = (f"empty mesh: no density above --threshold {cfg.threshold} "
                          f"(range {field.min():.3g}..{field.max():.3g})")
    for fmt in cfg.formats:
        export_mesh(mesh, staging / f"mesh.{fmt}")
        out["meshes"][fmt] = str(folder / f"mesh.{fmt}")
    if cfg.turntable_views:
        frames = turntable_frames(model, code, cfg.turntable_views, cfg.turntable_size)
        write_turntable(frames, staging / "turntable.gif", staging / "turntable.png")
        out["turntable_gif"], out["turntable_png"] = str(folder / "turntable.gif"), str(folder / "turntable.png")
    return out
