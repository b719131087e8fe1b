"""Training's gauge (docs/design.md, "Training geometry"): which views may be inputs, and the canonical frame.

TripoSR sees no camera, so every sample is expressed in one gauge: the similarity transform
p -> s * Q @ p (Q a rotation about the origin, s = INPUT_DISTANCE / d) that takes the sample's input camera
to the official front camera (tk.geometry.canonical_c2w) is applied to every supervision camera of that
object. The camera convention and its primitives (rays, projection, distances) are tk.geometry's; this
module only adds the gauge. Pure numpy, float64.
"""

from __future__ import annotations

import numpy as np

from tk.geometry import INPUT_DISTANCE, INPUT_FOVY_DEG, camera_distance, canonical_c2w, fovy_deg, off_axis_deg

CANONICAL_ROTATION = canonical_c2w()[:3, :3]  # columns: camera right = world +Y, up = world +Z, back = world +X


def is_input_view(
    c2w: np.ndarray, fy: float, height: int, fovy_tol_deg: float = 0.5, max_off_axis_deg: float = 0.5
) -> bool:
    """True when a view may be the model's input: the input camera's fovy (+-tol), d >= its distance, looking at the origin."""
    return (
        abs(fovy_deg(fy, height) - INPUT_FOVY_DEG) <= fovy_tol_deg
        and camera_distance(c2w) >= INPUT_DISTANCE - 1e-4
        and off_axis_deg(c2w) <= max_off_axis_deg
    )


def canonical_similarity(input_c2w: np.ndarray) -> tuple[np.ndarray, float]:
    """(Q (3,3), s): the rotation about the origin and scale with s*Q taking the input camera to canonical."""
    c2w = np.asarray(input_c2w, dtype=np.float64)
    q = CANONICAL_ROTATION @ c2w[:3, :3].T
    return q, INPUT_DISTANCE / camera_distance(c2w)


def transform_c2w(c2w: np.ndarray, q: np.ndarray, s: float) -> np.ndarray:
    """Apply p -> s*Q@p to a camera: rotation Q@R, centre s*Q@t (intrinsics are unchanged)."""
    c2w = np.asarray(c2w, dtype=np.float64)
    out = np.eye(4)
    out[:3, :3] = q @ c2w[:3, :3]
    out[:3, 3] = s * (q @ c2w[:3, 3])
    return out


def transform_points(points: np.ndarray, q: np.ndarray, s: float) -> np.ndarray:
    """Apply p -> s*Q@p to points (N,3)."""
    return s * (np.asarray(points, dtype=np.float64) @ q.T)
