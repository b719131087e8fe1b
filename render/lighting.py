"""Lighting sampling: pure, seeded functions returning a JSON-able description that the worker applies.

A description is one of three environments (an HDRI map, a physical sky, a flat colour) plus zero or more
area lamps (key / fill / rim, placed relative to a reference azimuth, usually the camera's). It is what the
`light` column of a shard stores, so a view's lighting can be read back and reproduced.

Presets (`--lighting`):
- `mixed` (default): per view, an HDRI (60%, from `--hdri-dir` or Blender's bundled CC0 studio lights), a
  sky (25%) or a lamp rig in a dim room (15%); HDRI and sky views get a lamp rig half the time.
- `hdri`: HDRI environments only. `sky`: physical sky with sun only. `studio`: key/fill/rim area lamps with a
  dim grey world (needs no HDRI at all). `uniform`: flat white world (shading-free, for debugging masks).
Lighting is drawn once per object by default (`per="object"`: environment, rotation, strength and lamps fixed
in the object's world frame and shared by all its views, varied across objects). `per="view"` redraws it for every
view around that view's camera: the views of one object then disagree on every surface's colour, which TripoSR's
view-independent colour cannot fit (bench/render measures the disagreement); use it only for view-dependent models.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tk.errors import TkError
from tk.geometry import rng_for, spherical_eye

PRESETS = ("mixed", "hdri", "sky", "studio", "uniform")
HDRI_SUFFIXES = (".exr", ".hdr")


def bundled_hdris() -> list[Path]:
    """The CC0 equirect EXRs that ship inside the bpy wheel (datafiles/studiolights/world), sorted."""
    import importlib.util

    spec = importlib.util.find_spec("bpy")
    if spec is None or not spec.submodule_search_locations:
        return []
    root = Path(next(iter(spec.submodule_search_locations)))
    return sorted(p for p in root.glob("*/datafiles/studiolights/world/*.exr"))


def find_hdris(hdri_dir: str | Path | None) -> list[Path]:
    """HDRI files of `hdri_dir` (sorted, so sampling is stable), or the bundled set when None."""
    if hdri_dir is None:
        return bundled_hdris()
    folder = Path(hdri_dir)
    if not folder.is_dir():
        raise TkError(f"--hdri-dir {folder}: not a folder; give a folder of .exr/.hdr environment maps")
    found = sorted(p for p in folder.rglob("*") if p.suffix.lower() in HDRI_SUFFIXES and p.is_file())
    if not found:
        raise TkError(f"--hdri-dir {folder}: no .exr or .hdr files in it")
    return found


def check_preset(preset: str, per: str) -> None:
    """One line for a lighting preset or mixing tk does not have."""
    if preset not in PRESETS:
        raise TkError(f"--lighting {preset!r}: choose one of {', '.join(PRESETS)}")
    if per not in ("view", "object"):
        raise TkError(f"lighting per {per!r}: choose 'view' or 'object'")


@dataclass(frozen=True)
class LightingConfig:
    """Which preset, how it is mixed (per view or per object) and the environment maps it may use."""

    preset: str = "mixed"
    per: str = "object"
    hdris: tuple[str, ...] = field(default_factory=tuple)  # file names; the worker gets their paths

    def __post_init__(self) -> None:
        check_preset(self.preset, self.per)
        if self.preset == "hdri" and not self.hdris:
            raise TkError("--lighting hdri needs environment maps: pass --hdri-dir DIR or use --lighting studio")


def sample_lighting(seed: int, uid: str, view: int, cfg: LightingConfig, camera_azimuth_deg: float) -> dict[str, Any]:
    """The lighting of one view: a JSON-able dict (environment + lamps), a pure function of its inputs."""
    per_object = cfg.per == "object"
    rng = rng_for(seed, "light", uid, "object" if per_object else view)
    # per-object lighting keeps the rig fixed in the world; per-view lighting follows the camera
    ref_az = float(rng.uniform(0.0, 360.0)) if per_object else camera_azimuth_deg
    kind = cfg.preset
    if kind == "mixed":
        choices = ["hdri", "sky", "studio"] if cfg.hdris else ["sky", "studio"]
        weights = [0.6, 0.25, 0.15] if cfg.hdris else [0.6, 0.4]
        kind = str(rng.choice(choices, p=weights))
    if kind == "hdri":
        env = {"type": "hdri", "file": str(rng.choice(list(cfg.hdris))),
               "rotation_deg": round(float(rng.uniform(0, 360)), 3), "strength": round(float(rng.uniform(0.6, 1.6)), 4)}
        lamps = _lamp_rig(rng, ref_az, scale=0.5) if cfg.preset == "mixed" and rng.random() < 0.5 else []
    elif kind == "sky":
        env = {"type": "sky", "sun_elevation_deg": round(float(rng.uniform(8, 70)), 3),
               "sun_azimuth_deg": round(float(rng.uniform(0, 360)), 3),
               "strength": round(float(rng.uniform(0.15, 0.35)), 4)}
        lamps = _lamp_rig(rng, ref_az, scale=0.4) if cfg.preset == "mixed" and rng.random() < 0.5 else []
    elif kind == "studio":
        grey = round(float(rng.uniform(0.05, 0.25)), 4)
        env = {"type": "color", "color": [grey, grey, grey], "strength": 1.0}
        lamps = _lamp_rig(rng, ref_az, scale=1.0)
    else:  # uniform
        env = {"type": "color", "color": [1.0, 1.0, 1.0], "strength": 1.0}
        lamps = []
    return {"preset": cfg.preset, "kind": kind, "per": cfg.per, "env": env, "lamps": lamps}


def _lamp_rig(rng: Any, ref_az: float, scale: float) -> list[dict[str, Any]]:
    """Key, fill and (usually) rim area lamps around `ref_az`, each aimed at the origin."""
    side = 1.0 if rng.random() < 0.5 else -1.0
    roles = [
        ("key", ref_az + side * rng.uniform(25, 65), rng.uniform(20, 60), rng.uniform(60, 150)),
        ("fill", ref_az - side * rng.uniform(40, 90), rng.uniform(0, 30), rng.uniform(15, 50)),
    ]
    if rng.random() < 0.8:
        roles.append(("rim", ref_az + 180 + rng.uniform(-40, 40), rng.uniform(20, 60), rng.uniform(40, 120)))
    lamps = []
    for role, az, el, power in roles:
        distance = float(rng.uniform(2.5, 4.0))
        kelvin = float(rng.uniform(2800, 4200) if role == "key" and rng.random() < 0.3 else rng.uniform(4500, 7500))
        eye = spherical_eye(az, float(el), distance)
        lamps.append({
            "role": role, "location": [round(float(c), 5) for c in eye], "size": round(float(rng.uniform(0.5, 2.0)), 4),
            # power scales with distance² so the irradiance at the object stays in a plausible band
            "power_w": round(float(power) * scale * (distance / 3.0) ** 2, 3),
            "kelvin": round(kelvin, 1), "color": [round(c, 5) for c in kelvin_to_rgb(kelvin)],
        })
    return lamps


def kelvin_to_rgb(kelvin: float) -> tuple[float, float, float]:
    """Approximate linear-ish RGB (max channel 1) of a black body at `kelvin` (1000–40000 K)."""
    t = min(max(kelvin, 1000.0), 40000.0) / 100.0
    r = 255.0 if t <= 66 else 329.698727446 * (t - 60) ** -0.1332047592
    g = 99.4708025861 * math.log(t) - 161.1195681661 if t <= 66 else 288.1221695283 * (t - 60) ** -0.0755148492
    b = 255.0 if t >= 66 else (0.0 if t <= 19 else 138.5177312231 * math.log(t - 10) - 305.0447927307)
    rgb = [min(max(c, 0.0), 255.0) / 255.0 for c in (r, g, b)]
    m = max(rgb)
    return (rgb[0] / m, rgb[1] / m, rgb[2] / m)
