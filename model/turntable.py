"""Turntable of a reconstruction: orbit views rendered from the triplane with the model's own renderer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from tk.atomic import atomic_path
from tk.geometry import INPUT_DISTANCE, INPUT_FOVY_DEG


def turntable_frames(model, scene_code: torch.Tensor, n_views: int = 8, size: int = 128,
                     elevation_deg: float = 15.0, camera_distance: float = INPUT_DISTANCE,
                     fovy_deg: float = INPUT_FOVY_DEG) -> list[np.ndarray]:
    """scene_code (3, C, H, W) -> n_views frames (size, size, 3) uint8 at evenly spaced azimuths."""
    views = model.render(scene_code[None], n_views, elevation_deg, camera_distance, fovy_deg, size, size, return_type="np")[0]
    return [(np.clip(v, 0, 1) * 255).round().astype(np.uint8) for v in views]


def write_turntable(frames: list[np.ndarray], gif_path: Path, strip_path: Path, fps: int = 8) -> None:
    """Write an animated GIF (looping) and a PNG strip of the frames side by side, atomically."""
    from PIL import Image

    images = [Image.fromarray(f) for f in frames]
    with atomic_path(gif_path) as tmp:
        images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:], duration=int(1000 / fps), loop=0)
    with atomic_path(strip_path) as tmp:
        Image.fromarray(np.concatenate(frames, axis=1)).save(tmp, format="PNG")
