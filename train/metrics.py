"""Evaluation metrics: image (PSNR, SSIM, LPIPS, mask IoU) and surface (Chamfer distance, F-score after alignment).

Surface protocol (TripoSR paper): 10K points sampled on the predicted mesh, compared with the ground
truth's points (those the render stage stored: 8192 per object); the prediction is aligned to the
ground truth by a search over rotations (the 24 rotations of the cube and 48 seeded random ones,
scored on 1K points) and ICP from the best few (rotation + translation, never a reflection or a
scale); then CD and F-score. CD is the plain (not squared) symmetric mean nearest-neighbour distance,
CD = (mean_a d(a, B) + mean_b d(b, A)) / 2, in the units of both inputs: `tk eval` passes points in
the object's normalised frame (longest bbox side 1). F-score at threshold t is the harmonic mean of
precision (share of predicted points within t of the ground truth) and recall (share of ground-truth
points within t of the prediction). Two samples of one surface do not give CD 0 but a floor that
shrinks with the point counts (about 0.005 on the sample objects).
"""

from __future__ import annotations

from typing import Any

import numpy as np

F_THRESHOLDS = (0.05, 0.1)
N_POINTS = 10_000


PSNR_CAP = 100.0  # dB of an exact match (MSE floored at 1e-10): a white object on white must not make a mean inf


def psnr(pred: np.ndarray, target: np.ndarray) -> float:
    """PSNR in dB of two images in [0,1] of the same shape, at most PSNR_CAP."""
    mse = float(np.mean((np.asarray(pred, np.float64) - np.asarray(target, np.float64)) ** 2))
    return min(PSNR_CAP, -10.0 * float(np.log10(max(mse, 1e-10))))


def mask_iou(pred: np.ndarray, target: np.ndarray) -> float:
    """Intersection over union of two boolean masks of one shape; 1.0 when both are empty."""
    pred, target = np.asarray(pred, bool), np.asarray(target, bool)
    union = int(np.count_nonzero(pred | target))
    return 1.0 if union == 0 else int(np.count_nonzero(pred & target)) / union


def ssim(pred: np.ndarray, target: np.ndarray) -> float:
    """SSIM of two (H,W,3) images in [0,1] (scikit-image, Gaussian window as in Wang et al.)."""
    from skimage.metrics import structural_similarity

    return float(structural_similarity(pred, target, channel_axis=-1, data_range=1.0, gaussian_weights=True,
                                       sigma=1.5, use_sample_covariance=False))


def lpips_distance(model: Any, pred: np.ndarray, target: np.ndarray) -> float:
    """LPIPS of two (H,W,3) images in [0,1] with a model from `tk.train.lpips_weights.load_lpips`."""
    import torch

    device = next(model.parameters()).device  # tk eval puts LPIPS on the GPU when there is one
    a = torch.from_numpy(np.ascontiguousarray(pred, np.float32)).permute(2, 0, 1)[None].to(device)
    b = torch.from_numpy(np.ascontiguousarray(target, np.float32)).permute(2, 0, 1)[None].to(device)
    with torch.no_grad():
        return float(model(a, b, normalize=True).item())


def sample_points(mesh: Any, n: int = N_POINTS, seed: int = 0) -> np.ndarray:
    """n points (n,3) drawn uniformly by area on a trimesh surface, seeded."""
    import trimesh

    points, _ = trimesh.sample.sample_surface(mesh, n, seed=seed)
    return np.asarray(points, dtype=np.float64)


def nn_distances(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distances from each point of a (N,3) to b (M,3), and from each point of b to a."""
    from scipy.spatial import cKDTree

    return cKDTree(b).query(a)[0], cKDTree(a).query(b)[0]


def chamfer(a: np.ndarray, b: np.ndarray) -> float:
    """Symmetric Chamfer distance (plain, not squared) between point sets a (N,3) and b (M,3)."""
    d_ab, d_ba = nn_distances(a, b)
    return 0.5 * (float(d_ab.mean()) + float(d_ba.mean()))


def fscore(pred: np.ndarray, gt: np.ndarray, threshold: float) -> float:
    """F-score at `threshold` between predicted (N,3) and ground-truth (M,3) points."""
    d_pg, d_gp = nn_distances(pred, gt)
    precision, recall = float((d_pg < threshold).mean()), float((d_gp < threshold).mean())
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def candidate_rotations(n_random: int = 48, seed: int = 0) -> np.ndarray:
    """(K,3,3) proper rotations: the cube's 24 and `n_random` seeded uniform ones."""
    from scipy.spatial.transform import Rotation

    cube = Rotation.create_group("O").as_matrix()
    rand = Rotation.random(n_random, random_state=seed).as_matrix() if n_random else np.zeros((0, 3, 3))
    return np.concatenate([cube, rand])


def align(pred: np.ndarray, gt: np.ndarray, keep: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Rigidly align pred (N,3) to gt (M,3): rotation search, then ICP. Returns (aligned (N,3), 4x4 transform)."""
    import trimesh

    rng = np.random.default_rng(seed)
    sub_p = pred[rng.choice(len(pred), min(1000, len(pred)), replace=False)]
    sub_g = gt[rng.choice(len(gt), min(1000, len(gt)), replace=False)]
    # Rotate about the centroids so the search is independent of where the two sets lie.
    cp, cg = pred.mean(0), gt.mean(0)
    starts = []
    for r in candidate_rotations(seed=seed):
        start = np.eye(4)
        start[:3, :3] = r
        start[:3, 3] = cg - r @ cp
        starts.append((chamfer(sub_p @ r.T + start[:3, 3], sub_g), start))
    starts.sort(key=lambda s: s[0])
    best: tuple[float, np.ndarray] | None = None
    for _, start in starts[:keep]:
        matrix, _, _ = trimesh.registration.icp(sub_p, sub_g, initial=start, threshold=1e-6, max_iterations=50,
                                                reflection=False, scale=False, translation=True)
        cost = chamfer(sub_p @ matrix[:3, :3].T + matrix[:3, 3], sub_g)
        if best is None or cost < best[0]:
            best = (cost, matrix)
    assert best is not None
    # A final ICP on all points refines what the 1K-point search found.
    matrix, aligned, _ = trimesh.registration.icp(pred, gt, initial=best[1], threshold=1e-7, max_iterations=30,
                                                  reflection=False, scale=False, translation=True)
    return np.asarray(aligned), matrix


def surface_metrics(pred: np.ndarray, gt: np.ndarray, seed: int = 0, thresholds: tuple[float, ...] = F_THRESHOLDS,
                    search: bool = True) -> dict[str, float]:
    """CD and F-scores between predicted (N,3) and ground-truth (M,3) surface points after alignment (module doc)."""
    pred, gt = np.asarray(pred, np.float64), np.asarray(gt, np.float64)
    if search:
        pred, _ = align(pred, gt, seed=seed)
    out = {"chamfer": chamfer(pred, gt)}
    out.update({f"fscore@{t:g}": fscore(pred, gt, t) for t in thresholds})
    return out
