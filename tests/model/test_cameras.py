"""Official orbit cameras: valid for every view count (the official helper breaks at 3), front camera as designed."""

from __future__ import annotations

import pytest
import torch

from tk.model.cameras import get_spherical_cameras, spherical_c2w


@pytest.mark.parametrize("n_views", [1, 2, 3, 5])
def test_orbit_cameras_look_at_the_origin(n_views):
    c2w = spherical_c2w(n_views, 20.0, 2.2)
    rot, pos = c2w[:, :3, :3], c2w[:, :3, 3]
    torch.testing.assert_close(rot.transpose(1, 2) @ rot, torch.eye(3).expand(n_views, 3, 3), atol=1e-6, rtol=0)
    torch.testing.assert_close(torch.linalg.det(rot), torch.ones(n_views))
    torch.testing.assert_close(pos.norm(dim=-1), torch.full((n_views,), 2.2))
    # the camera looks along its -Z axis, towards the origin
    torch.testing.assert_close(-rot[:, :, 2], -pos / pos.norm(dim=-1, keepdim=True))


def test_front_camera_is_the_training_geometry():
    """Azimuth 0: camera at (1.9, 0, 0), image-right = world +Y, image-up = world +Z (docs/design.md)."""
    c2w = spherical_c2w(1, 0.0, 1.9)[0]
    torch.testing.assert_close(c2w[:3, 3], torch.tensor([1.9, 0.0, 0.0]))
    torch.testing.assert_close(c2w[:3, 0], torch.tensor([0.0, 1.0, 0.0]))
    torch.testing.assert_close(c2w[:3, 1], torch.tensor([0.0, 0.0, 1.0]))
    rays_o, rays_d = get_spherical_cameras(1, 0.0, 1.9, 40.0, 4, 4)
    # top-left pixel looks up (+Z) and to the image-left (-Y); the vertical half-angle is 20 deg at the edge
    d = rays_d[0, 0, 0]
    assert d[0] < 0 and d[1] < 0 and d[2] > 0
    edge = get_spherical_cameras(1, 0.0, 1.9, 40.0, 2, 1)[1][0, 0, 0]  # pixel centre at half the half-height
    assert torch.isclose(edge[2] / -edge[0], torch.tan(torch.deg2rad(torch.tensor(20.0))) / 2, atol=1e-6)
