"""Storage faults a long job meets (a full disk, a read-only or deleted --out, a vanished input) as one line.

Libraries report them in their own words: Python `OSError: [Errno 28]`, pyarrow "Error writing bytes to file",
torch `RuntimeError: [enforce fail at inline_container.cc:672] . unexpected pos`, safetensors "os error 28",
DuckDB "No space left on device", Ray wrapping any of them. `classify` finds the cause in any of these;
`tk.atomic` raises `StorageError` naming the file it was writing, and `tk.cli` prints every storage fault as:

    error: no space left on device writing RUN/checkpoints/.step-0000200.tmp-1/train_state.pt; the last complete
    checkpoint is step-0000100; free space on that disk, then run `tk train ...` again to continue

Every output file is written to a temp name and renamed (tk.atomic), so a fault leaves no partial file that
a later run would read as good; what is kept is what was complete before it. A `StoppedError` (remote storage that
kept failing: tk.train.remote_read) is printed the same way, its own words first.
"""

from __future__ import annotations

import contextlib
import errno as E
import os
import re
import shlex
from pathlib import Path

from tk.errors import TkError

CAUSES = {
    E.ENOSPC: "no space left on device",
    E.EDQUOT: "disk quota exceeded",
    E.EFBIG: "file too large for the file system",
    E.EROFS: "read-only file system",
    E.EACCES: "permission denied",
    E.EPERM: "operation not permitted",
    E.ENOENT: "folder or file not found (deleted while tk ran?)",
    E.EIO: "input/output error",
}
# What each cause asks the user to do before running the same command again.
FIXES = {
    E.ENOSPC: "free space on that disk",
    E.EDQUOT: "free space within your quota",
    E.EFBIG: "use a file system without that limit",
    E.EROFS: "make the folder writable or choose another --out",
    E.EACCES: "make the folder writable for you or choose another --out",
    E.EPERM: "make the folder writable for you or choose another --out",
    E.ENOENT: "restore it, or let the run redo what it held",
    E.EIO: "check the disk",
}
# The same causes as libraries spell them in text, for errors that carry no errno.
_TEXT = (
    (re.compile(r"no space left on device|os error 28|errno 28|ENOSPC", re.I), E.ENOSPC),
    (re.compile(r"disk quota exceeded|errno 122", re.I), E.EDQUOT),
    (re.compile(r"read-only file system|errno 30", re.I), E.EROFS),
)
# The causes only a write meets.
_WRITES = (E.ENOSPC, E.EDQUOT, E.EFBIG, E.EROFS)
# Free bytes below which a failed write is put down to a full disk (torch's short-write error says nothing else).
FULL_BYTES = 1 << 20


class StorageError(TkError, OSError):
    """A write (or read) that the storage refused; `errno` is the cause, `path` the file or folder.

    Also an OSError, so code that handled the library's OSError before still does."""

    def __init__(self, code: int, path: str | os.PathLike[str] | None, reading: bool = False) -> None:
        shown = str(path) if path is not None else None
        super().__init__(f"{CAUSES.get(code, os.strerror(code).lower())} {_verb(code, reading)} {shown or 'a file'}")
        self.errno = code  # set after OSError's __init__, which resets it
        self.path = shown
        self.reading = reading

    def __reduce__(self) -> tuple:  # crosses process boundaries (Ray workers) intact
        return (StorageError, (self.errno, self.path, self.reading))


class StoppedError(TkError):
    """A fault outside tk that stopped a command midway (remote storage that kept failing): the CLI prints it as it
    prints a StorageError, with what was kept and the command that continues. `fix` is what to check first."""

    fix = "check the storage"


class HeldFolder:
    """A folder a command writes in, held open so that its deletion is seen even after a write beneath it made a folder
    of that name again (tk.atomic creates missing parents): `check()` raises StorageError(ENOENT, path) once the folder
    was deleted or moved away. Holding it also keeps its inode from being reused while the command runs."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        try:
            self._fd: int | None = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY)
        except OSError as e:
            found = classify(e)
            raise (StorageError(found[0], self.path) if found else e) from e

    def gone(self) -> bool:
        """True when the folder at `path` is no longer the one held."""
        if self._fd is None:
            raise ValueError("HeldFolder used after close()")
        held = os.fstat(self._fd)
        if held.st_nlink == 0:
            return True
        try:
            now = os.stat(self.path)
        except OSError:
            return True
        return (now.st_dev, now.st_ino) != (held.st_dev, held.st_ino)

    def check(self) -> None:
        """Raise StorageError(ENOENT, path) when the folder was deleted or moved away."""
        if self.gone():
            raise StorageError(E.ENOENT, self.path)

    def remove_if_remade(self) -> None:
        """After `gone()`: remove the folder of that name if it is an empty one made again by a write beneath it."""
        if self.gone():
            with contextlib.suppress(OSError):
                self.path.rmdir()  # only an empty folder: what the user put there is never removed

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> HeldFolder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _verb(code: int, reading: bool = False) -> str:
    if reading:
        return "reading"
    return "writing" if code in _WRITES else "at"


def classify(e: BaseException) -> tuple[int, str | None] | None:
    """(errno, path) when `e`, or an error it wraps, is a storage fault of CAUSES; else None."""
    seen: set[int] = set()
    stack: list[BaseException | None] = [e]
    while stack:
        err = stack.pop()
        if err is None or id(err) in seen:
            continue
        seen.add(id(err))
        if isinstance(err, StorageError):
            return err.errno, err.path
        code = getattr(err, "errno", None)
        if isinstance(err, OSError) and code in CAUSES:
            # a copy (shutil.copyfile) that fails names its source first, and the file it was writing second
            name = err.filename2 if code in _WRITES and isinstance(err.filename2, str) else err.filename
            return code, name if isinstance(name, str) else None
        text = str(err)
        for pattern, found in _TEXT:
            if pattern.search(text):
                return found, None
        stack += [err.__cause__, err.__context__, getattr(err, "cause", None)]  # Ray keeps the task's error as .cause
    return None


def disk_full(folder: str | os.PathLike[str]) -> bool:
    """True when the file system of `folder` has (almost) no space left for this user."""
    try:
        st = os.statvfs(folder)
    except OSError:
        return False
    return st.f_bavail * st.f_frsize < FULL_BYTES


def as_storage_error(e: BaseException, target: Path, tmp: Path | None = None) -> StorageError | None:
    """The StorageError of a failed atomic write of `target` (via temp file `tmp`), or None if storage is not why.

    Call it before the temp file is removed: a write that fails on a disk that is full at that moment is
    put down to the full disk, whatever the library said (torch only says "unexpected pos").
    """
    if isinstance(e, StorageError):
        return e
    found = classify(e)
    if found is not None:
        code, path = found
        # A path in the error is the file it was about (an input read inside the block, say), else the target.
        # (mkstemp names the temp file it could not create: that is the target too.)
        ours = path is not None and (path == str(tmp) or (os.path.dirname(path) == str(target.parent)
                                                            and os.path.basename(path).startswith(f".{target.name}.")))
        named = str(target) if ours or not path else path
        return StorageError(code, named, reading=not ours and bool(path) and path != str(target) and code == E.ENOENT)
    if isinstance(e, Exception) and disk_full(target.parent if target.parent.exists() else target.parent.parent):
        return StorageError(E.ENOSPC, target)
    return None


def message(e: BaseException, argv: list[str]) -> str | None:
    """The one line tk prints for a storage fault of the command `tk ARGV` (None if `e` is not one)."""
    if isinstance(e, StoppedError):
        return _continued(str(e), e.fix, argv)
    found = classify(e)
    if found is None:
        return None
    code, path = found
    if isinstance(e, StorageError):
        head = str(e)
    else:
        out = option(argv, "--out")
        where = path or (f"in {out}" if out else "a file")
        head = f"{CAUSES[code]} {_verb(code)} {where}"
    return _continued(head, FIXES[code], argv, code)


def _continued(head: str, fix: str, argv: list[str], code: int | None = None) -> str:
    """`HEAD; what was kept; FIX, then run `tk ...` again to continue`."""
    parts = [head]
    kept = kept_note(argv, code)
    if kept:
        parts.append(kept)
    parts.append(f"{fix}, then run `{command_line(continue_argv(argv))}` again to continue")
    return "; ".join(parts)


def command_line(argv: list[str]) -> str:
    """`tk ARGV` as the user can paste it back (tk's own --debug left out)."""
    return "tk " + " ".join(shlex.quote(a) for a in argv if a != "--debug")


def continue_argv(argv: list[str]) -> list[str]:
    """The arguments that continue a stopped `tk ARGV`: the same, plus `--resume` for a run with checkpoints
    (tk train refuses to start over a run folder that has them)."""
    words = [a for a in argv if not a.startswith("-")]
    out = option(argv, "--out")
    if words[:1] == ["train"] and "--resume" not in argv and out and any((Path(out) / "checkpoints").glob("step-*")):
        return [*argv, "--resume"]
    return argv


def option(argv: list[str], name: str) -> str | None:
    """The value of `--name VALUE` or `--name=VALUE` in `argv`."""
    for i, a in enumerate(argv):
        if a == name and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith(name + "="):
            return a.split("=", 1)[1]
    return None


def kept_note(argv: list[str], code: int | None = None) -> str | None:
    """What a stopped `tk ARGV` keeps in its --out folder, in the stage's words; None when nothing to say.

    `code` is the cause (an errno of CAUSES), None for a fault outside tk."""
    words = [a for a in argv if not a.startswith("-")]
    stage = words[0] if words else ""
    out = option(argv, "--out")
    try:
        if stage == "train" and out:
            if code == E.ENOENT and not Path(out).is_dir():
                return "the run's checkpoints went with the folder"
            return _kept_checkpoint(Path(out))
        if stage == "render" and out:
            return _kept_renders(Path(out))
        if stage == "curate" and out:
            probes = Path(out) / ".work" / "probes"
            n = sum(1 for _ in probes.glob("*.parquet")) if probes.is_dir() else 0
            return f"the {n} probe result file(s) finished are kept in {probes}" if n else "no finished probe was lost"
        if stage == "eval":
            return "no report.json was written (it is written last, after report.md and grid.png)"
        if stage == "infer":
            if code == E.ENOENT and out and not Path(out).is_dir():
                return "the images finished went with the folder"
            return "the images finished are kept (an image's files are moved into its folder once all are written)"
        if stage == "release" and len(words) > 1 and words[1] in ("build", "rebuild") and out:
            work = Path(out).parent / f".{Path(out).name}.work"  # tk.release.build's folder of the stages' outputs
            kept = f"; the stages' finished work is kept in {work} and reused" if work.is_dir() else ""
            if code == E.ENOENT and not work.is_dir():
                kept = "; the stages' finished work went with the folder"
            return f"the release folder was not created{kept}"
    except OSError:
        return None  # the folder itself is gone or unreadable: the cause says so
    return None


def _kept_checkpoint(run: Path) -> str:
    steps = sorted(p.name for p in (run / "checkpoints").glob("step-*") if p.is_dir() and p.name[5:].isdigit())
    return f"the last complete checkpoint is {steps[-1]}" if steps else "no checkpoint was complete yet"


def _kept_renders(out: Path) -> str:
    objects = out / "objects.parquet"
    if not objects.is_file():
        return "no shard was complete yet"
    import pyarrow.parquet as pq

    rows = pq.read_table(objects, columns=["status", "shard"]).to_pylist()
    # objects.parquet is written before its shard: an object counts once its shard is on disk.
    n = sum(1 for r in rows if r["status"] == "ok" and r["shard"] and (out / "shards" / r["shard"]).is_file())
    return f"{n} objects rendered are kept"
