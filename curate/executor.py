"""Run the per-object work (download + probe) as Ray tasks: bounded concurrency, timeout, retries.

The work itself is a plain function of one item (`tk.curate.work.process`), callable without Ray in a
test. Ray has no per-call timeout, so the driver tracks each task's start and force-cancels (kills
the worker process) past `timeout`; a killed, crashed or timed-out task is retried up to `retries`
times, then recorded as failed with its error. A task lost with its Ray node is submitted again without
counting against `retries` (not the object's fault; `node_lost` counts them). With no CPU left in the
cluster for `PLACEMENT_WAIT` s, the run stops with one line; what finished is kept and a rerun resumes.
Results reach `on_result` as they finish, in the driver, which persists them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from tk.errors import TkError
from tk.progress import console, progress

MAX_NODE_LOSSES = 3  # an item whose node died under it this often counts as crashed (it may be the cause)
PLACEMENT_WAIT = 120.0  # seconds with no CPU in the cluster before the run stops


def ensure_ray(workers: int, address: str | None = None) -> bool:
    """Start (or join) Ray unless already running; True when this call started it."""
    import ray

    if ray.is_initialized():
        return False
    kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
    if address:
        ray.init(address=address, **kwargs)
    else:
        ray.init(num_cpus=max(1, workers), **kwargs)
    return True


def run(
    items: list[dict[str, Any]],
    fn: Callable[[dict[str, Any]], dict[str, Any]],
    on_result: Callable[[dict[str, Any], dict[str, Any]], None],
    workers: int,
    timeout: float,
    retries: int,
    description: str = "probing",
) -> dict[str, int]:
    """Run `fn` on every item in Ray tasks; call `on_result(item, result)` for each; return counts."""
    import ray
    from ray.exceptions import RayError, RayTaskError

    remote = ray.remote(num_cpus=1, max_retries=0)(fn)
    queue = list(reversed(items))
    running: dict[Any, tuple[dict[str, Any], float, int, int]] = {}  # ref -> (item, start, attempt, node losses)
    counts = {"done": 0, "retried": 0, "failed": 0, "node_lost": 0}
    deaths = _NodeDeaths()
    no_cpu_since: float | None = None
    bar = progress()
    task = bar.add_task(description, total=len(items))

    def submit(item: dict[str, Any], attempt: int, lost: int = 0) -> None:
        running[remote.remote(item)] = (item, time.monotonic(), attempt, lost)

    def give_up_or_retry(item: dict[str, Any], attempt: int, error: str, lost: int = 0) -> None:
        if attempt < retries:
            counts["retried"] += 1
            submit(item, attempt + 1, lost)
            return
        counts["failed"] += 1
        on_result(item, {"probe_error": error, "retryable": True, "attempts": attempt + 1})
        bar.advance(task)

    with bar:
        while queue or running:
            while queue and len(running) < workers:
                submit(queue.pop(), 0)
            ready, _ = ray.wait(list(running), num_returns=1, timeout=0.25)
            for ref in ready:
                item, start, attempt, lost = running.pop(ref)
                try:
                    result = ray.get(ref)
                except RayTaskError as e:
                    # fn catches file errors itself; an exception here is a bug or a resource failure.
                    cause = str(e.cause if hasattr(e, "cause") else e).splitlines()[0][:200]
                    give_up_or_retry(item, attempt, f"worker error: {cause}", lost)
                    continue
                except RayError as e:
                    if deaths.since(start) and lost + 1 < MAX_NODE_LOSSES:
                        counts["node_lost"] += 1
                        line = f"{description}: a Ray node was lost; {item.get('uid', '')} goes back in the queue"
                        console.print(line, markup=False, highlight=False, soft_wrap=True)
                        submit(item, attempt, lost + 1)
                        continue
                    give_up_or_retry(item, attempt, f"worker crashed: {type(e).__name__}", lost)
                    continue
                counts["done"] += 1
                on_result(item, result | {"attempts": attempt + 1})
                bar.advance(task)
            now = time.monotonic()
            for ref, (item, start, attempt, lost) in list(running.items()):
                if now - start > timeout:
                    ray.cancel(ref, force=True)
                    running.pop(ref)
                    give_up_or_retry(item, attempt, f"timeout: no result after {timeout:.0f}s", lost)
            if running and not ray.cluster_resources().get("CPU"):
                no_cpu_since = no_cpu_since or now
                if now - no_cpu_since > PLACEMENT_WAIT:
                    raise TkError(f"{description}: the Ray cluster has had no CPU for {PLACEMENT_WAIT:.0f} s "
                                  f"({counts['done'] + counts['failed']} of {len(items)} objects done and kept): "
                                  "run the same command again when it has nodes")
            else:
                no_cpu_since = None
    return counts


class _NodeDeaths:
    """When the driver first saw each Ray node dead, to tell a task lost with its node from a crash."""

    def __init__(self) -> None:
        import ray

        # nodes already dead before this run lost none of its tasks
        self.seen = {n["NodeID"]: float("-inf") for n in ray.nodes() if not n["Alive"]}

    def since(self, start: float) -> bool:
        """True when a node died after a task submitted at `start` (monotonic) was started."""
        import ray

        now = time.monotonic()
        for node in ray.nodes():
            if not node["Alive"]:
                self.seen.setdefault(node["NodeID"], now)
        return any(t >= start for t in self.seen.values())
