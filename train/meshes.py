"""Ground-truth meshes in the renders' frame: the object file loaded as Blender imported it, normalised.

objects.parquet records `center` (Blender world, before scaling) and `scale`, with
p_normalised = (p_world - center) * scale. Blender's glTF and OBJ importers turn the files' +Y-up
axes into +Z-up (x, y, z) -> (x, -z, y); STL and PLY are imported as they are.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from tk.errors import TkError

_Y_UP_TO_Z_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
_Y_UP_FORMATS = {"glb", "gltf", "obj"}
_AS_IS_FORMATS = {"stl", "ply", "off"}


def blender_axes(file_type: str) -> np.ndarray:
    """The rotation (3,3) Blender's importer applies to a file of this type."""
    file_type = file_type.lower()
    if file_type in _Y_UP_FORMATS:
        return _Y_UP_TO_Z_UP
    if file_type in _AS_IS_FORMATS:
        return np.eye(3)
    raise TkError(f"no ground-truth mesh loader for .{file_type} files; pass --gt-meshes with .glb/.obj/.stl/.ply")


def load_normalised_mesh(path: str | os.PathLike[str], center: Any, scale: float) -> Any:
    """The mesh at `path` in the renders' normalised frame (trimesh.Trimesh)."""
    import trimesh

    path = Path(path)
    rotation = blender_axes(path.suffix.lstrip("."))
    try:
        mesh = trimesh.load(path, force="mesh", process=False)
    except Exception as e:  # trimesh raises many types for unreadable files
        raise TkError(f"{path}: cannot load the ground-truth mesh ({type(e).__name__}: {e})") from None
    if not isinstance(mesh, trimesh.Trimesh) or len(mesh.faces) == 0:
        raise TkError(f"{path}: holds no triangles to compare against")
    vertices = (np.asarray(mesh.vertices) @ rotation.T - np.asarray(center, dtype=np.float64)) * float(scale)
    return trimesh.Trimesh(vertices=vertices, faces=np.asarray(mesh.faces), process=False)
