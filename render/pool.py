"""RayPool: render's jobs on the scheduler's actors (tk.scheduler.pool), each owning one persistent Blender worker
(tk.render.actor), spread over the cluster's nodes, each reserving its threads, GPU and memory cap
(tk.render.placement).

The scheduler's rules apply: an object whose actor was lost with its node goes back to the front of the queue
without counting against `--retries`; one whose actor died on a live node is retried as a crash; with no actor
running for a while the job stops with one line (the finished objects are kept; the same command resumes).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from tk.blender.process import clear_logs
from tk.render import placement
from tk.render.actor import RenderActor
from tk.render.config import RenderConfig
from tk.render.inputs import ObjectRef
from tk.render.jobs import failed_result
from tk.scheduler import cluster
from tk.scheduler.pool import Job, Pool, Slot

Item = tuple[ObjectRef, dict[str, Any]]


class RayPool:
    """Renders jobs on Ray actors spread over the cluster; results come back as they finish."""

    def __init__(self, cfg: RenderConfig) -> None:
        resources = placement.local_resources(cfg.workers, cfg.threads, cfg.max_memory_gb, os.cpu_count() or 1,
                                              cluster.physical_memory())
        self._owns_ray = cluster.start(cfg.address, resources)
        self.placement = placement.plan(cfg.workers, cfg.threads, cfg.device == "gpu", cfg.max_memory_gb,
                                        cluster.alive_nodes())
        # The jobs carry the engine's thread count (cfg.worker_threads()): it must be what each actor reserved. The
        # resolved numbers go into the pool's own copy, which render() builds the jobs from; the caller's config is
        # never written to (a config is not changed by the code it is given to).
        self.cfg = dataclasses.replace(cfg, workers=self.placement.workers, threads=self.placement.threads)
        self.log_dir = Path(cfg.out) / "logs"
        clear_logs(self.log_dir)  # left by actors a killed job could not close
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.pool = Pool(RenderActor, (self.cfg.timeout, self.cfg.retries, self.cfg.max_memory_gb,
                                       self.placement.threads, str(self.log_dir)),
                         self.placement.actor_options(), self.placement.workers, name="render",
                         unit=self.placement.describe(), retries=self.cfg.retries,
                         kept=lambda done: f"the objects rendered so far are kept in {self.cfg.out}")

    @property
    def slots(self) -> list[Slot | None]:
        """The scheduler's actor slots (placed or pending)."""
        return self.pool.slots

    @property
    def node_loss_retries(self) -> int:
        """Objects put back in the queue because their node was lost."""
        return self.pool.counts["node_lost"]

    @property
    def actor_loss_retries(self) -> int:
        """Objects tried again because their actor died on a node that is still alive."""
        return self.pool.counts["crashed"]

    def run(self, items: Iterable[Item]) -> Iterator[tuple[ObjectRef, dict[str, Any], dict[str, Any], int]]:
        """Give one job at a time to each running actor; yield (object, job, result, attempts) as each finishes."""
        for done in self.pool.run(Job(obj.uid, obj.local_path, job, tag=obj) for obj, job in items):
            obj, job = done.job.tag, done.job.payload
            if done.error is not None:  # the actor died with it as often as --retries allows
                yield obj, job, failed_result(obj.uid, f"render actor failed {done.attempts}x: {done.error}"), done.attempts
            else:
                result, attempts = done.result
                yield obj, job, result, attempts

    def close(self) -> None:
        """Stop the workers (and the local Ray instance this pool started); never waits on a pending actor."""
        self.pool.close()
        clear_logs(self.log_dir)
        cluster.stop(self._owns_ray)

