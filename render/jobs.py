"""Jobs for the worker and shard rows from its results: the pure glue between sampling and Blender."""

from __future__ import annotations

import json
from typing import Any

from tk.geometry import azimuth_of
from tk.render.cameras import sample_view
from tk.render.config import RenderConfig
from tk.render.inputs import ObjectRef
from tk.render.lighting import sample_lighting
from tk.render.surface import POINTS, surface_seed
from tk.render.worker import RENDER_JOB


def make_job(obj: ObjectRef, cfg: RenderConfig, hdri_paths: dict[str, str]) -> dict[str, Any]:
    """Everything the worker needs to render `obj`: cameras and lights already sampled here."""
    cam_cfg, light_cfg = cfg.camera_config(), cfg.lighting_config(hdri_paths)
    views = []
    for i in range(cfg.views):
        view = sample_view(cfg.seed, obj.uid, i, cam_cfg, cfg.resolution, cfg.resolution, n_views=cfg.views)
        light = sample_lighting(cfg.seed, obj.uid, i, light_cfg, azimuth_of(view))
        views.append({"view": i, "c2w": view.c2w.tolist(), "fovy_deg": view.fovy_deg, "fx": view.fx, "fy": view.fy,
                      "cx": view.cx, "cy": view.cy, "light": light})
    used = {v["light"]["env"]["file"] for v in views if v["light"]["env"]["type"] == "hdri"}
    return {"type": RENDER_JOB, "uid": obj.uid, "path": obj.path, "file_type": obj.file_type, "width": cfg.resolution,
            "height": cfg.resolution, "engine": cfg.engine_settings().__dict__, "views": views,
            "hdri_paths": {k: hdri_paths[k] for k in used}, "surface_points": POINTS,
            "surface_seed": surface_seed(cfg.seed, obj.uid)}


def shard_rows(result: dict[str, Any], job: dict[str, Any], split: str) -> list[dict[str, Any]]:
    """One shards-contract row per rendered view of a successful result; the first view's row holds the surface."""
    by_view = {v["view"]: v for v in job["views"]}
    first = min((v["view"] for v in result["views"]), default=None)
    rows = []
    for v in result["views"]:
        spec = by_view[v["view"]]
        rows.append({
            "uid": job["uid"], "view": v["view"], "split": split, "rgba": v["rgba"], "depth": v["depth"],
            "normal": v["normal"], "c2w": [float(x) for row in spec["c2w"] for x in row],
            "fx": spec["fx"], "fy": spec["fy"], "cx": spec["cx"], "cy": spec["cy"],
            "width": job["width"], "height": job["height"], "light": json.dumps(spec["light"], sort_keys=True),
            "surface": result.get("surface") if v["view"] == first else None,
        })
    return rows


def failed_result(uid: str, error: str, seconds: float = 0.0) -> dict[str, Any]:
    """A worker-shaped result for an object that failed outside the worker (crash, timeout, size cap)."""
    return {"uid": uid, "ok": False, "error": error[:1000], "center": None, "scale": None, "missing_textures": [],
            "surface": None, "views": [], "seconds": {"total": seconds}}
