"""Image and mesh metrics against hand-worked values."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import trimesh
from scipy.spatial.transform import Rotation

from tk.train import metrics
from train_fixtures import REPO


def _cube_corners() -> np.ndarray:
    return np.array(list(itertools.product([-0.5, 0.5], repeat=3)), dtype=np.float64)


def test_chamfer_and_fscore_hand_worked() -> None:
    a = _cube_corners()
    assert metrics.chamfer(a, a) == 0.0 and metrics.fscore(a, a, 0.01) == 1.0
    # A shift by 0.03 along x: every nearest neighbour is the shifted copy (corners are 1 apart).
    b = a + [0.03, 0.0, 0.0]
    assert metrics.chamfer(a, b) == pytest.approx(0.03)
    assert metrics.fscore(b, a, 0.05) == 1.0 and metrics.fscore(b, a, 0.02) == 0.0
    # Scaling by 1.2 moves each corner by 0.2 * |corner| = 0.2 * sqrt(3)/2.
    c = a * 1.2
    assert metrics.chamfer(a, c) == pytest.approx(0.1 * np.sqrt(3))
    # Half the predicted points within the threshold: precision 0.5, recall 1 -> F = 2/3.
    pred = np.concatenate([a, a + [5.0, 0, 0]])
    assert metrics.fscore(pred, a, 0.1) == pytest.approx(2 / 3)


def test_image_metrics_hand_worked() -> None:
    img = np.full((32, 32, 3), 0.5)
    assert metrics.psnr(img, img + 0.1) == pytest.approx(20.0)
    assert metrics.ssim(img, img) == pytest.approx(1.0)
    rng = np.random.default_rng(0)
    assert metrics.ssim(img, (img + rng.normal(0, 0.2, img.shape)).clip(0, 1)) < 0.5


def test_mask_iou_hand_worked() -> None:
    a = np.zeros((4, 4), bool)
    a[:2] = True  # 8 pixels
    b = np.zeros((4, 4), bool)
    b[1:3] = True  # 8 pixels, 4 shared
    assert metrics.mask_iou(a, b) == pytest.approx(4 / 12)
    assert metrics.mask_iou(a, a) == 1.0 and metrics.mask_iou(a, ~a) == 0.0
    assert metrics.mask_iou(np.zeros((2, 2)), np.zeros((2, 2))) == 1.0  # nothing to find, nothing found


@pytest.fixture(scope="module")
def bunny() -> trimesh.Trimesh:
    mesh = trimesh.load(REPO / "manifests/sample/objects/bunny.glb", force="mesh")
    mesh.vertices = (mesh.vertices - mesh.bounds.mean(0)) / mesh.extents.max()  # the render stage's normalisation
    return mesh


def test_identical_surfaces_give_cd_near_0_and_f_1(bunny: trimesh.Trimesh) -> None:
    pts = metrics.sample_points(bunny, 10_000)
    assert pts.shape == (10_000, 3)
    assert metrics.chamfer(pts, pts) == 0.0
    out = metrics.surface_metrics(pts, metrics.sample_points(bunny, 8192, seed=1), search=False)
    assert out["chamfer"] < 0.01 and out["fscore@0.05"] > 0.99  # two independent samplings of one surface


def test_rotation_search_recovers_a_rotated_copy(bunny: trimesh.Trimesh) -> None:
    gt = metrics.sample_points(bunny, 4000, seed=1)
    rot = Rotation.from_euler("zyx", [100, 35, -60], degrees=True).as_matrix()
    moved = gt @ rot.T + [0.05, -0.02, 0.1]
    aligned, transform = metrics.align(moved, gt)
    assert metrics.chamfer(aligned, gt) < 1e-4
    np.testing.assert_allclose(transform[:3, :3] @ rot, np.eye(3), atol=1e-3)
    assert np.linalg.det(transform[:3, :3]) == pytest.approx(1.0)  # a rotation, never a reflection


def test_no_reflection_for_a_mirrored_copy(bunny: trimesh.Trimesh) -> None:
    gt = metrics.sample_points(bunny, 3000, seed=2)
    mirrored = gt * [-1.0, 1.0, 1.0]  # the bunny is not mirror-symmetric: a rigid motion cannot undo this
    aligned, transform = metrics.align(mirrored, gt)
    assert np.linalg.det(transform[:3, :3]) == pytest.approx(1.0)
    assert metrics.chamfer(aligned, gt) > 5e-3


def test_lpips_distance_feeds_the_images_to_the_models_device() -> None:
    """tk eval moves LPIPS to the GPU; the (H,W,3) numpy images must follow it there (they stayed on the CPU)."""
    import torch

    class Recorder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(1, device="meta"))  # a device that is not the CPU
            self.seen: list[torch.device] = []

        def forward(self, a: torch.Tensor, b: torch.Tensor, normalize: bool = False) -> torch.Tensor:
            self.seen += [a.device, b.device]
            return torch.tensor(0.25)

    model = Recorder()
    img = np.zeros((4, 4, 3), np.float32)
    assert metrics.lpips_distance(model, img, img) == 0.25
    assert [d.type for d in model.seen] == ["meta", "meta"]
