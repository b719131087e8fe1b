"""Cameras of the official TripoSR code: spherical orbits around the origin, +Z up, OpenGL camera axes.

The torch twin of tk.geometry (tk's one camera convention): the same orbit c2w as
look_at(spherical_eye(...)) and the same ray directions as pixel_rays with intrinsics(fovy, W, H),
kept in the official float32 order of operations; tests/model/test_geometry_twin.py pins the two together.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def ray_directions(height: int, width: int, focal: float = 1.0) -> torch.Tensor:
    """Unit camera-space directions through pixel centres -> (H, W, 3); camera looks along -Z, row 0 on top."""
    i, j = torch.meshgrid(torch.arange(width, dtype=torch.float32) + 0.5,
                          torch.arange(height, dtype=torch.float32) + 0.5, indexing="xy")
    d = torch.stack([(i - width / 2) / focal, -(j - height / 2) / focal, -torch.ones_like(i)], -1)
    return F.normalize(d, dim=-1)


def spherical_c2w(n_views: int, elevation_deg: float, camera_distance: float) -> torch.Tensor:
    """Camera-to-world (n_views, 4, 4) at azimuths linspace(0, 360)[:n], looking at the origin, +Z up.

    The official code calls torch.cross without dim, which picks the first size-3 axis: for
    n_views == 3 that is the views axis and its cameras are wrong. tk uses dim=-1 (equal otherwise).
    """
    azimuth = torch.linspace(0, 360.0, n_views + 1)[:n_views] * math.pi / 180
    elevation = torch.full_like(azimuth, elevation_deg) * math.pi / 180
    dist = torch.full_like(azimuth, camera_distance)
    pos = torch.stack([dist * torch.cos(elevation) * torch.cos(azimuth),
                       dist * torch.cos(elevation) * torch.sin(azimuth),
                       dist * torch.sin(elevation)], dim=-1)
    up = torch.tensor([0.0, 0.0, 1.0]).expand(n_views, 3)
    lookat = F.normalize(-pos, dim=-1)
    right = F.normalize(torch.cross(lookat, up, dim=-1), dim=-1)
    up = F.normalize(torch.cross(right, lookat, dim=-1), dim=-1)
    c2w = torch.zeros(n_views, 4, 4)
    c2w[:, :3, :3] = torch.stack([right, up, -lookat], dim=-1)
    c2w[:, :3, 3] = pos
    c2w[:, 3, 3] = 1.0
    return c2w


def rays_from_c2w(directions: torch.Tensor, c2w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Camera directions (H, W, 3) and c2w (V, 4, 4) -> rays_o, rays_d (V, H, W, 3), rays_d unit length."""
    rays_d = (directions[None, :, :, None, :] * c2w[:, None, None, :3, :3]).sum(-1)
    rays_o = c2w[:, None, None, :3, 3].expand(rays_d.shape)
    return rays_o, F.normalize(rays_d, dim=-1)


def get_spherical_cameras(n_views: int, elevation_deg: float, camera_distance: float, fovy_deg: float,
                          height: int, width: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The official orbit rays: rays_o, rays_d (n_views, H, W, 3) (square pixels, focal from fovy and H)."""
    c2w = spherical_c2w(n_views, elevation_deg, camera_distance)
    fovy = torch.tensor(fovy_deg, dtype=torch.float32) * math.pi / 180  # float32 math, as official
    focal = 0.5 * height / torch.tan(0.5 * fovy)
    # official order: normalise at focal 1, then divide x, y by the focal and normalise again after rotating
    d = ray_directions(height, width, 1.0)
    d = torch.cat([d[..., :2] / focal, d[..., 2:]], dim=-1)
    return rays_from_c2w(d, c2w)
