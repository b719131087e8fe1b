"""Pool: Ray actors that run jobs one at a time each, and the rules every stage's Ray work follows.

- Work goes only to actors that are placed: a replacement the cluster has no room for stays pending without holding
  a job, and the run finishes on the actors that remain.
- A job whose actor was lost with its node goes back to the front of the queue without counting against `retries`
  (not the job's fault; `node_lost` counts them), up to `MAX_NODE_LOSSES` times, after which it counts as a crash.
- A job whose actor died on a live node (crashed), whose actor code raised, or that ran past `timeout` (the driver
  kills its actor: Ray has no per-call timeout) is tried again up to `retries` times, then given up with its error.
- With no actor running for `PLACEMENT_WAIT` s (or none that can start), the run stops with one TkError line;
  what finished was handed out already, so a rerun of the same command resumes.

The actor's body is a stage's `Actor` subclass (render's Blender renderer, curate's download + probe); jobs come back
as `Finished`, in the order they finish.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from tk.errors import TkError
from tk.progress import console
from tk.scheduler.cluster import alive_nodes

MAX_NODE_LOSSES = 3  # a job whose node died under it this often counts as crashed (it may be the cause)
MAX_START_FAILURES = 3  # a slot whose actor failed to start this often in a row is given up
PLACEMENT_WAIT = 120.0  # seconds with no running actor before the run stops


class Actor:
    """The body of one pool actor; a stage overrides `run` (and `warm`, `close` when it holds a process)."""

    def hello(self) -> str:
        """The id of the node this actor runs on (answers as soon as the actor is placed)."""
        import ray

        return ray.get_runtime_context().get_node_id()

    def warm(self) -> None:
        """Prepare before the first job (called right after the actor starts, while the driver still submits)."""

    def run(self, payload: Any) -> Any:
        """The result of one job."""
        raise NotImplementedError

    def close(self) -> None:
        """Release what the actor holds."""


@dataclass(frozen=True)
class Job:
    """One unit of work: `key` tells jobs apart, `label` names it in a log line, `payload` goes to `Actor.run`,
    `tag` is the caller's own and comes back untouched."""

    key: str
    label: str
    payload: Any
    tag: Any = None


@dataclass(frozen=True)
class Finished:
    """A job done: the actor's `result`, or `error` (result None) when the pool gave it up; `attempts` is the
    number of tries the pool made (a requeue after a node loss is not one)."""

    job: Job
    result: Any
    error: str | None
    attempts: int


@dataclass
class _Try:
    job: Job
    attempt: int = 0  # tries before this one
    node_losses: int = 0
    ref: Any = None  # the pending result while an actor runs it
    start: float = 0.0  # monotonic, when it was handed to the actor


@dataclass
class Slot:
    """One actor as the driver sees it: placed once `hello` answered; `busy` while it runs a job."""

    handle: Any = None
    hello: Any = None  # the pending hello() reference; None once placed
    node: str | None = None
    busy: _Try | None = None
    start_failures: int = 0


class Pool:
    """`workers` actors of `body(*args)` with Ray `options`; `run` hands them jobs and yields what finishes.

    `name` names the pool in its lines ("render", "probe"); `unit` says what one actor reserves (for the no-room
    line); `kept(done)` says what a stopped run keeps."""

    def __init__(self, body: type[Actor], args: tuple[Any, ...], options: dict[str, Any], workers: int, *,
                 name: str, unit: str, kept: Callable[[int], str], retries: int, timeout: float | None = None) -> None:
        import ray

        self.name, self.unit, self.kept, self.retries, self.timeout = name, unit, kept, retries, timeout
        self.args = args
        self._actor_cls = ray.remote(body).options(max_restarts=0, **options)
        self.slots: list[Slot | None] = [self._start(Slot()) for _ in range(workers)]
        self.counts = {"done": 0, "failed": 0, "retried": 0, "node_lost": 0, "crashed": 0}

    def _start(self, slot: Slot) -> Slot:
        slot.handle = self._actor_cls.remote(*self.args)
        slot.hello, slot.node, slot.busy = slot.handle.hello.remote(), None, None
        slot.handle.warm.remote()
        return slot

    @property
    def actors(self) -> list[Any]:
        """Handles of the actors (placed or pending)."""
        return [s.handle for s in self.slots if s]

    def run(self, jobs: Iterable[Job]) -> Iterator[Finished]:
        """Give one job at a time to each placed actor; yield each job once, as it finishes or is given up."""
        import ray

        source, queue = iter(jobs), deque[_Try]()
        idle_since: float | None = None

        def take() -> _Try | None:
            if queue:
                return queue.popleft()
            job = next(source, None)
            return None if job is None else _Try(job)

        while True:
            for slot in self.slots:  # work only to placed, idle actors
                if slot and slot.node and slot.busy is None:
                    t = take()
                    if t is None:
                        break
                    t.ref, t.start = slot.handle.run.remote(t.job.payload), time.monotonic()
                    slot.busy = t
            busy = {s.busy.ref: s for s in self.slots if s and s.busy}
            pending = {s.hello: s for s in self.slots if s and s.hello is not None}
            if not busy:
                t = take()
                if t is None:
                    return
                queue.appendleft(t)
                idle_since = idle_since or time.monotonic()
                if not pending or time.monotonic() - idle_since > PLACEMENT_WAIT:
                    raise TkError(self._no_worker_line(len(pending)))
            else:
                idle_since = None
            # with a timeout to watch, wake up now and then even when nothing finishes
            wait = 1.0 if not busy else (0.25 if self.timeout else None)
            ready, _ = ray.wait([*busy, *pending], num_returns=1, timeout=wait)
            for ref in ready:
                if ref in pending:
                    self._placed(pending[ref], ref)
                    continue
                slot = busy[ref]
                t, slot.busy = slot.busy, None
                done = self._collect(slot, t, queue)
                if done:
                    yield done
            for done in self._time_out(queue):
                yield done

    def _collect(self, slot: Slot, t: _Try, queue: deque[_Try]) -> Finished | None:
        """The finished job of `t`, or None when it went back in the queue."""
        import ray

        try:
            result = ray.get(t.ref)
        except ray.exceptions.RayTaskError as e:  # the actor's own code raised: a bug or a resource failure
            cause = getattr(e, "cause", None) or e
            return self._retry(t, f"worker error: {_first_line(cause)}", queue)
        except ray.exceptions.RayError as e:  # the actor, its node or its result is gone
            lost_node = self._replace(slot)
            if lost_node and t.node_losses + 1 < MAX_NODE_LOSSES:
                self.counts["node_lost"] += 1
                self._say(f"Ray node {lost_node[:12]} was lost; {t.job.label} goes back in the queue")
                queue.appendleft(_Try(t.job, t.attempt, t.node_losses + 1))
                return None
            if t.attempt < self.retries:  # said, as the retries of a crash are rare and may point at the cluster
                self.counts["crashed"] += 1
                self._say(f"a {self.name} worker died ({_first_line(e)}); {t.job.label} is tried again")
            return self._retry(t, f"worker crashed: {_first_line(e)}", queue)
        self.counts["done"] += 1
        return Finished(t.job, result, None, t.attempt + 1)

    def _time_out(self, queue: deque[_Try]) -> list[Finished]:
        """Kill the actors whose job ran past `timeout` (each is replaced); the jobs given up."""
        import ray

        if not self.timeout:
            return []
        out, now = [], time.monotonic()
        for slot in self.slots:
            if slot and slot.busy and now - slot.busy.start > self.timeout:
                t, slot.busy = slot.busy, None
                ray.kill(slot.handle)
                self._start(slot)
                done = self._retry(t, f"timeout: no result after {self.timeout:.0f}s", queue)
                out += [done] if done else []
        return out

    def _retry(self, t: _Try, error: str, queue: deque[_Try]) -> Finished | None:
        """Put `t` back at the front of the queue while it has retries left, else give it up with `error`."""
        if t.attempt < self.retries:
            self.counts["retried"] += 1
            queue.appendleft(_Try(t.job, t.attempt + 1, t.node_losses))
            return None
        self.counts["failed"] += 1
        return Finished(t.job, None, error, t.attempt + 1)

    def _placed(self, slot: Slot, ref: Any) -> None:
        import ray

        try:
            slot.node, slot.hello, slot.start_failures = ray.get(ref), None, 0
        except ray.exceptions.RayError:  # died before it ran: start another, unless it keeps failing
            slot.start_failures += 1
            if slot.start_failures >= MAX_START_FAILURES:
                self.slots = [None if s is slot else s for s in self.slots]
            else:
                self._start(slot)

    def _replace(self, slot: Slot) -> str | None:
        """Start a new actor in place of a dead one; the lost node's id when its node died, else None."""
        node = slot.node
        lost = node if node and node not in {n["id"] for n in alive_nodes()} else None
        self._start(slot)
        return lost

    def _say(self, line: str) -> None:
        console.print(f"{self.name}: {line}", markup=False, highlight=False, soft_wrap=True)  # one line, however long

    def _no_worker_line(self, pending: int) -> str:
        why = (f"{pending} waited {PLACEMENT_WAIT:.0f} s for room on the cluster ({self.unit} each)"
               if pending else "their actors kept failing to start")
        return (f"no {self.name} worker is running: {why}; {self.kept(self.counts['done'] + self.counts['failed'])}: "
                "run the same command again when the cluster has room")

    def close(self) -> None:
        """Stop the actors; never waits on a pending one (a dead actor's close fails at once)."""
        import ray

        placed = [s.handle.close.remote() for s in self.slots if s and s.node]
        ray.wait(placed, num_returns=len(placed), timeout=30)
        for a in self.actors:
            ray.kill(a)


def _first_line(e: BaseException) -> str:
    return (str(e).strip().splitlines() or [type(e).__name__])[0][:200]
