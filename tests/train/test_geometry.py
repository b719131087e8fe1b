"""Training geometry on real renders: the canonical camera reproduces the input view of the true mesh."""

from __future__ import annotations

import math

import numpy as np
import pyarrow.parquet as pq
import pytest
from scipy.ndimage import binary_closing, binary_dilation

from tk import geometry as cam
from tk.contracts.renders import decode_rgba, decode_surface
from tk.train import geometry
from train_fixtures import RENDERS


def _look_at_origin(eye: np.ndarray) -> np.ndarray:
    """c2w of an upright OpenGL camera at `eye` looking at the origin."""
    forward = -eye / np.linalg.norm(eye)
    right = np.cross(forward, [0, 0, 1.0])
    right /= np.linalg.norm(right)
    c2w = np.eye(4)
    c2w[:3, :3] = np.stack([right, np.cross(right, forward), -forward], axis=1)
    c2w[:3, 3] = eye
    return c2w


def test_canonical_camera_is_the_official_front_camera() -> None:
    c2w = cam.canonical_c2w()
    f = 32 / math.tan(math.radians(20))
    o, d = cam.pixel_rays(c2w, f, f, 32, 32, np.array([31.5]), np.array([31.5]))  # centre (32, 32)
    np.testing.assert_allclose(o[0], [1.9, 0, 0], atol=1e-6)
    np.testing.assert_allclose(d[0], [-1, 0, 0], atol=1e-6)  # the centre ray looks at the origin
    _, d = cam.pixel_rays(c2w, f, f, 32, 32, np.array([63]), np.array([0]))
    assert d[0, 1] > 0 and d[0, 2] > 0  # top-right pixel: image right is +Y, image up is +Z
    assert cam.fovy_deg(f, 64) == pytest.approx(40.0)


def test_rays_pass_through_projected_points() -> None:
    rng = np.random.default_rng(0)
    c2w = _look_at_origin(np.array([0.3, -2.0, 0.7]))
    points = rng.uniform(-0.4, 0.4, (50, 3))
    px = cam.project(points, c2w, 90.0, 90.0, 32.0, 32.0)[0]
    o, d = cam.pixel_rays(c2w, 90.0, 90.0, 32.0, 32.0, px[:, 0] - 0.5, px[:, 1] - 0.5)
    t = ((points - o) * d).sum(-1, keepdims=True)
    np.testing.assert_allclose(o + t * d, points, atol=1e-5)


def test_similarity_maps_input_camera_to_canonical() -> None:
    eye = np.array([1.2, -1.7, 0.9])
    c2w = _look_at_origin(eye)
    q, s = geometry.canonical_similarity(c2w)
    np.testing.assert_allclose(q @ q.T, np.eye(3), atol=1e-12)
    assert np.linalg.det(q) == pytest.approx(1.0)
    np.testing.assert_allclose(geometry.transform_c2w(c2w, q, s), cam.canonical_c2w(), atol=1e-12)
    assert s == pytest.approx(1.9 / np.linalg.norm(eye))


def test_canonical_camera_reproduces_input_masks_of_real_renders() -> None:
    rows = pq.read_table(RENDERS / "shards" / "shard-00000.parquet").to_pylist()
    checked = 0
    # each object's surface as the render stage stored it (normalised frame; tests/render checks it against the files)
    for uid, surface in ((r["uid"], decode_surface(r["surface"])[0]) for r in rows if r["surface"] is not None):
        for row in (r for r in rows if r["uid"] == uid):
            c2w = np.asarray(row["c2w"], dtype=np.float64).reshape(4, 4)
            if not geometry.is_input_view(c2w, row["fy"], row["height"]):
                continue
            q, s = geometry.canonical_similarity(c2w)
            vertices = geometry.transform_points(surface, q, s)
            assert np.linalg.norm(vertices, axis=1).max() < 0.87  # inside TripoSR's box
            mask = decode_rgba(row["rgba"])[..., 3] > 0
            px = np.floor(cam.project(vertices, cam.canonical_c2w(), row["fx"], row["fy"], row["cx"],
                                      row["cy"])[0]).astype(int)
            inside = (px[:, 0] >= 0) & (px[:, 0] < row["width"]) & (px[:, 1] >= 0) & (px[:, 1] < row["height"])
            near_mask = binary_dilation(mask, iterations=1)  # silhouette vertices may land on a half-covered pixel
            on_mask = inside.copy()
            on_mask[inside] = near_mask[px[inside, 1], px[inside, 0]]
            assert on_mask.mean() >= 0.98, f"{uid[:8]} view {row['view']}: {on_mask.mean():.3f}"
            # Silhouette IoU: surface samples splatted through the canonical camera vs the rendered mask.
            sp = np.floor(cam.project(vertices, cam.canonical_c2w(), row["fx"], row["fy"], row["cx"], row["cy"])[0]).astype(int)
            sp = np.clip(sp, 0, row["width"] - 1)
            sil = np.zeros_like(mask)
            sil[sp[:, 1], sp[:, 0]] = True
            sil = binary_closing(sil)  # 8192 points leave a few empty pixels inside the silhouette; close them
            assert (sil & mask).sum() / (sil | mask).sum() >= 0.9
            checked += 1
    assert checked >= 16  # every fixture view is a valid input (fovy 40, d in [1.9, 2.5])
