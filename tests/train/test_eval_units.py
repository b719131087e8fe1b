"""Chamfer units of `tk eval`: a known shape through the eval's own marching cubes and metric code.

A stand-in renderer answers the density of an analytic sphere, placed in the input gauge p_g = s*Q@p the
way a model trained in that gauge would hold it. Its isosurface against the sphere's own surface points
gives the metric's floor (CD ~ 0), and a sphere 0.03 too large gives CD ~ 0.03 in normalised units for
input views at distance 1.9 and 2.5 alike (the scale s = 1.9/d is undone, not folded into the numbers).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from tk.train import geometry
from tk.train.evaluate import shape_metrics

CENTRE = np.array([0.05, -0.1, 0.08])  # off the origin, so a gauge's rotation and scale both move it
RADIUS = 0.3


class SphereInGauge:
    """Density_act of a sphere (normalised frame: CENTRE, radius) seen in the gauge (q, s); 25 on its surface."""

    def __init__(self, radius: float, q: np.ndarray, s: float) -> None:
        self.cfg = SimpleNamespace(radius=0.87)
        self.radius, self.q, self.s = radius, torch.tensor(q, dtype=torch.float32), s

    def query_triplane(self, decoder: object, points: torch.Tensor, code: torch.Tensor) -> dict[str, torch.Tensor]:
        normalised = points @ self.q / self.s  # p = Q^T p_g / s
        dist = (normalised - torch.tensor(CENTRE, dtype=torch.float32)).norm(dim=-1, keepdim=True)
        return {"density_act": 25.0 + 100.0 * (self.radius - dist)}


def sphere_points(n: int, seed: int) -> np.ndarray:
    """n points uniform on the ground-truth sphere, as the render stage would store them."""
    v = np.random.default_rng(seed).normal(size=(n, 3))
    return CENTRE + RADIUS * v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def gauges() -> list[tuple[np.ndarray, float]]:
    """The gauges of two input views at distance 1.9 and 2.5 from different directions."""
    out = []
    for d, euler in ((1.9, (30, 10, 0)), (2.5, (-120, 25, 0))):
        c2w = np.eye(4)
        rot = Rotation.from_euler("zyx", euler, degrees=True).as_matrix()
        c2w[:3, :3] = rot @ geometry.CANONICAL_ROTATION  # any camera looking at the origin
        c2w[:3, 3] = rot @ [d, 0.0, 0.0]
        q, s = geometry.canonical_similarity(c2w)
        assert s == pytest.approx(1.9 / d)
        out.append((q, s))
    return out


def test_known_shape_scores_its_floor_and_its_error_in_normalised_units(gauges) -> None:
    truth = sphere_points(8192, seed=1)
    code = torch.zeros(3, 1, 1, 1)
    for q, s in gauges:
        exact = shape_metrics(SphereInGauge(RADIUS, q, s), None, code, q, s, truth, resolution=128)
        # marching cubes of the true shape against its own points: only the sampling floor remains
        assert exact["chamfer"] < 0.008 and exact["fscore@0.05"] > 0.999
        too_big = shape_metrics(SphereInGauge(RADIUS + 0.03, q, s), None, code, q, s, truth, resolution=128)
        # concentric spheres 0.03 apart: no rigid motion brings them closer; the offset dominates the floor
        assert too_big["chamfer"] == pytest.approx(0.03, abs=0.003), s
    cds = [shape_metrics(SphereInGauge(RADIUS + 0.03, q, s), None, code, q, s, truth, resolution=128)["chamfer"]
           for q, s in gauges]
    assert cds[0] == pytest.approx(cds[1], abs=0.002)  # the input view's distance does not scale the metric


def test_no_level_set_is_an_empty_prediction(gauges) -> None:
    q, s = gauges[0]
    row = shape_metrics(SphereInGauge(-1.0, q, s), None, torch.zeros(3, 1, 1, 1), q, s, sphere_points(100, 0),
                        resolution=16)
    assert np.isnan(row["chamfer"]) and row["fscore@0.1"] == 0.0 and row["note"] == "no surface predicted"
