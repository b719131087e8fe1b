"""The body of one render actor (tk.scheduler.pool): a persistent Blender worker (tk.blender.process) and the retry
loop that restarts it when it crashes, hangs or grows past its memory cap, and tries the object again."""

from __future__ import annotations

import time
from typing import Any

from tk.blender.process import WorkerDied, WorkerProcess
from tk.render.jobs import failed_result
from tk.render.worker import RENDER_JOB
from tk.scheduler.pool import Actor


class RenderActor(Actor):
    """Renders one job at a time in its own Blender subprocess, kept between objects."""

    def __init__(self, timeout: float, retries: int, max_memory_gb: float, threads: int = 0,
                 log_dir: str | None = None) -> None:
        self.timeout, self.retries = timeout, retries
        self.worker = WorkerProcess(max_memory_gb=max_memory_gb, threads=threads, log_dir=log_dir,
                                    preload=(RENDER_JOB.partition(":")[0],))

    def warm(self) -> None:
        """Import bpy now, while the driver is still submitting: the first object does not wait for it."""
        try:
            self.worker.start()
        except Exception:  # noqa: BLE001  (run() restarts it and reports the failure with the object)
            pass

    def run(self, job: dict[str, Any]) -> tuple[dict[str, Any], int]:
        """(result, attempts) of one job."""
        return run_with_retries(self.worker, job, self.timeout, self.retries)

    def close(self) -> None:
        """Stop the worker subprocess."""
        self.worker.close()


def run_with_retries(worker: WorkerProcess, job: dict[str, Any], timeout: float, retries: int
                     ) -> tuple[dict[str, Any], int]:
    """Render `job`, restarting a crashed/hung worker and retrying up to `retries` times: (result, attempts)."""
    attempts, t0 = 0, time.perf_counter()
    while True:
        attempts += 1
        try:
            return worker.run(job, timeout, doing="rendering"), attempts
        except WorkerDied as e:
            if attempts > retries:
                return failed_result(job["uid"], f"worker failed {attempts}x: {e}", time.perf_counter() - t0), attempts
