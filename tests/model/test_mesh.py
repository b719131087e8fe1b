"""Meshes of a known density field: a sphere written into the triplanes, decoded analytically."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

RADIUS_UNIT = 0.6  # sphere radius in the renderer's [-1, 1] box units
BOX = 0.87


class SphereDecoder(nn.Module):
    """Reads x^2, z^2, y^2 from channel 0 of the three planes; density_act = 25 exactly on the sphere."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.c = channels

    def forward(self, f: torch.Tensor) -> dict[str, torch.Tensor]:
        s = f[:, 0] + f[:, self.c] + f[:, 2 * self.c]  # x^2 + y^2 + z^2 (bilinear)
        raw = 1.0 + math.log(25.0) + 8.0 * (RADIUS_UNIT**2 - s)  # exp(raw - 1) = 25 * exp(8 (r^2 - s))
        colour = torch.stack([torch.full_like(s, 3.0), torch.full_like(s, -3.0), f[:, 1] * 4], -1)
        return {"density": raw[:, None], "features": colour}


def sphere_scene_code(channels: int = 4, size: int = 64) -> torch.Tensor:
    """(3, C, size, size) planes whose bilinear lookup gives the squared coordinates (grid_sample texel centres)."""
    u = (torch.arange(size, dtype=torch.float32) + 0.5) / size * 2 - 1
    rows, cols = torch.meshgrid(u, u, indexing="ij")  # rows index grid y (2nd coordinate), cols grid x (1st)
    code = torch.zeros(3, channels, size, size)
    code[0, 0] = cols**2  # plane (x, y): x^2
    code[1, 0] = rows**2  # plane (x, z): z^2
    code[2, 0] = cols**2  # plane (y, z): y^2
    code[0, 1] = cols  # a colour gradient along x for the blue channel
    return code


@pytest.fixture()
def sphere_model(tiny_model):
    tiny_model.decoder = SphereDecoder(4)
    return tiny_model


def test_sphere_mesh_volume_and_watertight(sphere_model):
    code = sphere_scene_code()
    mesh = sphere_model.extract_mesh(code[None], resolution=64, threshold=25.0)[0]
    r = RADIUS_UNIT * BOX
    expected = 4 / 3 * math.pi * r**3
    assert mesh.is_watertight
    assert mesh.volume > 0  # faces wind outward
    assert abs(mesh.volume - expected) / expected < 0.03
    radii = np.linalg.norm(mesh.vertices, axis=1)
    assert np.abs(radii - r).max() < 0.02


def test_sphere_vertex_colours_come_from_the_decoder(sphere_model):
    code = sphere_scene_code()
    mesh = sphere_model.extract_mesh(code[None], resolution=32)[0]
    colours = mesh.visual.vertex_colors[:, :3].astype(int)
    assert (colours[:, 0] == round(255 / (1 + math.exp(-3)))).all()
    assert (colours[:, 1] == round(255 / (1 + math.exp(3)))).all()
    # blue = sigmoid(4 x) follows the vertex x coordinate
    x = mesh.vertices[:, 0] / BOX
    expected_blue = 255 / (1 + np.exp(-4 * x))
    assert np.abs(colours[:, 2] - expected_blue).max() <= 3


def test_empty_field_gives_an_empty_mesh(sphere_model):
    mesh = sphere_model.extract_mesh(sphere_scene_code()[None], resolution=16, threshold=1e9)[0]
    assert len(mesh.vertices) == 0 and len(mesh.faces) == 0


def test_mesh_export_keeps_vertex_colours(sphere_model, tmp_path):
    import trimesh

    from tk.model.mesh import export_mesh

    mesh = sphere_model.extract_mesh(sphere_scene_code()[None], resolution=24)[0]
    for fmt in ("glb", "obj"):
        export_mesh(mesh, tmp_path / f"m.{fmt}")
        back = trimesh.load(tmp_path / f"m.{fmt}", force="mesh", process=False)
        assert len(back.vertices) == len(mesh.vertices)
        assert np.abs(back.visual.vertex_colors[:, :3].astype(int) - mesh.visual.vertex_colors[:, :3]).max() <= 1
