"""Settings of the property-based tests and a watcher of every file they open, write or rename.

`make test` runs each property on a short, fixed budget (TK_FUZZ_EXAMPLES, default 150, derandomized so CI
is repeatable); `make fuzz` sets TK_FUZZ_EXAMPLES=10000 and draws fresh inputs each run.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

EXAMPLES = int(os.environ.get("TK_FUZZ_EXAMPLES", "150"))
settings.register_profile(
    "tk",
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=EXAMPLES <= 1000,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much],
)
settings.load_profile("tk")

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
_CHANGES = {"os.rename", "os.remove", "os.rmdir", "os.mkdir", "os.truncate", "os.symlink", "os.link",
            "os.chmod", "shutil.rmtree", "shutil.move", "os.utime"}


class FileWatch:
    """The files the code under test opened (reads) and changed (writes, renames, removals) while `on`."""

    def __init__(self) -> None:
        self.on = False
        self.reads: list[str] = []
        self.writes: list[str] = []

    def hook(self, event: str, args: tuple) -> None:
        if not self.on:
            return
        if event == "open":
            path, mode, flags = args
            if not isinstance(path, (str, bytes, os.PathLike)):
                return  # an fd
            text = os.fsdecode(path)
            writing = any(c in str(mode or "") for c in "wax+") or bool((flags or 0) & _WRITE_FLAGS)
            (self.writes if writing else self.reads).append(os.path.abspath(text))
        elif event in _CHANGES and args and isinstance(args[0], (str, bytes, os.PathLike)):
            self.writes.append(os.path.abspath(os.fsdecode(args[0])))

    def reset(self) -> None:
        self.reads.clear()
        self.writes.clear()

    def outside(self, kind: list[str], *roots: Path) -> list[str]:
        """The paths of `kind` (reads or writes) that lie under none of `roots`."""
        tops = [os.path.realpath(r) for r in roots]
        return [p for p in kind if not any(os.path.realpath(p) == t or os.path.realpath(p).startswith(t + os.sep)
                                           for t in tops)]

    def data_reads(self) -> list[str]:
        """Reads that are not Python loading code (imports) or tk's own presets (configs/)."""
        code = (".py", ".pyc", ".so", ".pth")
        tops = {os.path.realpath(p) for p in (*sys.path, sys.prefix, sys.base_prefix) if p}
        return [p for p in self.reads if not p.endswith(code) and os.sep + "configs" + os.sep not in p
                and not any(os.path.realpath(p).startswith(t + os.sep) for t in tops)]

    def under(self, kind: list[str], root: Path) -> list[str]:
        """The paths of `kind` that lie under `root`."""
        top = os.path.realpath(root)
        return [p for p in kind if os.path.realpath(p) == top or os.path.realpath(p).startswith(top + os.sep)]


_WATCH = FileWatch()
sys.addaudithook(_WATCH.hook)  # audit hooks cannot be removed: the watch is switched on per test


@pytest.fixture
def watch() -> Iterator[FileWatch]:
    """Record file access of the test body; `watch.on` is True while the code under test runs."""
    _WATCH.reset()
    _WATCH.on = False
    yield _WATCH
    _WATCH.on = False
    _WATCH.reset()


def one_line(e: BaseException) -> bool:
    """tk's error standard: a TkError whose message is one non-empty line."""
    from tk.errors import TkError

    return isinstance(e, TkError) and bool(str(e).strip()) and "\n" not in str(e)


def reads_only(watch: FileWatch, path: Path, loader: Callable[[Path], Any]) -> Any:
    """Run `loader(path)` under `watch`: it returns, or raises one TkError line; it writes nothing and reads no data
    file but `path`. Returns what the loader returned (None after a TkError)."""
    from tk.errors import TkError

    watch.reset()
    watch.on = True
    out = None
    try:
        out = loader(path)
    except TkError as e:
        assert one_line(e), repr(str(e))
    finally:
        watch.on = False
    assert watch.writes == []
    assert set(watch.data_reads()) <= {str(path)}
    return out
