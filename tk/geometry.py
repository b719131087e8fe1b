"""tk's one camera convention: views, intrinsics, look-at, sphere positions, rays, projection, seeded draws.

Conventions (docs/design.md, "Contract 2: render shards" and "Training geometry"): the world is Blender's (+Z up); a camera is
OpenGL/Blender (+X right, +Y up, looks along -Z) and is stored as a row-major 4x4 c2w; intrinsics are
in pixels (square pixels, principal point at the image centre); pixel (u, v) has its centre at
(u + 0.5, v + 0.5) with row 0 at the top; depth is planar (along the camera's -Z).

TripoSR sees its input from one fixed camera, the official front camera: at (INPUT_DISTANCE, 0, 0) looking
at the origin, +Z up, image-right = world +Y, vertical field of view INPUT_FOVY_DEG.

Render, train, eval and the demo use these functions; `tk/model/cameras.py` is their torch twin (the
official orbit), pinned to them by tests/model/test_geometry_twin.py. Pure numpy, float64.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np

INPUT_DISTANCE = 1.9  # the official front camera: (1.9, 0, 0) looking at the origin, +Z up
INPUT_FOVY_DEG = 40.0
WORLD_UP = (0.0, 0.0, 1.0)


def fovy_deg(fy: float, height: int) -> float:
    """Vertical field of view in degrees from the focal length in pixels."""
    return math.degrees(2.0 * math.atan(height / (2.0 * fy)))


def focal(fovy: float, height: int) -> float:
    """Focal length in pixels (fy) of a vertical field of view `fovy` (degrees) over `height` pixels."""
    return (height / 2.0) / math.tan(math.radians(fovy) / 2.0)


def intrinsics(fovy: float, width: int, height: int) -> tuple[float, float, float, float]:
    """(fx, fy, cx, cy) for square pixels, principal point at the image centre."""
    fy = focal(fovy, height)
    return fy, fy, width / 2.0, height / 2.0


@dataclass(frozen=True)
class View:
    """One camera: c2w (4x4, OpenGL/Blender convention) and pinhole intrinsics in pixels."""

    c2w: np.ndarray
    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int

    @property
    def fovy_deg(self) -> float:
        """Vertical field of view in degrees."""
        return fovy_deg(self.fy, self.height)


def rng_for(seed: int, *key: object) -> np.random.Generator:
    """A numpy Generator seeded by sha256 of (seed, *key): the same on every machine, process and worker."""
    text = ":".join([str(int(seed)), *(str(k) for k in key)])
    return np.random.default_rng(int.from_bytes(hashlib.sha256(text.encode()).digest()[:16], "little"))


def look_at(eye: np.ndarray, target: np.ndarray | None = None, up: np.ndarray | None = None) -> np.ndarray:
    """c2w (4x4) of a camera at `eye` looking at `target` (origin), world +Z up (or `up`) kept upright."""
    eye = np.asarray(eye, dtype=np.float64)
    target = np.zeros(3) if target is None else np.asarray(target, dtype=np.float64)
    up = np.array(WORLD_UP) if up is None else np.asarray(up, dtype=np.float64)
    back = eye - target
    back /= np.linalg.norm(back)
    right = np.cross(up, back)
    if np.linalg.norm(right) < 1e-9:  # looking straight along `up`: any right vector will do
        right = np.cross(np.array([0.0, 1.0, 0.0]), back)
    right /= np.linalg.norm(right)
    cam_up = np.cross(back, right)
    c2w = np.eye(4)
    c2w[:3, 0], c2w[:3, 1], c2w[:3, 2], c2w[:3, 3] = right, cam_up, back, eye
    return c2w


def spherical_eye(azimuth_deg: float, elevation_deg: float, distance: float) -> np.ndarray:
    """Position on a sphere around the origin; azimuth 0 is +X, 90 is +Y; elevation 90 is +Z."""
    az, el = math.radians(azimuth_deg), math.radians(elevation_deg)
    return distance * np.array([math.cos(el) * math.cos(az), math.cos(el) * math.sin(az), math.sin(el)])


def azimuth_of(view: View) -> float:
    """Azimuth (degrees in [0, 360), 0 = +X) of the camera position; render places its lighting rig relative to it."""
    x, y = view.c2w[0, 3], view.c2w[1, 3]
    return math.degrees(math.atan2(y, x)) % 360.0


def camera_distance(c2w: np.ndarray) -> float:
    """Distance of the camera centre from the world origin (the object's centre)."""
    return float(np.linalg.norm(np.asarray(c2w, dtype=np.float64)[:3, 3]))


def off_axis_deg(c2w: np.ndarray) -> float:
    """Angle in degrees between the viewing direction and the direction to the origin."""
    c2w = np.asarray(c2w, dtype=np.float64)
    forward = -c2w[:3, 2]
    to_origin = -c2w[:3, 3] / max(np.linalg.norm(c2w[:3, 3]), 1e-12)
    return math.degrees(math.acos(float(np.clip(forward @ to_origin, -1.0, 1.0))))


def canonical_c2w() -> np.ndarray:
    """The official TripoSR front camera as a 4x4 c2w (azimuth 0, elevation 0, distance INPUT_DISTANCE)."""
    return look_at(spherical_eye(0.0, 0.0, INPUT_DISTANCE))


def camera_directions(u: np.ndarray, v: np.ndarray, fx: float, fy: float, cx: float, cy: float) -> np.ndarray:
    """Camera-space directions (..., 3) through continuous pixel coords (u, v), scaled to z = -1 (planar depth 1)."""
    return np.stack([(u - cx) / fx, -(v - cy) / fy, -np.ones_like(u)], axis=-1)


def pixel_rays(
    c2w: np.ndarray, fx: float, fy: float, cx: float, cy: float, u: np.ndarray, v: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Rays through the centres of pixels (u, v) (integer indices): origins (N,3), unit directions (N,3), float32."""
    c2w = np.asarray(c2w, dtype=np.float64)
    u = np.asarray(u, dtype=np.float64).reshape(-1)
    v = np.asarray(v, dtype=np.float64).reshape(-1)
    dirs = camera_directions(u + 0.5, v + 0.5, fx, fy, cx, cy) @ c2w[:3, :3].T
    dirs /= np.linalg.norm(dirs, axis=-1, keepdims=True)
    origins = np.broadcast_to(c2w[:3, 3], dirs.shape)
    return origins.astype(np.float32), dirs.astype(np.float32)


def project(points: np.ndarray, c2w: np.ndarray, fx: float, fy: float, cx: float, cy: float
            ) -> tuple[np.ndarray, np.ndarray]:
    """World points (N, 3) -> continuous pixel coords (N, 2) (x right, y down) and planar depth (N,)."""
    w2c = np.linalg.inv(np.asarray(c2w, dtype=np.float64).reshape(4, 4))
    p = np.asarray(points, dtype=np.float64) @ w2c[:3, :3].T + w2c[:3, 3]
    depth = -p[:, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        u = cx + fx * p[:, 0] / depth
        v = cy - fy * p[:, 1] / depth
    return np.stack([u, v], axis=1), depth


def unproject(depth: np.ndarray, c2w: np.ndarray, fx: float, fy: float, cx: float, cy: float) -> np.ndarray:
    """World points (H, W, 3) of a planar depth map (H, W) at pixel centres."""
    h, w = depth.shape
    u, v = np.meshgrid(np.arange(w) + 0.5, np.arange(h) + 0.5)
    cam = camera_directions(u, v, fx, fy, cx, cy) * depth[..., None]
    c2w = np.asarray(c2w, dtype=np.float64).reshape(4, 4)
    return cam @ c2w[:3, :3].T + c2w[:3, 3]
