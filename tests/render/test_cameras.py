"""Camera sampling without Blender: determinism, ranges, conventions, projection round trips."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tk.errors import TkError
from tk.geometry import intrinsics, look_at, project, unproject
from tk.render.cameras import CameraConfig, sample_view


def test_same_seed_same_cameras_and_other_seed_differs():
    cfg = CameraConfig()
    a = [sample_view(7, "uid-a", i, cfg, 64, 64).c2w for i in range(6)]
    b = [sample_view(7, "uid-a", i, cfg, 64, 64).c2w for i in range(6)]
    c = [sample_view(8, "uid-a", i, cfg, 64, 64).c2w for i in range(6)]
    d = [sample_view(7, "uid-b", i, cfg, 64, 64).c2w for i in range(6)]
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not any(np.allclose(x, y) for x, y in zip(a, c))
    assert not any(np.allclose(x, y) for x, y in zip(a, d))
    assert not np.allclose(a[0], a[1])  # views of one object differ too


def test_default_views_follow_the_training_geometry():
    cfg = CameraConfig()
    elevations = []
    for i in range(200):
        v = sample_view(0, "obj", i, cfg, 512, 512)
        eye = v.c2w[:3, 3]
        dist = np.linalg.norm(eye)
        assert 2.66 <= dist <= 3.06
        assert v.fovy_deg == pytest.approx(40.0)
        elevations.append(math.degrees(math.asin(eye[2] / dist)))
        # the camera looks at the origin: -Z of the camera points from the eye to the centre
        assert np.allclose(-v.c2w[:3, 2], -eye / dist, atol=1e-9)
        # rotation part is orthonormal with det +1, the image stays upright (camera +X horizontal)
        rot = v.c2w[:3, :3]
        assert np.allclose(rot.T @ rot, np.eye(3), atol=1e-9) and np.linalg.det(rot) == pytest.approx(1.0)
        assert abs(rot[2, 0]) < 1e-9
    assert min(elevations) < 0 < max(elevations)  # above and slightly below
    assert -10.0 <= min(elevations) and max(elevations) <= 45.0


def test_intrinsics_are_in_pixels_with_centre_at_half_size():
    fx, fy, cx, cy = intrinsics(40.0, 640, 480)
    assert (cx, cy) == (320.0, 240.0)
    assert fy == pytest.approx(240.0 / math.tan(math.radians(20.0)))
    assert fx == fy


def test_project_conventions_row_zero_is_top_and_centre_pixel():
    c2w = look_at(np.array([2.0, 0.0, 0.0]))  # on +X looking at the origin, world +Z up
    fx, fy, cx, cy = intrinsics(40.0, 64, 64)
    uv, depth = project(np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 0.3], [0.0, 0.3, 0.0]]), c2w, fx, fy, cx, cy)
    assert np.allclose(uv[0], [32.0, 32.0]) and depth[0] == pytest.approx(2.0)
    assert uv[1, 1] < 32.0  # world up is image up: smaller row index
    assert uv[2, 0] > 32.0  # seen from +X, world +Y is image right


def test_unproject_inverts_project():
    v = sample_view(3, "x", 2, CameraConfig(), 32, 24)
    depth = np.full((24, 32), 2.2)
    pts = unproject(depth, v.c2w, v.fx, v.fy, v.cx, v.cy)
    uv, d = project(pts.reshape(-1, 3), v.c2w, v.fx, v.fy, v.cx, v.cy)
    u, vv = np.meshgrid(np.arange(32) + 0.5, np.arange(24) + 0.5)
    assert np.allclose(uv[:, 0], u.ravel()) and np.allclose(uv[:, 1], vv.ravel()) and np.allclose(d, 2.2)


def test_orbit_views_are_evenly_spaced():
    cfg = CameraConfig(orbit=True, orbit_elevation_deg=20.0)
    eyes = [sample_view(0, "o", i, cfg, 64, 64, n_views=4).c2w[:3, 3] for i in range(4)]
    az = [math.degrees(math.atan2(e[1], e[0])) % 360 for e in eyes]
    assert np.allclose(az, [0, 90, 180, 270], atol=1e-6)
    assert all(math.degrees(math.asin(e[2] / np.linalg.norm(e))) == pytest.approx(20.0) for e in eyes)


@pytest.mark.parametrize("kwargs", [{"distance": (0.5, 1.0)}, {"fovy_deg": (50.0, 40.0)},
                                    {"elevation_deg": (-95.0, 10.0)}])
def test_bad_ranges_are_one_line_errors(kwargs):
    with pytest.raises(TkError):
        CameraConfig(**kwargs)


def test_default_distance_keeps_any_normalised_object_inside_the_frame():
    """At fovy 40 the unit cube's bounding sphere fits only from d = 2.53: the default range starts beyond it,
    so no corner of any normalised object is cut by the border (the old 1.9-2.5 cut the fixture's crate)."""
    from tk import framing
    from tk.render.config import RenderConfig

    assert CameraConfig().distance == framing.default_distance() == RenderConfig.__dataclass_fields__["distance"].default
    corners = np.array([[x, y, z] for x in (-0.5, 0.5) for y in (-0.5, 0.5) for z in (-0.5, 0.5)])
    for i in range(300):
        v = sample_view(0, f"obj{i % 7}", i, CameraConfig(), 64, 64)
        uv, depth = project(corners, v.c2w, v.fx, v.fy, v.cx, v.cy)
        assert (depth > 0).all()
        assert uv.min() >= 1.0 and uv.max() <= 63.0, (i, uv.min(), uv.max())
    # the CLI's --distance default is this field's default (generated from it: tests/render/test_config.py)
