"""Small real file systems for the fault tests: a tmpfs of a given size, which can be remounted read-only or larger.

Mounting needs root (CAP_SYS_ADMIN); where the test machine cannot mount, the tests that need one skip.
"""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


class SmallDisk:
    """A tmpfs mounted at `path`."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def remount(self, options: str) -> None:
        """Remount with `options`, e.g. "ro", "rw", "size=64m" (freeing space without touching the files)."""
        subprocess.run(["mount", "-o", f"remount,{options}", str(self.path)], check=True, capture_output=True)

    def fill(self) -> Path:
        """Take every free byte with one file (the next write meets the ENOSPC of a full disk); return it."""
        ballast = self.path / "ballast"
        fd = os.open(ballast, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        try:
            while True:
                os.write(fd, b"\0" * 65536)  # unbuffered: a short write takes the last bytes, the next one fails
        except OSError as e:
            assert e.errno == errno.ENOSPC
        finally:
            os.close(fd)
        return ballast


@contextlib.contextmanager
def small_disk(path: Path, size: str) -> Iterator[SmallDisk]:
    """A tmpfs of `size` ("64k", "6m") at `path`; skips the test where mounting is not allowed."""
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.decode().strip() or 'mount failed'})")
    try:
        yield SmallDisk(path)
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)
