"""tk/model/cameras.py (torch, the official orbit) is the twin of tk.geometry (numpy): same cameras, same rays."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tk import geometry
from tk.model.cameras import get_spherical_cameras, spherical_c2w


@pytest.mark.parametrize("n_views, elevation, distance", [(1, 0.0, geometry.INPUT_DISTANCE), (3, 15.0, 2.2),
                                                          (8, -20.0, 2.9), (5, 60.0, 1.5)])
def test_orbit_c2w_is_look_at_of_the_sphere_position(n_views, elevation, distance):
    c2w = spherical_c2w(n_views, elevation, distance).double().numpy()
    for k in range(n_views):
        expected = geometry.look_at(geometry.spherical_eye(360.0 * k / n_views, elevation, distance))
        np.testing.assert_allclose(c2w[k], expected, atol=1e-6, rtol=0)


def test_front_orbit_camera_is_the_canonical_camera():
    np.testing.assert_allclose(spherical_c2w(1, 0.0, geometry.INPUT_DISTANCE)[0].double().numpy(),
                               geometry.canonical_c2w(), atol=1e-6, rtol=0)


@pytest.mark.parametrize("fovy, height, width", [(geometry.INPUT_FOVY_DEG, 16, 16), (30.0, 12, 20), (55.0, 9, 7)])
def test_orbit_rays_are_the_pixel_rays_of_the_same_intrinsics(fovy, height, width):
    rays_o, rays_d = get_spherical_cameras(3, 10.0, 2.4, fovy, height, width)
    c2w = spherical_c2w(3, 10.0, 2.4).double().numpy()
    fx, fy, cx, cy = geometry.intrinsics(fovy, width, height)
    v, u = np.mgrid[0:height, 0:width]
    for k in range(3):
        o, d = geometry.pixel_rays(geometry.look_at(geometry.spherical_eye(120.0 * k, 10.0, 2.4)),
                                   fx, fy, cx, cy, u, v)
        np.testing.assert_allclose(rays_d[k].reshape(-1, 3).numpy(), d, atol=1e-6, rtol=0)
        np.testing.assert_allclose(rays_o[k].reshape(-1, 3).numpy(), o, atol=1e-6, rtol=0)
        # and through tk.geometry's own c2w of the torch orbit, the rays agree just as closely
        np.testing.assert_allclose(geometry.pixel_rays(c2w[k], fx, fy, cx, cy, u, v)[1], d, atol=1e-6, rtol=0)
    assert torch.allclose(rays_d.norm(dim=-1), torch.ones(()), atol=1e-6)
