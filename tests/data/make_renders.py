"""Regenerate tests/data/renders: real renders (shards contract) of 4 sample objects x 8 views at 64x64.

Run from the repo root: `.venv/bin/python tests/data/make_renders.py [OUT]` (default: the fixture itself). Cycles, 16 samples, no denoising,
the default cameras (fovy 40, distance 1.9-2.5) and the `studio` lighting preset (needs no HDRI).
local_path in objects.parquet is relative to the repo root.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OBJECTS = ["bunny.glb", "crate/crate.obj", "025_mug.stl", "pico-neo3.glb"]


def main(out: Path = ROOT / "tests" / "data" / "renders") -> None:
    """Render the fixture into `out` (replaced)."""
    from tk.render.pipeline import LocalExecutor, RenderConfig, run as render

    os.chdir(ROOT)  # local paths recorded relative to the repo root
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "objects"
        for rel in OBJECTS:
            # copy the chosen files into one input folder (links leaving --input are refused, tk.confine);
            # an OBJ's folder comes whole (mtl, textures)
            original = ROOT / "manifests/sample/objects" / rel
            target = src / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            for f in original.parent.iterdir() if "/" in rel else [original]:
                shutil.copy(f, target.parent / f.name)
        staging = Path(tmp) / "renders"
        cfg = RenderConfig(out=str(staging), input_dir=str(src), views=8, resolution=64, engine="cycles", samples=16,
                           denoise=False, lighting="studio", seed=0)
        summary = render(cfg, executor=LocalExecutor())
        if summary["failed"]:
            sys.exit(f"fixture objects failed: {summary}")
        _relative_paths(staging, src)
        shutil.rmtree(out, ignore_errors=True)
        shutil.copytree(staging, out)
    print(summary)


def _relative_paths(renders: Path, src: Path) -> None:
    """Point objects.parquet's local_path at manifests/sample/objects (repo-relative) instead of the temp links."""
    import pyarrow as pa

    from tk.contracts import OBJECTS as OBJECTS_TABLE  # OBJECTS here is the list of sample files
    from tk.contracts import read_table, write_table

    table = read_table(renders / "objects.parquet", OBJECTS_TABLE)
    rel = [str(Path("manifests/sample/objects") / Path(p).relative_to(src))
           for p in table.column("local_path").to_pylist()]
    table = table.set_column(table.schema.get_field_index("local_path"), "local_path", pa.array(rel, pa.string()))
    write_table(renders / "objects.parquet", table, OBJECTS_TABLE)


if __name__ == "__main__":
    main(Path(sys.argv[1]).resolve()) if len(sys.argv) > 1 else main()
