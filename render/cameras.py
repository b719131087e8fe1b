"""Camera sampling: pure, seeded numpy functions (no Blender), so views can be tested and reproduced anywhere.

Conventions (docs/design.md): world is Blender's (+Z up); a camera is OpenGL/Blender (+X right, +Y up,
looks along -Z); pixel (u, v) has its centre at (u + 0.5, v + 0.5) with row 0 at the top.
A random view is a pure function of (seed, uid, view index).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np

from tk.errors import TkError


@dataclass(frozen=True)
class CameraConfig:
    """Ranges the random views are drawn from (defaults: docs/design.md "Training geometry")."""

    fovy_deg: tuple[float, float] = (40.0, 40.0)
    distance: tuple[float, float] = (2.66, 3.06)  # tk.framing.default_distance(40): the object never touches the border
    elevation_deg: tuple[float, float] = (-10.0, 45.0)
    orbit: bool = False  # fixed evenly spaced azimuths at `orbit_elevation_deg` (evaluation views)
    orbit_elevation_deg: float = 15.0

    def __post_init__(self) -> None:
        lo, hi = self.fovy_deg
        if not 1.0 <= lo <= hi < 179.0:
            raise TkError(f"field of view {self.fovy_deg}: expected 1 <= min <= max < 179 degrees")
        lo, hi = self.distance
        if not 0.0 < lo <= hi:
            raise TkError(f"camera distance {self.distance}: expected 0 < min <= max")
        if lo <= 0.87:
            raise TkError(f"camera distance {lo} puts the camera inside the object's box; use a distance > 0.87")
        lo, hi = self.elevation_deg
        if not -90.0 < lo <= hi < 90.0:
            raise TkError(f"elevation {self.elevation_deg}: expected -90 < min <= max < 90 degrees")


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
        return math.degrees(2.0 * math.atan(self.height / (2.0 * self.fy)))


def rng_for(seed: int, *key: object) -> np.random.Generator:
    """A numpy Generator seeded by sha256 of (seed, *key): the same on every machine and run."""
    text = ":".join([str(int(seed)), *(str(k) for k in key)])
    return np.random.default_rng(int.from_bytes(hashlib.sha256(text.encode()).digest()[:16], "little"))


def intrinsics(fovy_deg: float, width: int, height: int) -> tuple[float, float, float, float]:
    """(fx, fy, cx, cy) for square pixels, principal point at the image centre."""
    fy = (height / 2.0) / math.tan(math.radians(fovy_deg) / 2.0)
    return fy, fy, width / 2.0, height / 2.0


def look_at(eye: np.ndarray, target: np.ndarray | None = None, up: np.ndarray | None = None) -> np.ndarray:
    """c2w (4x4) of a camera at `eye` looking at `target` (origin), world +Z up (or `up`) kept upright."""
    eye = np.asarray(eye, dtype=np.float64)
    target = np.zeros(3) if target is None else np.asarray(target, dtype=np.float64)
    up = np.array([0.0, 0.0, 1.0]) if up is None else np.asarray(up, dtype=np.float64)
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
    """Camera position on a sphere around the origin; azimuth 0 is +X, 90 is +Y."""
    az, el = math.radians(azimuth_deg), math.radians(elevation_deg)
    return distance * np.array([math.cos(el) * math.cos(az), math.cos(el) * math.sin(az), math.sin(el)])


def sample_view(seed: int, uid: str, view: int, cfg: CameraConfig, width: int, height: int,
                n_views: int = 1) -> View:
    """The camera of view `view` of object `uid`: random (seeded) or, with `cfg.orbit`, an even orbit."""
    rng = rng_for(seed, "camera", uid, view)
    fovy = float(rng.uniform(*cfg.fovy_deg))
    distance = float(rng.uniform(*cfg.distance))
    if cfg.orbit:
        azimuth = 360.0 * view / max(n_views, 1)
        elevation = cfg.orbit_elevation_deg
        distance = 0.5 * (cfg.distance[0] + cfg.distance[1])
        fovy = 0.5 * (cfg.fovy_deg[0] + cfg.fovy_deg[1])
    else:
        azimuth = float(rng.uniform(0.0, 360.0))
        # uniform in sin(elevation): directions spread evenly over the band's area, not bunched at the top
        s = rng.uniform(math.sin(math.radians(cfg.elevation_deg[0])), math.sin(math.radians(cfg.elevation_deg[1])))
        elevation = math.degrees(math.asin(float(s)))
    c2w = look_at(spherical_eye(azimuth, elevation, distance))
    fx, fy, cx, cy = intrinsics(fovy, width, height)
    return View(c2w=c2w, fx=fx, fy=fy, cx=cx, cy=cy, width=width, height=height)


def azimuth_of(view: View) -> float:
    """Azimuth (degrees, 0 = +X) of the camera position; the lighting rig is placed relative to it."""
    x, y = view.c2w[0, 3], view.c2w[1, 3]
    return math.degrees(math.atan2(y, x)) % 360.0


def project(points: np.ndarray, c2w: np.ndarray, fx: float, fy: float, cx: float, cy: float
            ) -> tuple[np.ndarray, np.ndarray]:
    """Project world points (N, 3) to continuous pixel coords (N, 2) (x right, y down) and planar depth (N,)."""
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
    cam = np.stack([(u - cx) / fx * depth, -(v - cy) / fy * depth, -depth], axis=-1)
    c2w = np.asarray(c2w, dtype=np.float64).reshape(4, 4)
    return cam @ c2w[:3, :3].T + c2w[:3, 3]
