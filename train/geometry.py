"""Training geometry (docs/design.md): canonicalising the input camera, and rays for chosen pixels.

TripoSR sees no camera, so every sample is expressed in one gauge: the similarity transform
p -> s * Q @ p (Q a rotation about the origin, s = 1.9 / d) that takes the sample's input camera to
the official front camera (position (1.9, 0, 0), looking at the origin, +Z up, image-right = +Y,
fovy 40 degrees) is applied to every supervision camera of that object. Pure numpy, float64.

Cameras follow the shard contract: c2w row-major 4x4, OpenGL axes (+X right, +Y up, looking
along -Z), pixel (u, v) has its centre at (u + 0.5, v + 0.5), row 0 at the top.
"""

from __future__ import annotations

import math

import numpy as np

from tk.framing import INPUT_DISTANCE as CANONICAL_DISTANCE  # the official front camera, written once (tk/framing.py)
from tk.framing import INPUT_FOVY_DEG as CANONICAL_FOVY_DEG

# Columns: camera right = world +Y, camera up = world +Z, camera back (+Z_cam) = world +X.
CANONICAL_ROTATION = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])


def canonical_c2w() -> np.ndarray:
    """The official TripoSR front camera as a 4x4 c2w (azimuth 0, elevation 0, distance 1.9)."""
    c2w = np.eye(4)
    c2w[:3, :3] = CANONICAL_ROTATION
    c2w[:3, 3] = (CANONICAL_DISTANCE, 0.0, 0.0)
    return c2w


def fovy_deg(fy: float, height: int) -> float:
    """Vertical field of view in degrees from the focal length in pixels."""
    return math.degrees(2.0 * math.atan(height / (2.0 * fy)))


def camera_distance(c2w: np.ndarray) -> float:
    """Distance of the camera centre from the world origin (the object's centre)."""
    return float(np.linalg.norm(np.asarray(c2w, dtype=np.float64)[:3, 3]))


def off_axis_deg(c2w: np.ndarray) -> float:
    """Angle in degrees between the viewing direction and the direction to the origin."""
    c2w = np.asarray(c2w, dtype=np.float64)
    forward = -c2w[:3, 2]
    to_origin = -c2w[:3, 3] / max(np.linalg.norm(c2w[:3, 3]), 1e-12)
    return math.degrees(math.acos(float(np.clip(forward @ to_origin, -1.0, 1.0))))


def is_input_view(
    c2w: np.ndarray, fy: float, height: int, fovy_tol_deg: float = 0.5, max_off_axis_deg: float = 0.5
) -> bool:
    """True when a view may be the model's input: fovy 40 deg (+-tol), d >= 1.9, looking at the origin."""
    return (
        abs(fovy_deg(fy, height) - CANONICAL_FOVY_DEG) <= fovy_tol_deg
        and camera_distance(c2w) >= CANONICAL_DISTANCE - 1e-4
        and off_axis_deg(c2w) <= max_off_axis_deg
    )


def canonical_similarity(input_c2w: np.ndarray) -> tuple[np.ndarray, float]:
    """(Q (3,3), s): the rotation about the origin and scale with s*Q taking the input camera to canonical."""
    c2w = np.asarray(input_c2w, dtype=np.float64)
    q = CANONICAL_ROTATION @ c2w[:3, :3].T
    return q, CANONICAL_DISTANCE / camera_distance(c2w)


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


def pixel_rays(
    c2w: np.ndarray, fx: float, fy: float, cx: float, cy: float, u: np.ndarray, v: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Rays through pixel centres (u+0.5, v+0.5): origins (N,3) and unit directions (N,3), float32."""
    c2w = np.asarray(c2w, dtype=np.float64)
    u = np.asarray(u, dtype=np.float64).reshape(-1)
    v = np.asarray(v, dtype=np.float64).reshape(-1)
    # Row 0 is the top row, camera +Y is up, and the camera looks along -Z.
    dirs_cam = np.stack([(u + 0.5 - cx) / fx, -(v + 0.5 - cy) / fy, -np.ones_like(u)], axis=-1)
    dirs = dirs_cam @ c2w[:3, :3].T
    dirs /= np.linalg.norm(dirs, axis=-1, keepdims=True)
    origins = np.broadcast_to(c2w[:3, 3], dirs.shape)
    return origins.astype(np.float32), dirs.astype(np.float32)


def project(points: np.ndarray, c2w: np.ndarray, fx: float, fy: float, cx: float, cy: float) -> np.ndarray:
    """Pixel coordinates (N,2) as (x, y) in the contract's pixel frame of world points (N,3) in front of the camera."""
    c2w = np.asarray(c2w, dtype=np.float64)
    cam = (np.asarray(points, dtype=np.float64) - c2w[:3, 3]) @ c2w[:3, :3]
    depth = -cam[:, 2]
    x = fx * cam[:, 0] / depth + cx
    y = -fy * cam[:, 1] / depth + cy
    return np.stack([x, y], axis=-1)
