"""The ground-truth surface of each rendered object: points with normals, sampled where Blender's geometry is.

The points are drawn area-uniformly from the triangles of the evaluated depsgraph (modifiers, shape keys and
armatures applied, instances realised, in the normalised frame after `scene.normalise`), so they are the
surface the views show, whatever the file format (Draco-compressed glTF, skinned FBX, .blend modifiers).
The draw is seeded by (seed, uid). Stored in the shards contract's `surface` column (docs/design.md) by
`tk.contracts.renders.encode_surface`. Only `evaluated_parts` needs Blender; the sampling is plain numpy,
tested without it.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

POINTS = 8192  # per object: 96 KiB in the shard; the Chamfer floor of two such samples is ~0.005 on a unit object
# object types whose evaluated geometry Cycles renders as triangles
_GEOMETRY_TYPES = frozenset(("MESH", "CURVE", "SURFACE", "FONT", "META"))


def surface_seed(seed: int, uid: str) -> int:
    """The seed of an object's surface draw: a pure function of (render seed, uid)."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{uid}:surface".encode()).digest()[:8], "little")


def sample_parts(parts: list[tuple[np.ndarray, np.ndarray]], n: int, seed: int) -> np.ndarray | None:
    """n points with unit normals (n, 6) float32, area-uniform over all parts; None when there is no area.

    parts: (triangles (T, 3, 3) in the part's local frame, matrix_world (4, 4)); a part is an object
    instance, so one mesh instanced k times is k parts sharing one triangle array.
    """
    areas = [_areas(tris, m) for tris, m in parts]
    total = float(sum(a.sum() for a in areas)) if areas else 0.0
    if not total > 0.0 or n <= 0:
        return None
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(n, [a.sum() / total for a in areas])
    out = []
    for (tris, m), a, k in zip(parts, areas, counts):
        if k == 0:
            continue
        w = _to_world(tris[rng.choice(len(tris), size=k, p=a / a.sum())], m)
        r1, r2 = np.sqrt(rng.random(k))[:, None], rng.random(k)[:, None]
        points = w[:, 0] * (1 - r1) + w[:, 1] * (r1 * (1 - r2)) + w[:, 2] * (r1 * r2)
        normals = np.cross(w[:, 1] - w[:, 0], w[:, 2] - w[:, 0])
        # a mirroring matrix reverses the winding; Blender keeps such faces facing outward, so flip back
        normals *= np.sign(np.linalg.det(m[:3, :3])) or 1.0
        normals /= np.maximum(np.linalg.norm(normals, axis=-1, keepdims=True), 1e-30)
        out.append(np.concatenate([points, normals], axis=-1))
    return np.concatenate(out).astype(np.float32)


def _to_world(tris: np.ndarray, m: np.ndarray) -> np.ndarray:
    return tris @ m[:3, :3].T + m[:3, 3]


def _areas(tris: np.ndarray, m: np.ndarray, chunk: int = 1 << 20) -> np.ndarray:
    """World-space areas (T,) of local triangles, a chunk at a time (meshes may hold millions of faces)."""
    out = np.empty(len(tris))
    for i in range(0, len(tris), chunk):
        w = _to_world(tris[i:i + chunk], m)
        out[i:i + chunk] = 0.5 * np.linalg.norm(np.cross(w[:, 1] - w[:, 0], w[:, 2] - w[:, 0]), axis=-1)
    return out


def evaluated_parts() -> list[tuple[np.ndarray, np.ndarray]]:
    """(local triangles (T, 3, 3), matrix_world (4, 4)) of every rendered object instance in the scene (bpy)."""
    import bpy

    depsgraph = bpy.context.evaluated_depsgraph_get()
    cache: dict[tuple[int, int], np.ndarray] = {}  # one triangle array per evaluated geometry, shared by its instances
    parts = []
    for inst in depsgraph.object_instances:
        obj = inst.object
        if obj.type not in _GEOMETRY_TYPES or not inst.show_self:
            continue
        if not inst.is_instance and obj.original.hide_render:
            continue
        # instances of one object share its geometry; geometry-nodes instances reuse one temporary object
        # for different geometry, so the data pointer is part of the key
        key = (obj.as_pointer(), obj.data.as_pointer() if obj.data is not None else 0)
        if key not in cache:
            cache[key] = _triangles(obj)
        if len(cache[key]):
            parts.append((cache[key], np.array(inst.matrix_world, dtype=np.float64)))
    return parts


def _triangles(obj: Any) -> np.ndarray:
    """Triangles (T, 3, 3) float64 of an evaluated object's geometry, in its local frame."""
    mesh = obj.to_mesh()
    try:
        if mesh is None or len(mesh.polygons) == 0:
            return np.zeros((0, 3, 3))
        mesh.calc_loop_triangles()
        idx = np.empty(len(mesh.loop_triangles) * 3, dtype=np.int32)
        mesh.loop_triangles.foreach_get("vertices", idx)
        co = np.empty(len(mesh.vertices) * 3, dtype=np.float32)
        mesh.vertices.foreach_get("co", co)
        return co.reshape(-1, 3).astype(np.float64)[idx.reshape(-1, 3)]
    finally:
        obj.to_mesh_clear()


def sample_scene(n: int, seed: int) -> np.ndarray | None:
    """The current scene's surface (n, 6) float32 in world (= normalised) coordinates, or None (bpy)."""
    return sample_parts(evaluated_parts(), n, seed)
