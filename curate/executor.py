"""Run the per-object work (download + probe) as Ray tasks: bounded concurrency, timeout, retries.

The work itself is a plain function of one item (`tk.curate.work.process`), callable without Ray in a
test. Ray has no per-call timeout, so the driver tracks each task's start and force-cancels (kills
the worker process) past `timeout`; a killed, crashed or timed-out task is retried up to `retries`
times, then recorded as failed with its error. Results reach `on_result` as they finish, in the
driver, which persists them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from tk.progress import progress


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
    running: dict[Any, tuple[dict[str, Any], float, int]] = {}
    counts = {"done": 0, "retried": 0, "failed": 0}
    bar = progress()
    task = bar.add_task(description, total=len(items))

    def submit(item: dict[str, Any], attempt: int) -> None:
        running[remote.remote(item)] = (item, time.monotonic(), attempt)

    def give_up_or_retry(item: dict[str, Any], attempt: int, error: str) -> None:
        if attempt < retries:
            counts["retried"] += 1
            submit(item, attempt + 1)
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
                item, _start, attempt = running.pop(ref)
                try:
                    result = ray.get(ref)
                except RayTaskError as e:
                    # fn catches file errors itself; an exception here is a bug or a resource failure.
                    give_up_or_retry(item, attempt, f"worker error: {str(e.cause if hasattr(e, 'cause') else e).splitlines()[0][:200]}")
                    continue
                except RayError as e:
                    give_up_or_retry(item, attempt, f"worker crashed: {type(e).__name__}")
                    continue
                counts["done"] += 1
                on_result(item, result | {"attempts": attempt + 1})
                bar.advance(task)
            now = time.monotonic()
            for ref, (item, start, attempt) in list(running.items()):
                if now - start > timeout:
                    ray.cancel(ref, force=True)
                    running.pop(ref)
                    give_up_or_retry(item, attempt, f"timeout: no result after {timeout:.0f}s")
    return counts
