"""Keep freed host memory in the process during CPU training, so each step does not page its activations in again.

A step allocates and frees the same few hundred MB of activations. By default glibc hands every block above its mmap
threshold, and the heap's free top above the trim threshold, back to the OS at `free`, so the next step takes a page
fault for each 4 KiB of them again: a sixth of a `cpu` preset step on 2 cores (docs/train.md). Raising both thresholds,
and growing the heap in large steps, keeps that memory mapped and reused; the peak is what it would be anyway.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

M_TRIM_THRESHOLD = -1  # glibc's mallopt parameter numbers (malloc.h)
M_TOP_PAD = -2
M_MMAP_THRESHOLD = -3
KEEP_BYTES = 1 << 30  # blocks up to 1 GiB come from the heap, and up to 1 GiB of its free top stays mapped
TOP_PAD_BYTES = 1 << 27  # the heap grows 128 MiB at a time: without it the two thresholds gained 4%, with it 15%


@functools.lru_cache(maxsize=1)
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        return libc if hasattr(libc, "mallopt") and hasattr(libc, "gnu_get_libc_version") else None
    except OSError:
        return None


def glibc_available() -> bool:
    """True where the C library is glibc (Linux): the only allocator these settings mean anything to."""
    return _libc() is not None


def keep_freed_memory() -> bool:
    """Make freed memory stay in the process (glibc mallopt); False, changing nothing, on another C library."""
    if not glibc_available():
        return False
    libc = _libc()
    settings = ((M_MMAP_THRESHOLD, KEEP_BYTES), (M_TRIM_THRESHOLD, KEEP_BYTES), (M_TOP_PAD, TOP_PAD_BYTES))
    return all([bool(libc.mallopt(param, value)) for param, value in settings])
