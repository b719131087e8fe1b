"""tk.geometry, the one camera convention: values of intrinsics, look-at, sphere positions, rays, projection, rng."""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pytest

from tk import geometry
from tk.geometry import View


def test_input_camera_is_one_constant_and_the_front_camera():
    assert (geometry.INPUT_DISTANCE, geometry.INPUT_FOVY_DEG) == (1.9, 40.0)
    from tk import framing
    from tk.render.cameras import CameraConfig
    from tk.render.config import RenderConfig

    assert framing.default_distance() == framing.default_distance(geometry.INPUT_FOVY_DEG)
    assert CameraConfig().fovy_deg == RenderConfig.__dataclass_fields__["fovy_deg"].default == (40.0, 40.0)
    c2w = geometry.canonical_c2w()
    # at (1.9, 0, 0), image-right = world +Y, image-up = world +Z, looking along -X at the origin
    np.testing.assert_array_equal(c2w, [[0, 0, 1, 1.9], [1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 1]])


def test_intrinsics_and_fovy_are_inverse():
    fx, fy, cx, cy = geometry.intrinsics(40.0, 640, 480)
    assert (fx, cx, cy) == (fy, 320.0, 240.0)
    assert fy == pytest.approx(240.0 / math.tan(math.radians(20.0)), rel=1e-15)
    assert geometry.fovy_deg(fy, 480) == pytest.approx(40.0, rel=1e-12)
    assert geometry.focal(90.0, 100) == pytest.approx(50.0, rel=1e-12)  # tan(45 deg) = 1
    for fovy in (10.0, 40.0, 75.5, 120.0):
        assert geometry.fovy_deg(geometry.focal(fovy, 77), 77) == pytest.approx(fovy, rel=1e-12)
    assert View(np.eye(4), fx, fy, cx, cy, 640, 480).fovy_deg == pytest.approx(40.0, rel=1e-12)


def test_sphere_positions():
    np.testing.assert_allclose(geometry.spherical_eye(0.0, 0.0, 2.0), [2.0, 0.0, 0.0], atol=1e-15)
    np.testing.assert_allclose(geometry.spherical_eye(90.0, 0.0, 2.0), [0.0, 2.0, 0.0], atol=1e-15)
    np.testing.assert_allclose(geometry.spherical_eye(123.0, 90.0, 3.0), [0.0, 0.0, 3.0], atol=1e-15)
    e = geometry.spherical_eye(210.0, 30.0, 2.5)
    assert np.linalg.norm(e) == pytest.approx(2.5) and e[2] == pytest.approx(1.25)
    assert geometry.azimuth_of(View(geometry.look_at(e), 1, 1, 0, 0, 1, 1)) == pytest.approx(210.0)


@pytest.mark.parametrize("eye", [(2.0, 0.0, 0.0), (0.3, -2.0, 0.7), (-1.0, -1.0, -2.0), (0.0, 0.0, 3.0)])
def test_look_at_is_orthonormal_upright_and_looks_at_the_target(eye):
    target = np.array([0.1, -0.2, 0.05])
    c2w = geometry.look_at(np.array(eye), target)
    rot = c2w[:3, :3]
    np.testing.assert_allclose(rot.T @ rot, np.eye(3), atol=1e-12)
    assert np.linalg.det(rot) == pytest.approx(1.0)
    np.testing.assert_array_equal(c2w[3], [0, 0, 0, 1])
    np.testing.assert_array_equal(c2w[:3, 3], eye)
    to_target = (target - eye) / np.linalg.norm(target - eye)
    np.testing.assert_allclose(-rot[:, 2], to_target, atol=1e-12)  # the camera looks along its -Z
    if abs(to_target[2]) < 0.99:  # image-right stays horizontal, image-up points up
        assert abs(rot[2, 0]) < 1e-12 and rot[2, 1] > 0
    assert geometry.off_axis_deg(geometry.look_at(np.array(eye))) == pytest.approx(0.0, abs=1e-5)
    assert geometry.camera_distance(c2w) == pytest.approx(np.linalg.norm(eye))


def test_unproject_then_project_returns_pixel_centres_and_depth():
    c2w = geometry.look_at(np.array([1.2, -1.7, 0.9]))
    fx, fy, cx, cy = geometry.intrinsics(35.0, 12, 9)
    depth = np.random.default_rng(0).uniform(1.0, 3.0, (9, 12))
    pts = geometry.unproject(depth, c2w, fx, fy, cx, cy)
    assert pts.shape == (9, 12, 3)
    uv, d = geometry.project(pts.reshape(-1, 3), c2w, fx, fy, cx, cy)
    u, v = np.meshgrid(np.arange(12) + 0.5, np.arange(9) + 0.5)
    np.testing.assert_allclose(uv, np.stack([u.ravel(), v.ravel()], 1), atol=1e-9)
    np.testing.assert_allclose(d, depth.ravel(), atol=1e-12)


def test_project_pixel_frame_row_zero_is_top():
    c2w = geometry.look_at(np.array([2.0, 0.0, 0.0]))
    fx, fy, cx, cy = geometry.intrinsics(40.0, 64, 64)
    uv, depth = geometry.project(np.array([[0, 0, 0], [0, 0, 0.3], [0, 0.3, 0]]), c2w, fx, fy, cx, cy)
    np.testing.assert_allclose(uv[0], [32.0, 32.0])
    np.testing.assert_allclose(depth, [2.0, 2.0, 2.0])
    assert uv[1, 1] == pytest.approx(32.0 - fy * 0.3 / 2.0) and uv[2, 0] == pytest.approx(32.0 + fx * 0.3 / 2.0)


def test_pixel_rays_hit_the_unprojected_points():
    c2w = geometry.look_at(np.array([0.3, -2.0, 0.7]))
    fx, fy, cx, cy = geometry.intrinsics(50.0, 8, 6)
    depth = np.full((6, 8), 2.0)
    v, u = np.mgrid[0:6, 0:8]
    o, d = geometry.pixel_rays(c2w, fx, fy, cx, cy, u, v)
    assert o.dtype == d.dtype == np.float32 and o.shape == d.shape == (48, 3)
    np.testing.assert_allclose(np.linalg.norm(d, axis=1), 1.0, atol=1e-6)
    pts = geometry.unproject(depth, c2w, fx, fy, cx, cy).reshape(-1, 3)
    t = ((pts - o) * d).sum(-1, keepdims=True)
    np.testing.assert_allclose(o + t * d, pts, atol=1e-5)


def test_rng_for_is_sha256_of_the_key():
    """The seeded streams of render and train hash `seed:key...` with sha256: pinned, so draws never change."""
    digest = hashlib.sha256(b"3:epoch:1").digest()
    expected = np.random.default_rng(int.from_bytes(digest[:16], "little")).random(4)
    np.testing.assert_array_equal(geometry.rng_for(3, "epoch", 1).random(4), expected)
    assert geometry.rng_for(3, "camera", "u", 0).random() != geometry.rng_for(4, "camera", "u", 0).random()
    assert geometry.rng_for(0, "framing").integers(1 << 30) == 288179130  # the value before tk.geometry
