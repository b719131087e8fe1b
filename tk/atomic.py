"""Atomic writes: a temp file in the target folder, fsync, then rename.

A job killed at any moment leaves either the old file or the complete new one, never a partial one.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from tk import faults


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temp path beside `path`; on success it is renamed onto `path`, on error removed."""
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as e:
        err = faults.as_storage_error(e, target)
        if err is None:
            raise
        raise err from e
    os.close(fd)
    tmp_path = Path(tmp)
    # mkstemp creates 0600; outputs are shared data, so give them the mode a plain open() would.
    os.chmod(tmp_path, 0o666 & ~_UMASK)
    try:
        yield tmp_path
        replace(tmp_path, target)
    except Exception as e:
        # Named while the temp file still holds its space: a full disk is told apart from other failures.
        err = faults.as_storage_error(e, target, tmp_path)
        tmp_path.unlink(missing_ok=True)
        if err is None or err is e:
            raise
        raise err from e
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str], mode: str = "wb", **kwargs: Any) -> Iterator[IO[Any]]:
    """Open a temp file for writing that replaces `path` atomically when the block ends."""
    with atomic_path(path) as tmp, open(tmp, mode, **kwargs) as fh:
        yield fh


def write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write `data` to `path` atomically."""
    with atomic_open(path, "wb") as fh:
        fh.write(data)


def write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write `text` (UTF-8) to `path` atomically."""
    write_bytes(path, text.encode("utf-8"))


def write_parquet(path: str | os.PathLike[str], table: Any, **kwargs: Any) -> None:
    """Write a pyarrow Table to `path` atomically."""
    import pyarrow.parquet as pq

    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, **kwargs)


def replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
    """Rename `src` (a file or a whole folder) onto `dst` once its data is on disk, then sync `dst`'s folder.

    The one rename of tk: without the fsyncs, power lost after the rename can leave an empty file (or
    folder) where a manifest or checkpoint was, since the rename may reach the disk before the data.
    """
    src_path = Path(src)
    if src_path.is_dir() and not src_path.is_symlink():
        _fsync_tree(src_path)
    elif not src_path.is_symlink():
        _fsync_file(src_path)
    os.replace(src_path, dst)
    _fsync_dir(Path(dst).parent)


def symlink(target: str, link: str | os.PathLike[str]) -> None:
    """Point `link` at `target` (kept as written, e.g. relative), replacing an old link in one step."""
    link_path = Path(link)
    tmp = link_path.with_name(f".{link_path.name}.tmp-{os.getpid()}")
    tmp.unlink(missing_ok=True)
    os.symlink(target, tmp)
    try:
        replace(tmp, link_path)  # its folder sync also records the new link's own entry
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def remove_stale_temps(folder: str | os.PathLike[str]) -> int:
    """Delete temp files left by killed writers in `folder`; return how many were removed."""
    n = 0
    for p in Path(folder).glob(".*.tmp"):
        with contextlib.suppress(FileNotFoundError):
            p.unlink()
            n += 1
    return n


def _read_umask() -> int:
    # os.umask can only be read by setting it; do it once, before any writer threads exist.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _read_umask()


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def _fsync_tree(folder: Path) -> None:
    """fsync every file and folder under `folder`, deepest first, `folder` itself last."""
    for root, dirs, files in os.walk(folder, topdown=False):
        for name in files:
            p = Path(root) / name
            if not p.is_symlink():
                _fsync_file(p)
        for name in dirs:
            if not (Path(root) / name).is_symlink():
                _fsync_dir(Path(root) / name)
    _fsync_dir(folder)


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
