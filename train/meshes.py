"""Ground-truth surfaces for `tk eval`, as points in the renders' normalised frame (longest bbox side 1).

By default they are the points the render stage stored in each object's `surface` (shards contract):
the geometry Blender evaluated and rendered, so file formats, Draco compression, modifiers and skinning
need no second loader here. `--gt-meshes DIR` overrides them with meshes the user gives, already in the
normalised frame; those are sampled like a prediction.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from tk.contracts.renders import decode_surface
from tk.errors import TkError
from tk.train.metrics import sample_points
from tk.train.shards import ObjectRef, ShardIndex

MESH_EXTS = (".glb", ".gltf", ".obj", ".ply", ".stl", ".off")


def stored_surfaces(index: ShardIndex, refs: Iterable[ObjectRef]) -> dict[str, np.ndarray]:
    """The stored surface points (N, 3) of `refs` by uid; objects whose shard holds none are left out."""
    import pyarrow.compute as pc

    wanted: dict[int, set[str]] = {}
    for ref in refs:
        wanted.setdefault(ref.shard, set()).add(ref.uid)
    out = {}
    for shard, uids in sorted(wanted.items()):
        table = index.read_columns(shard, ["uid", "surface"])
        table = table.filter(pc.is_valid(table.column("surface")))
        for uid, data in zip(table.column("uid").to_pylist(), table.column("surface").to_pylist()):
            if uid in uids:
                out[uid] = decode_surface(data)[0]
    return out


def mesh_points(folder: str | Path, uid: str, n: int, seed: int = 1) -> np.ndarray | None:
    """n points sampled on FOLDER/<uid>.<ext> (a mesh in the normalised frame), or None when there is no file."""
    import trimesh

    for ext in MESH_EXTS:
        path = Path(folder) / f"{uid}{ext}"
        if path.is_file():
            try:
                mesh = trimesh.load(path, force="mesh", process=False)
            except Exception as e:  # trimesh raises many types for unreadable files
                raise TkError(f"{path}: cannot load the ground-truth mesh ({type(e).__name__}: {e})") from None
            if not isinstance(mesh, trimesh.Trimesh) or len(mesh.faces) == 0:
                raise TkError(f"{path}: holds no triangles to compare against")
            return sample_points(mesh, n, seed)
    return None
