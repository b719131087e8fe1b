"""Image(s) -> textured meshes and turntables: the pipeline behind `tk infer` (and `tk demo`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from tk.errors import TkError

MESH_FORMATS = ("glb", "obj", "ply")


@dataclass
class InferConfig:
    """Settings of one `tk infer` run (validated)."""

    resolution: int = 256  # marching-cubes grid size
    threshold: float = 25.0  # density_act isosurface level (official default)
    foreground_ratio: float | None = None  # None: the model folder's framing.json (tk.framing), else the official 0.85
    formats: tuple[str, ...] = ("glb", "obj")
    turntable_views: int = 8  # 0: no turntable
    turntable_size: int = 128
    chunk_size: int = 8192  # renderer points per decoder call
    prepared: bool = False  # inputs are RGB already on grey 0.5 and framed (official --no-remove-bg)
    save_density: bool = False  # also write density.npy, the (R, R, R) density_act grid
    device: str = "cpu"

    def __post_init__(self) -> None:
        if self.resolution < 2:
            raise TkError(f"--resolution {self.resolution} must be >= 2 (256 is the official value)")
        if self.foreground_ratio is not None and not 0 < self.foreground_ratio <= 1:
            raise TkError(f"--foreground-ratio {self.foreground_ratio} must be in (0, 1] (0.85 is the official value)")
        bad = [f for f in self.formats if f not in MESH_FORMATS]
        if bad or not self.formats:
            raise TkError(f"--format {','.join(self.formats)}: choose from {','.join(MESH_FORMATS)}")
        if self.turntable_views < 0 or self.turntable_size < 8:
            raise TkError("--turntable-views must be >= 0 and --turntable-size >= 8")
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


def infer(images: Sequence[str | Path], model_dir: str | Path, out_dir: str | Path,
          cfg: InferConfig | None = None, model: Any = None) -> list[dict[str, Any]]:
    """Reconstruct each image: per image a folder with input.png, mesh.<fmt>, turntable.gif/.png.

    Every input is read and checked before the model is loaded, so a bad file fails in seconds.
    Returns one dict per image with the written paths and the mesh size.
    """
    import torch
    from PIL import Image

    from tk.atomic import atomic_path
    from tk.model.tsr import TripoSR
    from tk.progress import progress

    import dataclasses

    from tk import framing

    cfg = cfg or InferConfig()
    source = "--foreground-ratio"
    if cfg.foreground_ratio is None:  # the framing the model was trained with (one rule: tk.framing)
        ratio, source = framing.read_ratio(model_dir) if model_dir is not None else (
            framing.OFFICIAL_FOREGROUND_RATIO, "official TripoSR value")
        cfg = dataclasses.replace(cfg, foreground_ratio=ratio)
    paths = [Path(p) for p in images]
    if not paths:
        raise TkError("no input images given: tk infer IMAGE... --model DIR --out DIR")
    prepared = [load_input(p, cfg) for p in paths]
    model = model or TripoSR.from_pretrained(model_dir)
    model = model.to(cfg.device).eval()
    model.renderer.set_chunk_size(cfg.chunk_size)
    out_dir = Path(out_dir)
    results = []
    with progress() as bar, torch.no_grad():
        task = bar.add_task("infer", total=len(paths))
        for path, name, image in zip(paths, _folder_names(paths), prepared):
            folder = out_dir / name
            folder.mkdir(parents=True, exist_ok=True)
            with atomic_path(folder / "input.png") as tmp:
                Image.fromarray(image).save(tmp, format="PNG")
            code = model([image], device=cfg.device)[0]
            result = _write_outputs(model, code, folder, cfg)
            results.append({"image": str(path), "dir": str(folder), "input": str(folder / "input.png"),
                            "foreground_ratio": cfg.foreground_ratio, "foreground_ratio_from": source, **result})
            bar.advance(task)
    return results


def _write_outputs(model: Any, code: Any, folder: Path, cfg: InferConfig) -> dict[str, Any]:
    """Mesh files, the optional density grid and the turntable of one scene code (3, C, H, W)."""
    from tk.atomic import atomic_path
    from tk.model.mesh import density_grid, export_mesh, mesh_from_density
    from tk.model.turntable import turntable_frames, write_turntable

    field = density_grid(model.renderer, model.decoder, code, cfg.resolution).float().cpu().numpy()
    if cfg.save_density:
        with atomic_path(folder / "density.npy") as tmp, open(tmp, "wb") as fh:
            np.save(fh, field)
    mesh = mesh_from_density(model.renderer, model.decoder, code, field, cfg.threshold)
    out: dict[str, Any] = {"vertices": len(mesh.vertices), "faces": len(mesh.faces), "meshes": {}}
    if not len(mesh.vertices):
        out["warning"] = (f"empty mesh: no density above --threshold {cfg.threshold} "
                          f"(range {field.min():.3g}..{field.max():.3g})")
    for fmt in cfg.formats:
        export_mesh(mesh, folder / f"mesh.{fmt}")
        out["meshes"][fmt] = str(folder / f"mesh.{fmt}")
    if cfg.turntable_views:
        frames = turntable_frames(model, code, cfg.turntable_views, cfg.turntable_size)
        write_turntable(frames, folder / "turntable.gif", folder / "turntable.png")
        out["turntable_gif"], out["turntable_png"] = str(folder / "turntable.gif"), str(folder / "turntable.png")
    return out
