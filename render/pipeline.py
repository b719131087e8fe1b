"""`run(cfg)`: the whole `tk render` job (list objects, skip finished ones, render, write shards).

Used by the CLI, `tk release` and `tk demo`. Execution is separate from the work: an executor turns jobs
into results (the Ray pool by default; `LocalExecutor` renders in this process for tests and scripts).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator
from typing import Any, Protocol

import tk
from tk.progress import progress
from tk.render.config import RenderConfig
from tk.render.inputs import ObjectRef, from_folder, from_manifest
from tk.render.jobs import failed_result, make_job, shard_rows
from tk.render.pool import RayPool
from tk.render.shards import ShardStore, out_lock, write_render_json
from tk.render.worker import encode_result, render_object

__all__ = ["RenderConfig", "run", "LocalExecutor"]


class Executor(Protocol):
    """Turns (object, job) pairs into (object, job, result, attempts), in any order."""

    def run(self, items: Iterable[tuple[ObjectRef, dict[str, Any]]]
            ) -> Iterator[tuple[ObjectRef, dict[str, Any], dict[str, Any], int]]: ...

    def close(self) -> None: ...


class LocalExecutor:
    """Renders in this process, one object after another: no crash isolation, no timeout."""

    def run(self, items: Iterable[tuple[ObjectRef, dict[str, Any]]]
            ) -> Iterator[tuple[ObjectRef, dict[str, Any], dict[str, Any], int]]:
        """Render each job with tk.render.worker.render_object."""
        for obj, job in items:
            yield obj, job, encode_result(render_object(job)), 1

    def close(self) -> None:
        """Nothing to release."""


def list_objects(cfg: RenderConfig) -> list[ObjectRef]:
    """The objects of the job's source, in a stable order, cut to --limit."""
    if cfg.manifest:
        refs = from_manifest(cfg.manifest)
    else:
        refs = from_folder(str(cfg.input_dir), cfg.split_seed)
    return refs if cfg.limit is None else refs[: cfg.limit]


def versions() -> dict[str, str]:
    """tk and Blender versions for render.json (Blender's read from bpy's wheel metadata, not by importing it)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        bpy_version = version("bpy")
    except PackageNotFoundError:
        bpy_version = "unknown"
    return {"tk": tk.__version__, "bpy": bpy_version}


def run(cfg: RenderConfig, executor: Executor | None = None) -> dict[str, Any]:
    """Render every object of `cfg` not yet done in `cfg.out`; return a summary dict. One job per `cfg.out` at a time.

    What the config cannot check without the disk is checked here, before `cfg.out` is touched: the input folder,
    and the environment maps, listed once: every job of the run draws from the same list."""
    cfg.check_folders()
    hdri_paths = cfg.hdri_paths()
    cfg.lighting_config(hdri_paths)  # --lighting hdri with no maps fails before any work
    with out_lock(cfg.out):
        return _render(cfg, executor, hdri_paths)


def _render(cfg: RenderConfig, executor: Executor | None, hdri_paths: dict[str, str]) -> dict[str, Any]:
    t0 = time.perf_counter()
    objects = list_objects(cfg)
    settings = cfg.settings(hdri_paths)
    write_render_json(cfg.out, settings, versions())
    store = ShardStore(cfg.out, cfg.objects_per_shard, settings)
    done = store.done()
    todo = [o for o in objects if o.uid not in done]
    refused = {o.uid: err for o in todo if (err := precheck(o, cfg))}
    for o in todo:  # never handed to Blender: recorded as failed with 0 attempts
        if o.uid in refused:
            store.add(objects_row(o, failed_result(o.uid, refused[o.uid]), 0), [])
    # Largest files first (a proxy for import and render cost): with several workers the long objects start
    # early instead of ending the job with one worker busy and the others idle.
    todo = sorted((o for o in todo if o.uid not in refused), key=lambda o: (-os.path.getsize(o.path), o.uid))
    if executor is None and not todo:
        executor = LocalExecutor()  # nothing to render: do not start Ray or Blender
    if executor is None:
        executor = RayPool(cfg)
    counts = {"ok": 0, "failed": len(refused)}
    seconds = {"render": 0.0, "worker": 0.0, "first_result": 0.0}
    try:
        with progress() as bar:
            task = bar.add_task("render", total=len(todo))
            # a pool that resolved --workers/--threads (RayPool) builds the jobs from its own resolved copy
            job_cfg = getattr(executor, "cfg", cfg)
            for obj, job, result, attempts in executor.run((o, make_job(o, job_cfg, hdri_paths)) for o in todo):
                row = objects_row(obj, result, attempts)
                store.add(row, shard_rows(result, job, obj.split) if result["ok"] else [])
                counts[row["status"]] += 1
                seconds["first_result"] = seconds["first_result"] or time.perf_counter() - t0
                seconds["render"] += result["seconds"].get("render", 0.0)
                seconds["worker"] += result["seconds"].get("worker", result["seconds"].get("total", 0.0))
                bar.advance(task)
    finally:
        store.flush()
        executor.close()
    failed = {uid: r["error"] for uid, r in store.objects.items() if r["status"] == "failed"}
    return {"out": str(cfg.out), "objects": len(objects), "skipped": len(objects) - len(todo),
            "ok": counts["ok"], "failed": counts["failed"], "ok_total": len(store.done()),
            "failed_total": len(failed), "views_per_object": cfg.views, "seconds": time.perf_counter() - t0,
            "render_seconds": seconds["render"], "worker_seconds": seconds["worker"],
            "first_result_seconds": seconds["first_result"],
            # objects rendered again because their Ray node (or actor) was lost: not counted in --retries
            "node_loss_retries": getattr(executor, "node_loss_retries", 0),
            "actor_loss_retries": getattr(executor, "actor_loss_retries", 0)}


def precheck(obj: ObjectRef, cfg: RenderConfig) -> str | None:
    """Why `obj` cannot be rendered before any import (refused, missing file, over the size cap), or None."""
    if obj.refused:
        return obj.refused
    if not os.path.isfile(obj.path):
        return f"file not found: {obj.path}"
    size_mb = os.path.getsize(obj.path) / 2**20
    if cfg.max_file_mb and size_mb > cfg.max_file_mb:
        return f"file is {size_mb:.1f} MB, over --max-file-mb {cfg.max_file_mb:g}"
    return None


def objects_row(obj: ObjectRef, result: dict[str, Any], attempts: int) -> dict[str, Any]:
    """The objects.parquet row of one finished (ok or failed) object."""
    return {"uid": obj.uid, "local_path": obj.local_path, "status": "ok" if result["ok"] else "failed",
            "error": result["error"], "attempts": attempts, "seconds": result["seconds"].get("total"),
            "center": result["center"], "scale": result["scale"], "split": obj.split, "file_type": obj.file_type,
            "shard": None, "missing_textures": result.get("missing_textures") or []}
