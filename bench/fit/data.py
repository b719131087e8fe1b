"""The renders bench/fit learns from: 10 sample objects x 16 views at 64², once per lighting setting."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "manifests" / "sample" / "objects"
# Ten sample objects of different shapes (the spider FBX crashes Blender 5's importer; the two tiny test boxes add nothing).
OBJECTS = ("bunny.glb", "suzi.glb", "pico-neo3.glb", "meta-quest-touch-plus.glb", "025_mug.stl",
           "basketball/basketball.obj", "bread/bread.obj", "crate/crate.obj", "tetrapak/tetrapak.obj",
           "siameseCat/siameseCat.obj")
VIEWS = 16
HELD_OUT = (12, 13, 14, 15)  # never used in training, neither as input nor as supervision


def stage_objects(folder: Path, objects: tuple[str, ...] = OBJECTS) -> Path:
    """Copy the chosen sample files (an OBJ's folder whole) into `folder`; return it."""
    for rel in objects:
        src = SAMPLE / rel
        dst = folder / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        for f in (src.parent.iterdir() if "/" in rel else [src]):
            if not (dst.parent / f.name).exists():
                shutil.copy2(f, dst.parent / f.name)  # copies: links leaving the input folder are refused (tk.confine)
    return folder


def render_set(out: Path, lighting_per: str, resolution: int = 64, samples: int = 32, seed: int = 0,
               framing: str = "default") -> dict[str, Any]:
    """Render the objects into `out` (resumes when it exists) with the default cameras and `mixed` lighting.

    `framing` "object": each object at its own distance range, from the radius of its own bounding sphere
    (object_distances), instead of the default range that fits any normalised object."""
    from tk.render.pipeline import LocalExecutor, RenderConfig, run as render

    # staged beside the renders: objects.parquet's local_path must stay valid
    src = stage_objects(out.parent / "objects")
    common = dict(views=VIEWS, resolution=resolution, engine="cycles", samples=samples, denoise=False,
                  lighting="mixed", lighting_per=lighting_per, seed=seed)
    if framing == "default":
        return render(RenderConfig(out=str(out), input_dir=str(src), **common), executor=LocalExecutor())
    if framing != "object":
        raise ValueError(f"framing {framing!r}: expected default or object")
    if (out / "shards").is_dir():
        return {"out": str(out), "resumed": True}
    distances = object_distances(out.parent / "probe", src)
    parts = out.parent / f"{out.name}-parts"
    summary: dict[str, Any] = {"out": str(out), "distance": {}}
    for i, rel in enumerate(OBJECTS):
        one = stage_objects(parts / "objects" / str(i), (rel,))
        d = distances[Path(rel).stem]
        summary["distance"][Path(rel).stem] = d
        render(RenderConfig(out=str(parts / str(i)), input_dir=str(one), distance=d, **common), executor=LocalExecutor())
    _merge([parts / str(i) for i in range(len(OBJECTS))], out)
    return summary


def object_distances(probe: Path, src: Path, fovy_deg: float = 40.0) -> dict[str, tuple[float, float]]:
    """Per object (file stem), the distance range at which its own bounding sphere fills the frame as the default
    range fills it for the unit cube's: tk.framing.fit_distance of its radius (the largest norm of the surface
    the render stage stored, 2% margin), never nearer than the input camera's 1.9, and 15% farther."""
    from tk import framing
    from tk.render.pipeline import LocalExecutor, RenderConfig, run as render
    from tk.train.meshes import stored_surfaces
    from tk.train.shards import ShardIndex

    render(RenderConfig(out=str(probe), input_dir=str(src), views=2, resolution=16, engine="cycles", samples=1,
                        denoise=False, seed=0), executor=LocalExecutor())
    import pyarrow.parquet as pq

    stems = {row["uid"]: Path(row["local_path"]).stem for row in pq.read_table(probe / "objects.parquet").to_pylist()}
    index = ShardIndex(str(probe), "all")
    out = {}
    for uid, pts in stored_surfaces(index, index.objects).items():
        radius = 1.02 * float(np.linalg.norm(pts, axis=1).max())
        near = max(framing.INPUT_DISTANCE, round(framing.fit_distance(fovy_deg, radius), 2))
        out[stems[uid]] = (near, round(near * 1.15, 2))
    return out


def _merge(parts: list[Path], out: Path) -> None:
    """One renders folder from several (each object's shards are whole, so they are copied under new names)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    (out / "shards").mkdir(parents=True, exist_ok=True)
    tables, k = [], 0
    for part in parts:
        for shard in sorted((part / "shards").glob("shard-*.parquet")):
            shutil.copy2(shard, out / "shards" / f"shard-{k:05d}.parquet")
            k += 1
        tables.append(pq.read_table(part / "objects.parquet"))
    pq.write_table(pa.concat_tables(tables), out / "objects.parquet")
    shutil.copy2(parts[0] / "render.json", out / "render.json")


if __name__ == "__main__":
    import sys

    root = Path(sys.argv[1] if len(sys.argv) > 1 else "bench-out/fit")
    for per in ("object", "view"):
        print(per, render_set(root / f"renders-{per}", per))
