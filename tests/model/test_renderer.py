"""Volume-rendering math against hand-computed cases."""

from __future__ import annotations

import math

import torch

from tk.model.renderer import composite, midpoint_samples, rays_intersect_box, sample_points, triplane_features


def test_ray_box_intersection():
    rays_o = torch.tensor([[2.0, 0.0, 0.0], [2.0, 0.0, 0.0], [0.0, 0.0, 0.0], [2.0, 2.0, 0.0]])
    rays_d = torch.tensor([[-1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [-1.0, 0.0, 0.0]])
    t_near, t_far, valid = rays_intersect_box(rays_o, rays_d, 1.0)
    r = 1.0 - 1e-3  # the official box is shrunk by 1e-3
    assert valid.tolist() == [True, False, True, False]
    torch.testing.assert_close(t_near[:, 0], torch.tensor([2 - r, 0.0, 0.0, 0.0]))
    torch.testing.assert_close(t_far[:, 0], torch.tensor([2 + r, 0.0, r, 0.0]))


def test_midpoints_and_points():
    t_vals, t_mid = midpoint_samples(4)
    torch.testing.assert_close(t_mid, torch.tensor([0.125, 0.375, 0.625, 0.875]))
    pts = sample_points(torch.zeros(1, 3), torch.tensor([[0.0, 0.0, 1.0]]), torch.tensor([[1.0]]),
                        torch.tensor([[3.0]]), t_mid)
    torch.testing.assert_close(pts[0, :, 2], torch.tensor([1.25, 1.75, 2.25, 2.75]))


def test_composite_by_hand():
    sigma = torch.tensor([[0.0, 2.0, 4.0]])
    color = torch.tensor([[[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0]]])
    delta = torch.full((3,), 0.5)
    a = [1 - math.exp(-0.5 * s) for s in (0.0, 2.0, 4.0)]
    t1 = 1 - a[0] + 1e-10
    t2 = t1 * (1 - a[1] + 1e-10)
    w = [a[0], a[1] * t1, a[2] * t2]
    rgb, opacity = composite(sigma, color, delta)
    torch.testing.assert_close(rgb[0], torch.tensor(w))
    torch.testing.assert_close(opacity[0], torch.tensor(sum(w)))


def test_triplane_lookup_keeps_fp32_coordinates_for_bf16_planes():
    # Under bf16 autocast the scene codes are bf16 while the sample points stay fp32. The lookup must not round
    # the points to bf16 (up to 1/8 texel off on a 64² plane): it must equal the fp32 lookup of the same planes.
    torch.manual_seed(0)
    planes = torch.randn(3, 4, 64, 64).to(torch.bfloat16)
    points = torch.rand(4096, 3) * 1.8 - 0.9
    got = triplane_features(planes, points)
    want = triplane_features(planes.float(), points)
    assert got.dtype == torch.float32
    torch.testing.assert_close(got, want, rtol=0, atol=1e-6)
