"""Mesh extraction: query the density on a grid, marching cubes (scikit-image), vertex colours from the decoder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from tk.atomic import write_bytes
from tk.errors import TkError
from tk.model.config import DENSITY_THRESHOLD, MESH_RESOLUTION


def grid_points(resolution: int, radius: float) -> torch.Tensor:
    """(R^3, 3) grid over [-r, r]^3, x slowest and z fastest (the official MarchingCubeHelper order)."""
    t = torch.linspace(0, 1, resolution)
    x, y, z = torch.meshgrid(t, t, t, indexing="ij")
    unit = torch.stack([x, y, z], -1).reshape(-1, 3)
    return unit * (2 * radius) - radius  # scale_tensor((0, 1) -> (-r, r))


def density_grid(renderer: nn.Module, decoder: nn.Module, scene_code: torch.Tensor, resolution: int) -> torch.Tensor:
    """scene_code (3, C, H, W) -> density_act (R, R, R) on the grid of `grid_points`."""
    pts = grid_points(resolution, renderer.cfg.radius).to(scene_code.device)
    with torch.no_grad():
        dens = renderer.query_triplane(decoder, pts, scene_code)["density_act"]
    return dens.view(resolution, resolution, resolution)


def marching_cubes(field: np.ndarray, level: float, radius: float) -> tuple[np.ndarray, np.ndarray]:
    """field (R, R, R) indexed (x, y, z) -> vertices (V, 3) in [-r, r]^3, faces (F, 3) facing outward.

    Inside is where field > level. Returns empty arrays when the level is never crossed.
    """
    from skimage.measure import marching_cubes as mc

    if not (field.min() < level < field.max()):
        return np.zeros((0, 3), np.float32), np.zeros((0, 3), np.int64)
    # gradient_direction="ascent": the field grows inward, so faces wind with normals pointing outward
    verts, faces, _, _ = mc(field, level=level, gradient_direction="ascent")
    r = field.shape[0] - 1
    verts = verts / r * (2 * radius) - radius
    return verts.astype(np.float32), faces.astype(np.int64)


def mesh_from_density(renderer: nn.Module, decoder: nn.Module, scene_code: torch.Tensor, field: np.ndarray,
                      threshold: float = DENSITY_THRESHOLD, has_vertex_color: bool = True):  # -> trimesh.Trimesh
    """Isosurface of a density_act grid (R, R, R) at `threshold`, coloured by the decoder at the vertices."""
    import trimesh

    verts, faces = marching_cubes(field, threshold, renderer.cfg.radius)
    colors = None
    if has_vertex_color and len(verts):
        with torch.no_grad():
            c = renderer.query_triplane(decoder, torch.from_numpy(verts).to(scene_code), scene_code)["color"]
        colors = (c.float().clamp(0, 1).cpu().numpy() * 255.0).round().astype(np.uint8)
    return trimesh.Trimesh(vertices=verts, faces=faces, vertex_colors=colors, process=False)


def mesh_from_scene_code(renderer: nn.Module, decoder: nn.Module, scene_code: torch.Tensor, resolution: int = MESH_RESOLUTION,
                         threshold: float = DENSITY_THRESHOLD, has_vertex_color: bool = True):  # -> trimesh.Trimesh
    """The official extract_mesh for one scene: density_act isosurface at `threshold`, colours at vertices."""
    if resolution < 2:
        raise TkError(f"mesh resolution {resolution} must be >= 2")
    field = density_grid(renderer, decoder, scene_code, resolution).float().cpu().numpy()
    return mesh_from_density(renderer, decoder, scene_code, field, threshold, has_vertex_color)


def export_mesh(mesh, path: Path) -> None:
    """Write a mesh (.glb / .obj / .ply, by suffix) atomically, keeping vertex colours."""
    fmt = Path(path).suffix.lstrip(".").lower()
    if fmt not in ("glb", "obj", "ply"):
        raise TkError(f"mesh format {fmt!r}: use glb, obj or ply")
    data = mesh.export(file_type=fmt, include_color=True) if fmt == "obj" else mesh.export(file_type=fmt)
    write_bytes(path, data if isinstance(data, bytes) else data.encode())
