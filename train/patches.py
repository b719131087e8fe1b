"""Which pixels of a render get rays: PxP patches (TripoSR paper) or P*P scattered pixels.

Patches: random PxP crops, centres drawn toward the object. A share `uniform_share` of draws picks the centre
uniformly; the rest pick it with probability proportional to the mask, so background is still seen but most
gradient lands on the object. LPIPS needs them (it compares image windows).
Scattered: the same P*P rays drawn one pixel at a time by the same rule. Without LPIPS nothing needs a window,
and rays spread over the whole object carry more information than a block of neighbours (bench/fit measures it).
Either way only the drawn pixels get rays, so the cost is P*P rays whatever the render size.
"""

from __future__ import annotations

import numpy as np


def mask_probabilities(mask: np.ndarray) -> np.ndarray | None:
    """Per pixel (H*W,), probability proportional to the mask; None when the mask is empty (draw uniformly)."""
    weights = np.asarray(mask, dtype=np.float64).reshape(-1)
    total = weights.sum()
    return weights / total if total > 0 else None


def sample_patch(
    mask: np.ndarray, patch: int, uniform_share: float, rng: np.random.Generator
) -> tuple[int, int]:
    """(top, left) of a patch x patch window inside the (H,W) mask, centre importance-sampled by the mask."""
    h, w = mask.shape
    if patch > h or patch > w:
        raise ValueError(f"patch size {patch} exceeds the image size {w}x{h}")
    p = mask_probabilities(mask)
    if rng.random() < uniform_share or p is None:
        centre = int(rng.integers(h * w))
    else:
        centre = int(rng.choice(h * w, p=p))
    cy, cx = divmod(centre, w)
    # Shift the window to keep it inside the image: the centre then lies in it, not always at its middle.
    top = int(np.clip(cy - patch // 2, 0, h - patch))
    left = int(np.clip(cx - patch // 2, 0, w - patch))
    return top, left


def patch_pixels(top: int, left: int, patch: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel column u (P*P,) and row v (P*P,) of a window, row-major (the order of image[top:, left:])."""
    v, u = np.meshgrid(np.arange(top, top + patch), np.arange(left, left + patch), indexing="ij")
    return u.reshape(-1), v.reshape(-1)


def sample_pixels(mask: np.ndarray, count: int, uniform_share: float, rng: np.random.Generator
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Column u (count,) and row v (count,) of pixels drawn with replacement: each one uniformly with probability
    `uniform_share`, else with probability proportional to the mask (uniformly when the mask is empty)."""
    h, w = mask.shape
    p = mask_probabilities(mask)
    uniform = rng.random(count) < uniform_share if p is not None else np.ones(count, dtype=bool)
    flat = rng.integers(h * w, size=count)
    n_mask = int((~uniform).sum())
    if n_mask:
        flat[~uniform] = rng.choice(h * w, size=n_mask, p=p)
    v, u = np.divmod(flat, w)
    return u, v
