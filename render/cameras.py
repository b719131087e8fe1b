"""Camera sampling: render's random and orbit views, pure seeded numpy functions (no Blender).

The camera convention itself (View, intrinsics, look-at, sphere positions, projection, the seeded rng) is
tk.geometry's; this module only decides which views render draws. A random view is a pure function of
(seed, uid, view index).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from tk.errors import TkError
from tk.framing import default_distance
from tk.geometry import INPUT_FOVY_DEG, View, intrinsics, look_at, rng_for, spherical_eye


@dataclass(frozen=True)
class CameraConfig:
    """Ranges the random views are drawn from (defaults: docs/design.md "Training geometry")."""

    fovy_deg: tuple[float, float] = (INPUT_FOVY_DEG, INPUT_FOVY_DEG)
    distance: tuple[float, float] = default_distance()  # (2.66, 3.06) at fovy 40: the object never touches the border
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
