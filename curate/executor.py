"""Run the per-object work (download + probe) on the scheduler's actors (tk.scheduler.pool).

The work itself is a plain function of one item (`tk.curate.work.process`), callable without Ray in a test. Each
probe actor keeps one persistent Blender worker (tk.blender.process, render's, capped at `probe.MAX_MEMORY_GB`)
for the formats only Blender reads, started on the first such file. The scheduler's rules apply: past `timeout`
the actor is killed and the object retried, a crashed or failing object is retried up to `retries` times, then
recorded as failed with its error; an object lost with its Ray node goes back in the queue without counting
against `retries` (`node_lost` counts them); with no actor running for a while the run stops with one line (what
finished is kept and a rerun resumes). Results reach `on_result` as they finish, in the driver, which persists them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from tk.blender.process import WorkerProcess, clear_logs
from tk.curate.bpy_probe import PROBE_JOB
from tk.curate.probe import MAX_MEMORY_GB
from tk.progress import progress
from tk.scheduler import cluster
from tk.scheduler.pool import Actor, Job, Pool

Work = Callable[[dict[str, Any], WorkerProcess], dict[str, Any]]


class ProbeActor(Actor):
    """Runs `work(item, blender)` for one item at a time; `blender` is this actor's persistent Blender worker."""

    def __init__(self, work: Work, max_memory_gb: float, log_dir: str | None) -> None:
        self.work = work
        # started by the first job that needs Blender; its log in log_dir, so a killed actor's is cleared by the run
        self.blender = WorkerProcess(max_memory_gb=max_memory_gb, log_dir=log_dir,
                                     preload=(PROBE_JOB.partition(":")[0],))

    def run(self, item: dict[str, Any]) -> dict[str, Any]:
        """The work's result for one item."""
        return self.work(item, self.blender)

    def close(self) -> None:
        """Stop the Blender worker."""
        self.blender.close()


def run(items: list[dict[str, Any]], work: Work, on_result: Callable[[dict[str, Any], dict[str, Any]], None],
        workers: int, timeout: float, retries: int, address: str | None = None, log_dir: Path | None = None,
        description: str = "probing") -> dict[str, int]:
    """Run `work` on every item on `workers` actors (starting Ray unless it runs); call `on_result(item, result)`
    for each as it finishes; return the counts done, retried, failed and node_lost. `log_dir`: where the Blender
    workers log (emptied before and removed after; None: each node's temp folder)."""
    started = cluster.start(address, {"num_cpus": max(1, workers)})
    if log_dir:
        clear_logs(log_dir)  # left by actors a killed run could not close
        log_dir.mkdir(parents=True, exist_ok=True)
    try:
        pool = Pool(ProbeActor, (work, MAX_MEMORY_GB, str(log_dir) if log_dir else None), {"num_cpus": 1, "scheduling_strategy": "SPREAD"}, workers,
                    name="probe", unit="1 CPU", retries=retries, timeout=timeout,
                    kept=lambda done: f"{done} of {len(items)} objects done and kept")
        try:
            bar = progress()
            task = bar.add_task(description, total=len(items))
            jobs = (Job(str(item.get("uid", i)), str(item.get("uid", i)), item) for i, item in enumerate(items))
            with bar:
                for done in pool.run(jobs):
                    item = done.job.payload
                    if done.error is not None:
                        on_result(item, {"probe_error": done.error, "retryable": True, "attempts": done.attempts})
                    else:
                        on_result(item, done.result | {"attempts": done.attempts})
                    bar.advance(task)
        finally:
            pool.close()
    finally:
        if log_dir:
            clear_logs(log_dir)
        cluster.stop(started)
    return {k: pool.counts[k] for k in ("done", "retried", "failed", "node_lost")}
