"""RayPool: Ray actors, each owning one persistent bpy worker subprocess (tk.render.process).

The actor keeps the subprocess between objects, restarts it when it crashes or hangs and retries the object
(`--retries`, `--timeout` per attempt). Actors are spread over the cluster's nodes, each reserving its
threads, GPU and memory cap (tk.render.placement).

When an actor dies (its node was lost, or the actor process was killed), its object goes back to the front of
the queue and a replacement actor is started; this is not counted in the object's `--retries`. Work goes only
to actors that are running: a replacement that the cluster has no room for stays pending without holding an
object, and the job finishes on the actors that remain. With no actor left at all for `PLACEMENT_WAIT` s, the
job stops with one line (the finished objects are kept; the same command resumes).
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tk.errors import TkError
from tk.progress import console
from tk.render import placement
from tk.render.config import RenderConfig
from tk.render.inputs import ObjectRef
from tk.render.jobs import failed_result
from tk.render.placement import alive_nodes
from tk.render.process import WorkerProcess
from tk.render.process import run_with_retries
from tk.render.worker import TEST_HOOK_ENV

MAX_ACTOR_LOSSES = 3  # an object whose actor died this often fails (it may be what kills them)
MAX_START_FAILURES = 3  # a slot whose actor failed to start this often in a row is given up
PLACEMENT_WAIT = 120.0  # seconds with no running actor before the job stops

Item = tuple[ObjectRef, dict[str, Any]]


class RenderActor:
    """The body of one Ray actor: a WorkerProcess and the retry loop."""

    def __init__(self, timeout: float, retries: int, max_memory_gb: float, threads: int = 0,
                 log_dir: str | None = None) -> None:
        self.timeout, self.retries = timeout, retries
        self.worker = WorkerProcess(max_memory_gb=max_memory_gb, threads=threads, log_dir=log_dir)

    def hello(self) -> str:
        """The id of the node this actor runs on (answers as soon as the actor is placed)."""
        import ray

        return ray.get_runtime_context().get_node_id()

    def warm(self) -> None:
        """Import bpy now, while the driver is still submitting: the first object does not wait for it."""
        try:
            self.worker.start()
        except Exception:  # noqa: BLE001  (render() restarts it and reports the failure with the object)
            pass

    def render(self, job: dict[str, Any]) -> tuple[dict[str, Any], int]:
        """(result, attempts) of one job."""
        return run_with_retries(self.worker, job, self.timeout, self.retries)

    def close(self) -> None:
        """Stop the worker subprocess."""
        self.worker.close()


@dataclass
class _Slot:
    """One actor as the driver sees it: placed once `hello` answered; `busy` while it holds an object."""

    handle: Any
    hello: Any  # the pending hello() reference; None once placed
    node: str | None = None
    busy: tuple[Any, ObjectRef, dict[str, Any]] | None = None  # (result ref, object, job)
    start_failures: int = 0


class RayPool:
    """Renders jobs on Ray actors spread over the cluster; results come back as they finish."""

    def __init__(self, cfg: RenderConfig) -> None:
        import ray

        if not ray.is_initialized():
            env = {k: os.environ[k] for k in (TEST_HOOK_ENV, "PYTHONPATH") if k in os.environ}
            kwargs: dict[str, Any] = {"address": cfg.address} if cfg.address else {
                "include_dashboard": False, **placement.local_resources(
                    cfg.workers, cfg.threads, cfg.max_memory_gb, os.cpu_count() or 1, _physical_memory())}
            ray.init(**kwargs, runtime_env={"env_vars": env} if env else None, log_to_driver=False,
                     logging_level="ERROR", configure_logging=True)
            self._owns_ray = True
        else:
            self._owns_ray = False
        self.placement = placement.plan(cfg.workers, cfg.threads, cfg.device == "gpu", cfg.max_memory_gb,
                                        placement.alive_nodes())
        # The jobs carry the engine's thread count (cfg.worker_threads()): it must be what each actor reserved. The
        # resolved numbers go into the pool's own copy, which render() builds the jobs from; the caller's config is
        # never written to (a config is not changed by the code it is given to).
        self.cfg = dataclasses.replace(cfg, workers=self.placement.workers, threads=self.placement.threads)
        self.log_dir = Path(cfg.out) / "logs"
        _clear_logs(self.log_dir)  # left by actors a killed job could not close
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._actor_cls = ray.remote(RenderActor).options(max_restarts=0, **self.placement.actor_options())
        self.slots: list[_Slot | None] = [self._start(_Slot(None, None)) for _ in range(self.placement.workers)]
        self.node_loss_retries = 0  # objects put back in the queue because their node was lost
        self.actor_loss_retries = 0  # ... because their actor died on a node that is still alive

    def _start(self, slot: _Slot) -> _Slot:
        slot.handle = self._actor_cls.remote(self.cfg.timeout, self.cfg.retries, self.cfg.max_memory_gb,
                                             self.placement.threads, str(self.log_dir))
        slot.hello, slot.node, slot.busy = slot.handle.hello.remote(), None, None
        slot.handle.warm.remote()
        return slot

    @property
    def actors(self) -> list[Any]:
        """Handles of the actors (placed or pending)."""
        return [s.handle for s in self.slots if s]

    def run(self, items: Iterable[Item]) -> Iterator[tuple[ObjectRef, dict[str, Any], dict[str, Any], int]]:
        """Give one job at a time to each running actor; yield (object, job, result, attempts) as each finishes."""
        import ray

        source, requeued = iter(items), deque[Item]()
        losses: dict[str, int] = {}
        idle_since: float | None = None

        def take() -> Item | None:
            return requeued.popleft() if requeued else next(source, None)

        while True:
            for slot in self.slots:  # work only to placed, idle actors
                if slot and slot.node and slot.busy is None:
                    item = take()
                    if item is None:
                        break
                    slot.busy = (slot.handle.render.remote(item[1]), *item)
            busy = {s.busy[0]: s for s in self.slots if s and s.busy}
            pending = {s.hello: s for s in self.slots if s and s.hello is not None}
            if not busy:
                item = take()
                if item is None:
                    return
                requeued.appendleft(item)
                idle_since = idle_since or time.monotonic()
                if not pending or time.monotonic() - idle_since > PLACEMENT_WAIT:
                    raise TkError(self._no_worker_line(len(pending)))
            else:
                idle_since = None
            ready, _ = ray.wait([*busy, *pending], num_returns=1, timeout=None if busy else 1.0)
            for ref in ready:
                if ref in pending:
                    self._placed(pending[ref], ref)
                    continue
                slot = busy[ref]
                _, obj, job = slot.busy
                slot.busy = None
                try:
                    result, attempts = ray.get(ref)
                except ray.exceptions.RayTaskError:
                    raise  # an exception in tk's own actor code: a bug, not the object's fault
                except ray.exceptions.RayError as e:  # the actor, its node or its result is gone
                    lost_node = self._replace(slot)
                    losses[obj.uid] = losses.get(obj.uid, 0) + 1
                    if losses[obj.uid] < MAX_ACTOR_LOSSES:
                        self._note_requeue(obj, lost_node, e)
                        requeued.appendleft((obj, job))
                        continue
                    result = failed_result(obj.uid, f"render actor died {losses[obj.uid]}x: {_first_line(e)}")
                    attempts = losses[obj.uid]
                yield obj, job, result, attempts

    def _placed(self, slot: _Slot, ref: Any) -> None:
        import ray

        try:
            slot.node, slot.hello, slot.start_failures = ray.get(ref), None, 0
        except ray.exceptions.RayError:  # died before it ran: start another, unless it keeps failing
            slot.start_failures += 1
            if slot.start_failures >= MAX_START_FAILURES:
                self.slots = [None if s is slot else s for s in self.slots]
            else:
                self._start(slot)

    def _replace(self, slot: _Slot) -> str | None:
        """Start a new actor in place of a dead one; the lost node's id when its node died, else None."""
        node = slot.node
        lost = node if node and node not in {n["id"] for n in alive_nodes()} else None
        self._start(slot)
        return lost

    def _note_requeue(self, obj: ObjectRef, lost_node: str | None, e: Exception) -> None:
        if lost_node:
            self.node_loss_retries += 1
            line = f"render: Ray node {lost_node[:12]} was lost; {obj.local_path} goes back in the queue"
        else:
            self.actor_loss_retries += 1
            line = f"render: a render actor died ({_first_line(e)}); {obj.local_path} goes back in the queue"
        console.print(line, markup=False, highlight=False, soft_wrap=True)  # one line, however long the path

    def _no_worker_line(self, pending: int) -> str:
        why = (f"{pending} waited {PLACEMENT_WAIT:.0f} s for room on the cluster ({self.placement.describe()} each)"
               if pending else "their actors kept failing to start")
        return (f"no render worker is running: {why}; the objects rendered so far are kept in {self.cfg.out}: "
                "run the same command again when the cluster has room")

    def close(self) -> None:
        """Stop the workers (and the local Ray instance this pool started); never waits on a pending actor."""
        import ray

        placed = [s.handle.close.remote() for s in self.slots if s and s.node]
        ray.wait(placed, num_returns=len(placed), timeout=30)  # a dead actor's close fails at once
        for a in self.actors:
            ray.kill(a)
        _clear_logs(self.log_dir)
        if self._owns_ray:
            ray.shutdown()


def _clear_logs(log_dir: Path) -> None:
    """Delete the worker logs of actors that were killed (a closed actor deletes its own), then the folder."""
    if not log_dir.is_dir():
        return
    for p in log_dir.glob("worker-*.log"):
        p.unlink(missing_ok=True)
    try:
        log_dir.rmdir()
    except OSError:  # something else is in it: not ours to delete
        pass


def _first_line(e: Exception) -> str:
    return (str(e).strip().splitlines() or [type(e).__name__])[0][:200]


def _physical_memory() -> int:
    """This machine's memory in bytes."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
