"""The renders bench/fit learns from: 10 sample objects x 16 views at 64², once per lighting setting."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "manifests" / "sample" / "objects"
# Ten sample objects of different shapes (the spider FBX crashes Blender 5's importer; the two tiny test boxes add nothing).
OBJECTS = ("bunny.glb", "suzi.glb", "pico-neo3.glb", "meta-quest-touch-plus.glb", "025_mug.stl",
           "basketball/basketball.obj", "bread/bread.obj", "crate/crate.obj", "tetrapak/tetrapak.obj",
           "siameseCat/siameseCat.obj")
VIEWS = 16
HELD_OUT = (12, 13, 14, 15)  # never used in training, neither as input nor as supervision


def stage_objects(folder: Path) -> Path:
    """Link the chosen sample files (an OBJ's folder whole) into `folder`; return it."""
    for rel in OBJECTS:
        src = SAMPLE / rel
        dst = folder / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        for f in (src.parent.iterdir() if "/" in rel else [src]):
            if not (dst.parent / f.name).exists():
                shutil.copy2(f, dst.parent / f.name)  # copies: links leaving the input folder are refused (tk.confine)
    return folder


def render_set(out: Path, lighting_per: str, resolution: int = 64, samples: int = 32, seed: int = 0) -> dict[str, Any]:
    """Render the objects into `out` (resumes when it exists) with the default cameras and `mixed` lighting."""
    from tk.render.pipeline import LocalExecutor, RenderConfig, render

    # staged beside the renders: objects.parquet's local_path must stay valid (the mesh metrics read it)
    src = stage_objects(out.parent / "objects")
    cfg = RenderConfig(out=str(out), input_dir=str(src), views=VIEWS, resolution=resolution, engine="cycles",
                       samples=samples, denoise=False, lighting="mixed", lighting_per=lighting_per, seed=seed)
    return render(cfg, executor=LocalExecutor())


if __name__ == "__main__":
    import sys

    root = Path(sys.argv[1] if len(sys.argv) > 1 else "bench-out/fit")
    for per in ("object", "view"):
        print(per, render_set(root / f"renders-{per}", per))
