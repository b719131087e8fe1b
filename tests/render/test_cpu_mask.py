"""The worker's CPU mask while bpy is imported: narrow for the import (sizes Blender's task pool), full after."""

from __future__ import annotations

import os
import threading

import pytest

from tk.blender.serve import cpu_mask

pytestmark = pytest.mark.skipif(not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2,
                                reason="needs Linux CPU affinity and at least 2 CPUs")


def _mask_of(tid: int) -> set[int]:
    return os.sched_getaffinity(tid)


def test_import_sees_only_its_threads_then_every_thread_gets_all_cpus_back() -> None:
    full = os.sched_getaffinity(0)
    seen: dict[str, set[int]] = {}
    stop = threading.Event()
    ids: list[int] = []

    def pool_thread() -> None:  # stands in for a thread Blender starts during the import
        ids.append(threading.get_native_id())
        seen["pool thread at start"] = os.sched_getaffinity(0)
        stop.wait(10)

    t = threading.Thread(target=pool_thread)
    with cpu_mask(1):
        seen["inside"] = os.sched_getaffinity(0)
        t.start()
        while not ids:
            pass
    try:
        assert len(seen["inside"]) == 1 and seen["inside"] <= full
        assert seen["pool thread at start"] == seen["inside"]
        assert os.sched_getaffinity(0) == full
        assert _mask_of(ids[0]) == full  # widened too, not left on one core
    finally:
        stop.set()
        t.join()


def test_no_narrowing_when_threads_cover_the_machine_or_are_unset() -> None:
    full = os.sched_getaffinity(0)
    for threads in (0, len(full), len(full) + 4):
        with cpu_mask(threads):
            assert os.sched_getaffinity(0) == full
