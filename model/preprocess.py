"""Input images for TripoSR: loading any PIL mode, the official foreground crop, grey composite and resize.

The crop and composite reproduce the official run.py, quirks included (the last foreground row and
column are dropped; uint8 conversion truncates), so tk and the official code see the same pixels.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, UnidentifiedImageError

from tk.errors import TkError


def to_rgba8(image: Image.Image, name: str = "image") -> np.ndarray:
    """Any PIL image with a mask (RGBA, LA, palette with transparency; Pillow reads 16-bit PNGs as 8-bit) -> (H, W, 4) uint8.

    Images without an alpha channel raise TkError: TripoSR needs the object mask.
    """
    has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (image.mode == "P" and "transparency" in image.info)
    if not has_alpha:
        raise TkError(f"{name}: has no alpha channel (mode {image.mode}); tk infer needs RGBA with the object "
                      "mask in alpha: cut the object out first (e.g. with rembg on a machine with network)")
    return np.asarray(image.convert("RGBA"), dtype=np.uint8).copy()


def load_rgba(path: str | Path) -> np.ndarray:
    """Read an image file -> (H, W, 4) uint8 with its mask; one-line TkError for unreadable files."""
    try:
        with Image.open(path) as im:
            im.load()
            return to_rgba8(im, str(path))
    except (UnidentifiedImageError, OSError) as e:
        raise TkError(f"{path}: cannot read the image ({e.__class__.__name__}: {e})") from None


def resize_foreground(rgba: np.ndarray, ratio: float) -> np.ndarray:
    """Crop to the alpha>0 box, pad to a square, then pad so the object spans `ratio` of the side.

    (H, W, 4) uint8 -> (S, S, 4) uint8. As in the official code the box's max row/column are used as
    exclusive slice ends, so the last foreground row and column are dropped.
    """
    if not 0 < ratio <= 1:
        raise TkError(f"foreground ratio {ratio} must be in (0, 1]")
    ys, xs = np.nonzero(rgba[..., 3] > 0)
    if ys.size == 0:
        raise TkError("the image's alpha channel is empty (fully transparent): there is no object to reconstruct")
    fg = rgba[ys.min():ys.max(), xs.min():xs.max()]
    if fg.size == 0:
        raise TkError("the object in the alpha mask is a single row or column of pixels: too small to reconstruct")
    size = max(fg.shape[0], fg.shape[1])
    ph, pw = (size - fg.shape[0]) // 2, (size - fg.shape[1]) // 2
    square = np.pad(fg, ((ph, size - fg.shape[0] - ph), (pw, size - fg.shape[1] - pw), (0, 0)))
    new_size = int(size / ratio)
    p0 = (new_size - size) // 2
    return np.pad(square, ((p0, new_size - size - p0), (p0, new_size - size - p0), (0, 0)))


def composite_grey(rgba: np.ndarray) -> np.ndarray:
    """(H, W, 4) uint8 -> (H, W, 3) uint8 over grey 0.5, truncating like run.py's astype(uint8)."""
    x = rgba.astype(np.float32) / 255.0
    rgb = x[..., :3] * x[..., 3:4] + (1 - x[..., 3:4]) * 0.5
    return (rgb * 255.0).astype(np.uint8)


def prepare_rgba(rgba: np.ndarray, foreground_ratio: float = 0.85) -> np.ndarray:
    """The official run.py preprocessing of an RGBA image -> (S, S, 3) uint8 on grey."""
    return composite_grey(resize_foreground(rgba, foreground_ratio))


def image_to_float(image: Any) -> torch.Tensor:
    """PIL / uint8 ndarray / float ndarray or tensor (H, W, 3) -> float32 tensor (H, W, 3) in [0, 1]."""
    if isinstance(image, Image.Image):
        if image.mode != "RGB":
            raise TkError(f"model input image has mode {image.mode}; give RGB (use tk.model.preprocess.prepare_rgba for RGBA)")
        return torch.from_numpy(np.asarray(image, dtype=np.float32) / 255.0)
    if isinstance(image, np.ndarray):
        if image.dtype == np.uint8:
            return torch.from_numpy(image.astype(np.float32) / 255.0)
        return torch.from_numpy(np.ascontiguousarray(image)).float()  # floats are taken as [0, 1], as official
    if isinstance(image, torch.Tensor):
        return image.float()
    raise TkError(f"unsupported image type {type(image).__name__}: give PIL images, numpy arrays or tensors")


def resize_batch(images: torch.Tensor, size: int) -> torch.Tensor:
    """(B, H, W, 3) -> (B, 3, size, size), antialiased bilinear (always applied, identity at equal size)."""
    return F.interpolate(images.permute(0, 3, 1, 2), (size, size), mode="bilinear", align_corners=False, antialias=True)


def images_to_tensor(images: Any, size: int) -> torch.Tensor:
    """The official ImagePreprocessor: one image, a list, or a (B, H, W, 3) batch -> (B, 3, size, size) in [0, 1]."""
    if isinstance(images, (np.ndarray, torch.Tensor)) and images.ndim == 4:
        return resize_batch(image_to_float(images), size)
    if not isinstance(images, Sequence) or isinstance(images, (str, bytes)):
        images = [images]
    out = []
    for im in images:
        t = image_to_float(im)
        if t.ndim != 3 or t.shape[-1] != 3:
            raise TkError(f"model input image has shape {tuple(t.shape)}; expected (H, W, 3) RGB")
        out.append(resize_batch(t[None], size)[0])
    return torch.stack(out)
