"""The child side of the persistent Blender worker (`python -m tk.blender.serve`): imports bpy once, then serves
jobs from stdin until it closes, one result per job on the original stdout.

A job names its own type: `job["type"]` is "module:function" of a tk module (render's `tk.render.worker:run_job`,
curate's `tk.curate.bpy_probe:measure`), imported on first use. The core so serves every stage's Blender work
without importing any stage. The process's own fd 1 is pointed at stderr so Blender's chatter cannot corrupt the
result stream; the parent (tk.blender.process) owns the timeout, the memory cap and the kill.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

from tk.blender.protocol import read_message, write_message

THREADS_ENV = "TK_RENDER_WORKER_THREADS"
PRELOAD_ENV = "TK_BLENDER_PRELOAD"  # comma list of the job types' modules to import at start (tk.blender.process)
# Set by tests only, for files whose name contains NAME: "abort=NAME" calls os.abort(), "segv=NAME" segfaults,
# "hang=NAME" sleeps forever, "hog=NAME" allocates memory until killed; hooks are separated by ';'.
TEST_HOOK_ENV = "TK_RENDER_TEST_HOOK"

Handler = Callable[[dict[str, Any]], dict[str, Any]]


def handler(job_type: str) -> Handler:
    """The function a job type names; only tk's own modules (the pipe is private, this is a second lock)."""
    module, _, name = job_type.partition(":")
    if not name:
        raise ValueError(f"not a job type: {job_type!r}")
    return getattr(_module(module), name)


def _module(name: str) -> Any:
    if not name.startswith("tk."):
        raise ValueError(f"not a tk module: {name!r}")
    return importlib.import_module(name)


@contextlib.contextmanager
def cpu_mask(threads: int) -> Iterator[None]:
    """Import bpy while this process may run on only `threads` CPUs, then give it all of its CPUs back.

    Blender sizes its task-scheduler (TBB) pool from the CPUs it may use when bpy is imported; Cycles'
    `threads` setting limits the render threads only. Two 1-thread workers on 2 cores otherwise each
    keep a 2-thread pool whose idle threads spin, and measured here each object took 1.7x longer.
    The mask is widened again right away, so the OS still places the worker on any free core (no
    pinning, which would collide when several jobs or Ray actors share a node).
    """
    full = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else set()
    if not 0 < threads < len(full):  # unset, or no fewer than the CPUs there are: nothing to narrow
        yield
        return
    os.sched_setaffinity(0, set(sorted(full)[:threads]))
    try:
        yield
    finally:
        for tid in os.listdir("/proc/self/task"):  # threads Blender started inherited the narrow mask
            try:
                os.sched_setaffinity(int(tid), full)
            except OSError:  # a thread that already ended
                pass


def _test_hook(path: str) -> None:
    for hook in filter(None, os.environ.get(TEST_HOOK_ENV, "").split(";")):
        action, _, name = hook.partition("=")
        if name and name in os.path.basename(path):
            if action == "abort":
                os.abort()
            if action == "segv":
                import ctypes

                ctypes.string_at(0)  # a segmentation fault, as a crashing importer gives
            if action == "hang":
                time.sleep(10**6)
            if action == "hog":
                hoard = []
                while True:
                    hoard.append(bytearray(b"\x01") * 2**26)  # 64 MiB a step, written, so it is resident
                    time.sleep(0.02)


def serve() -> None:
    """Serve jobs from stdin until it closes; bpy is imported once, before the first job."""
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # Blender prints to fd 1; keep that out of the result stream
    sys.stdout = sys.stderr
    # the job modules first, as render's worker always did: before bpy (the order its libraries were tested in) and
    # inside the start-up time, not the first job's timeout
    for name in filter(None, os.environ.get(PRELOAD_ENV, "").split(",")):
        _module(name)
    with cpu_mask(int(os.environ.get(THREADS_ENV, "0"))):
        import bpy  # noqa: F401

    write_message(out, {"ready": True, "pid": os.getpid(), "blender": bpy.app.version_string})
    stdin = sys.stdin.buffer
    handlers: dict[str, Handler] = {}
    while True:
        job = read_message(stdin)
        if job is None:
            return
        _test_hook(job.get("path", ""))
        if job["type"] not in handlers:
            handlers[job["type"]] = handler(job["type"])
        write_message(out, handlers[job["type"]](job))


if __name__ == "__main__":
    serve()
