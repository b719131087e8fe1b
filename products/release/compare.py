"""Compares two releases of the same spec: manifests, objects, cameras, lights, images and surfaces.

Cameras and lights are pure functions of (seed, uid, view), so they must be equal. Images must be
byte-equal or, where the engine is not bit-deterministic (Cycles across CPUs), at least 40 dB PSNR.
The stored surfaces (seeded samples of the geometry Blender evaluated) must agree point by point
within SURFACE_ATOL. Every column is decoded by its codec in tk.contracts.renders.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tk import contracts
from tk.contracts import release as layout
from tk.contracts import renders

MIN_PSNR_DB = 40.0
# in the normalised frame (longest side 1) and for unit normals: 4 float16 steps in [0.5, 1), so only
# rounding may differ, never a point or a normal
SURFACE_ATOL = 2e-3
# Columns that name the machine or the clock, not the data.
MACHINE_COLUMNS = ("local_path",)
CAMERA_COLUMNS = ("c2w", "fx", "fy", "cx", "cy", "width", "height")


@dataclass
class Comparison:
    """One line of the comparison table: `equal` of `compared` rows match; `worst` is the lowest PSNR."""

    what: str
    compared: int
    equal: int
    worst: str
    ok: bool
    note: str = ""


def compare_releases(a: Path, b: Path) -> list[Comparison]:
    """Compare release `a` (the original) with `b` (the rebuild), one Comparison per aspect."""
    rows = [_compare_manifests(a, b), _compare_objects(a, b)]
    views_a, views_b = _views(a), _views(b)
    keys = sorted(set(views_a) | set(views_b))
    common = [k for k in keys if k in views_a and k in views_b]
    rows.append(Comparison("views", len(keys), len(common), "", len(common) == len(keys),
                           "" if len(common) == len(keys) else f"e.g. {next(k for k in keys if k not in common)}"))
    rows.append(_exact("cameras", common, views_a, views_b, lambda r: [r[c] for c in CAMERA_COLUMNS]))
    rows.append(_exact("lights", common, views_a, views_b, lambda r: json.loads(r["light"])))
    rows.append(_images("rgba", common, views_a, views_b))
    for column in ("normal", "depth"):
        if any(views_a[k][column] is not None for k in common):
            rows.append(_images(column, common, views_a, views_b))
    if any(v[k]["surface"] is not None for k in common for v in (views_a, views_b)):
        rows.append(_surfaces(common, views_a, views_b))
    return rows


def _compare_manifests(a: Path, b: Path) -> Comparison:
    ta, tb = (_sorted_rows(layout.manifest(p), contracts.MANIFEST) for p in (a, b))
    equal = sum(1 for u in ta if u in tb and _strip(ta[u]) == _strip(tb[u]))
    n = len(set(ta) | set(tb))
    bad = next((u for u in sorted(set(ta) | set(tb)) if u not in ta or u not in tb or _strip(ta[u]) != _strip(tb[u])), None)
    note = "" if bad is None else f"first differing uid {bad}" + _first_diff(ta.get(bad), tb.get(bad))
    return Comparison("manifest", n, equal, "", equal == n, note or "all but local_path")


def _compare_objects(a: Path, b: Path) -> Comparison:
    ta, tb = (_sorted_rows(layout.objects(p), contracts.OBJECTS) for p in (a, b))

    def same(x: dict[str, Any], y: dict[str, Any]) -> bool:
        if x["status"] != y["status"]:
            return False
        if x["center"] is None or y["center"] is None:
            return x["center"] == y["center"] and x["scale"] == y["scale"]
        return bool(np.allclose(x["center"], y["center"], rtol=1e-6, atol=1e-9) and math.isclose(x["scale"], y["scale"], rel_tol=1e-6))

    keys = set(ta) | set(tb)
    equal = sum(1 for u in keys if u in ta and u in tb and same(ta[u], tb[u]))
    return Comparison("objects", len(keys), equal, "", equal == len(keys))


def _exact(what: str, keys: list[tuple[str, int]], va: dict, vb: dict, get: Any) -> Comparison:
    equal = [k for k in keys if get(va[k]) == get(vb[k])]
    bad = next((k for k in keys if k not in set(equal)), None)
    return Comparison(what, len(keys), len(equal), "", len(equal) == len(keys), "" if bad is None else f"first differing {bad}")


def _decoded(row: dict[str, Any], column: str) -> np.ndarray:
    """A view's image column as float64 scaled to [0, 1] as stored (depth: in world units)."""
    if column == "rgba":
        return renders.decode_rgba(row["rgba"]).astype(np.float64)
    if column == "normal":
        return (renders.decode_normal(row["normal"]).astype(np.float64) + 1.0) / 2.0
    return renders.decode_depth(row["depth"], row["width"], row["height"]).astype(np.float64)


def _images(column: str, keys: list[tuple[str, int]], va: dict, vb: dict) -> Comparison:
    equal, recoded, worst, worst_key = 0, 0, math.inf, None
    for k in keys:
        x, y = va[k][column], vb[k][column]
        if x == y:
            equal += 1
            continue
        if x is None or y is None:
            db = -math.inf
        else:
            ix, iy = _decoded(va[k], column), _decoded(vb[k], column)
            if column == "depth":  # depth is in world units: scale both by one peak so PSNR is relative
                peak = max(float(ix.max(initial=0.0)), float(iy.max(initial=0.0))) or 1.0
                ix, iy = ix / peak, iy / peak
            db = psnr(ix, iy) if ix.shape == iy.shape else -math.inf
        if db == math.inf:  # other bytes, same pixels (the encoder is free to differ)
            equal, recoded = equal + 1, recoded + 1
        elif db < worst:
            worst, worst_key = db, k
    text = "all equal" if worst == math.inf else f"min {worst:.1f} dB"
    note = f"worst {worst_key}" if worst_key is not None else (f"{recoded} re-encoded" if recoded else "")
    return Comparison(column, len(keys), equal, text, worst >= MIN_PSNR_DB, note)


def psnr(x: np.ndarray, y: np.ndarray) -> float:
    """PSNR in dB of two arrays scaled to [0, 1]; inf when equal."""
    mse = float(np.mean((x.astype(np.float64) - y.astype(np.float64)) ** 2))
    return math.inf if mse == 0 else 10.0 * math.log10(1.0 / mse)


def _surfaces(keys: list[tuple[str, int]], va: dict, vb: dict) -> Comparison:
    """Objects whose stored surfaces agree within SURFACE_ATOL (same points in the same order)."""
    keys = [k for k in keys if va[k]["surface"] is not None or vb[k]["surface"] is not None]
    equal, worst, worst_key = 0, 0.0, None
    for k in keys:
        x, y = va[k]["surface"], vb[k]["surface"]
        if x == y:
            equal += 1
            continue
        if x is None or y is None or len(x) != len(y):
            diff = math.inf
        else:
            diff = float(np.abs(np.concatenate(renders.decode_surface(x), 1) - np.concatenate(renders.decode_surface(y), 1)).max())
        equal += diff == 0.0
        if diff > worst:
            worst, worst_key = diff, k
    text = "all equal" if worst == 0.0 else ("missing or other size" if worst == math.inf else f"max diff {worst:.1e}")
    return Comparison("surface", len(keys), equal, text, worst <= SURFACE_ATOL,
                      "" if worst_key is None else f"worst {worst_key}")


def _views(root: Path) -> dict[tuple[str, int], dict[str, Any]]:
    return {(r["uid"], r["view"]): r for r in renders.read_views(root / layout.RENDERS_DIR)}


def _sorted_rows(path: Path, spec: contracts.TableSpec) -> dict[str, dict[str, Any]]:
    return {r["uid"]: r for r in contracts.read_table(path, spec).to_pylist()}


def _strip(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in MACHINE_COLUMNS}


def _first_diff(x: dict[str, Any] | None, y: dict[str, Any] | None) -> str:
    if x is None or y is None:
        return " (only in " + ("the rebuild" if x is None else "the release") + ")"
    col = next((c for c in _strip(x) if x.get(c) != y.get(c)), None)
    return f" (column {col})" if col else ""
