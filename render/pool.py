"""RayPool: N Ray actors, each owning one persistent bpy worker subprocess (tk.render.process).

The actor keeps the subprocess between objects, restarts it when it crashes or hangs and retries the object
(`--retries`, `--timeout` per attempt). If an actor itself dies, the driver replaces it and resubmits its
object. Each actor reserves its share of the cores, so N workers split the machine instead of fighting.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import Any

from tk.render.config import RenderConfig
from tk.render.inputs import ObjectRef
from tk.render.jobs import failed_result
from tk.render.worker import TEST_HOOK_ENV

MAX_ACTOR_LOSSES = 3


class RenderActor:
    """The body of one Ray actor: a WorkerProcess and the retry loop."""

    def __init__(self, timeout: float, retries: int, max_memory_gb: float, threads: int = 0) -> None:
        from tk.render.process import WorkerProcess

        self.timeout, self.retries = timeout, retries
        self.worker = WorkerProcess(max_memory_gb=max_memory_gb, threads=threads)
        try:
            # import bpy now, while the driver is still submitting: the first object does not wait for it
            self.worker.start()
        except Exception:  # noqa: BLE001  (run() restarts it and reports the failure with the object)
            pass

    def render(self, job: dict[str, Any]) -> tuple[dict[str, Any], int]:
        """(result, attempts) of one job."""
        from tk.render.process import run_with_retries

        return run_with_retries(self.worker, job, self.timeout, self.retries)

    def worker_pid(self) -> int | None:
        """pid of the current worker subprocess (for the memory benchmark)."""
        return self.worker.pid

    def close(self) -> None:
        """Stop the worker subprocess."""
        self.worker.close()


class RayPool:
    """Renders jobs on `cfg.workers` Ray actors; results come back as they finish."""

    def __init__(self, cfg: RenderConfig) -> None:
        import ray

        self.cfg = cfg
        if not ray.is_initialized():
            env = {k: os.environ[k] for k in (TEST_HOOK_ENV, "PYTHONPATH") if k in os.environ}
            kwargs: dict[str, Any] = {"address": cfg.address} if cfg.address else {
                "num_cpus": max(os.cpu_count() or 1, cfg.workers), "include_dashboard": False}
            ray.init(**kwargs, runtime_env={"env_vars": env} if env else None, log_to_driver=False,
                     logging_level="ERROR", configure_logging=True)
            self._owns_ray = True
        else:
            self._owns_ray = False
        self._actor_cls = ray.remote(RenderActor).options(num_cpus=cfg.worker_threads() if not cfg.address else 1,
                                                            max_restarts=0)
        self.actors = [self._new_actor() for _ in range(cfg.workers)]

    def _new_actor(self) -> Any:
        return self._actor_cls.remote(self.cfg.timeout, self.cfg.retries, self.cfg.max_memory_gb, self.cfg.worker_threads())

    def run(self, items: Iterable[tuple[ObjectRef, dict[str, Any]]]
            ) -> Iterator[tuple[ObjectRef, dict[str, Any], dict[str, Any], int]]:
        """Keep one job in flight per actor; yield (object, job, result, attempts) as each finishes."""
        import ray
        from ray.exceptions import RayActorError

        queue = iter(items)
        in_flight: dict[Any, tuple[int, ObjectRef, dict[str, Any], int]] = {}
        losses: dict[str, int] = {}

        def submit(slot: int, obj: ObjectRef, job: dict[str, Any]) -> None:
            ref = self.actors[slot].render.remote(job)
            in_flight[ref] = (slot, obj, job, losses.get(obj.uid, 0))

        for slot in range(len(self.actors)):
            nxt = next(queue, None)
            if nxt is None:
                break
            submit(slot, *nxt)
        while in_flight:
            [ref], _ = ray.wait(list(in_flight), num_returns=1)
            slot, obj, job, _ = in_flight.pop(ref)
            try:
                result, attempts = ray.get(ref)
            except RayActorError as e:  # the actor process itself died: replace it, maybe resubmit
                self.actors[slot] = self._new_actor()
                losses[obj.uid] = losses.get(obj.uid, 0) + 1
                if losses[obj.uid] < MAX_ACTOR_LOSSES:
                    submit(slot, obj, job)
                    continue
                result = failed_result(obj.uid, f"render actor died {losses[obj.uid]}x: {e}")
                attempts = losses[obj.uid]
            yield obj, job, result, attempts
            nxt = next(queue, None)
            if nxt is not None:
                submit(slot, *nxt)

    def worker_pids(self) -> list[int | None]:
        """pids of the workers' Blender subprocesses."""
        import ray

        return ray.get([a.worker_pid.remote() for a in self.actors])

    def close(self) -> None:
        """Stop the workers (and the local Ray instance this pool started)."""
        import ray

        try:
            ray.get([a.close.remote() for a in self.actors], timeout=30)
        except Exception:  # an actor already gone has nothing left to close
            pass
        for a in self.actors:
            ray.kill(a)
        if self._owns_ray:
            ray.shutdown()
