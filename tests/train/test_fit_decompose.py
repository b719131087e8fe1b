"""bench/fit's error decomposition and texel-limited reference, on hand-made images with known answers."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np


def _square(size: int = 32, half: int = 6, colour: float = 0.2) -> np.ndarray:
    rgba = np.zeros((size, size, 4), np.float32)
    c = size // 2
    rgba[c - half:c + half, c - half:c + half] = (colour, colour, colour, 1.0)
    return rgba


def test_error_parts_puts_each_error_in_its_region() -> None:
    from bench.fit.decompose import error_parts

    rgba = _square()
    target = np.where(rgba[..., 3:] > 0.5, rgba[..., :3], 1.0)
    opacity = rgba[..., 3].copy()
    pred = target.copy()
    pred[16, 16] += 0.3  # one interior pixel off in colour
    opacity[10, 16], pred[10, 16] = 0.0, 1.0  # one object pixel predicted as background: a silhouette error
    parts = error_parts(pred, opacity, rgba)
    inside, mask = 0.3 ** 2, 0.8 ** 2
    assert math.isclose(parts["inside_error"], inside / (inside + mask), rel_tol=1e-5)
    assert math.isclose(parts["mask_error"], mask / (inside + mask), rel_tol=1e-5)
    assert parts["outside_error"] == 0.0
    assert math.isclose(parts["psnr_without_mask"], -10 * math.log10(inside / 32 ** 2), rel_tol=1e-5)
    assert math.isclose(parts["fill"], 144 / 1024) and parts["mask_pixels"] == 1 / 1024
    white = float(((1.0 - target) ** 2).mean())
    assert math.isclose(parts["white_psnr"], -10 * math.log10(white), rel_tol=1e-5)


def test_texel_footprint_and_the_texel_limited_reference() -> None:
    from bench.fit.decompose import texel_limited_psnr, texel_pixels

    fy = 32 / math.tan(math.radians(20))  # fovy 40 at 64x64
    view = SimpleNamespace(height=64, fy=fy)
    assert math.isclose(texel_pixels(view, 16, 0.87), 0.87 * 2 / 16 / (2 * 1.9 * math.tan(math.radians(20)) / 64))
    assert math.isclose(texel_pixels(view, 32, 0.87) * 2, texel_pixels(view, 16, 0.87))
    flat = np.ones((64, 64, 4), np.float32)
    flat[..., :3] = 0.4
    assert texel_limited_psnr(flat, 5.0) > 60  # a flat image loses nothing at any resolution
    rng = np.random.default_rng(0)
    noisy = flat.copy()
    noisy[..., :3] = rng.random((64, 64, 3))
    coarse, fine = texel_limited_psnr(noisy, 5.0), texel_limited_psnr(noisy, 2.5)
    assert fine > coarse and coarse < 15  # pixel-scale detail is lost at a coarse plane, less at a finer one
