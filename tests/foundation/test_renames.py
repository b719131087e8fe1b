"""Every rename in tk goes through tk.atomic, which fsyncs what it moves and the folder it lands in.

Without the fsync a machine that loses power after the rename can show an empty file (or folder) where a
manifest or checkpoint was: the rename reached the disk before the data did.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest

from tk import atomic

REPO = Path(__file__).resolve().parents[2]
PACKAGE_FOLDERS = ("tk", "curate", "render", "model", "train")
RENAMES = {("os", "replace"), ("os", "rename"), ("os", "renames"), ("shutil", "move")}


def _renames_in(path: Path) -> list[str]:
    """Calls in `path` that rename: os.replace/rename/renames, shutil.move, Path.rename/replace(target)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module in ("os", "shutil"):
            found += [f"{path}:{node.lineno} from {node.module} import {a.name}" for a in node.names
                      if (node.module, a.name) in RENAMES]
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        attr, owner = node.func.attr, node.func.value
        if isinstance(owner, ast.Name) and (owner.id, attr) in RENAMES:
            found.append(f"{path}:{node.lineno} {owner.id}.{attr}")
        elif attr == "rename" or (attr == "replace" and len(node.args) == 1 and not node.keywords):
            # str.replace takes two arguments and dataclasses.replace keywords: one positional is Path.replace.
            found.append(f"{path}:{node.lineno} .{attr}()")
    return found


def test_no_rename_outside_the_atomic_writer():
    files = [p for folder in PACKAGE_FOLDERS for p in sorted((REPO / folder).rglob("*.py"))]
    assert len(files) > 50
    found = [hit for p in files if p != REPO / "tk" / "atomic.py" for hit in _renames_in(p)]
    assert found == []


def test_the_scan_sees_each_kind_of_rename(tmp_path):
    src = tmp_path / "m.py"
    src.write_text(
        "import os, shutil\nfrom os import replace\nos.replace(a, b)\nos.rename(a, b)\nshutil.move(a, b)\n"
        "p.rename(q)\np.replace(q)\ns.replace('a', 'b')\ndataclasses.replace(c, x=1)\n"
    )
    assert [h.split(" ", 1)[1] for h in _renames_in(src)] == [
        "from os import replace", "os.replace", "os.rename", "shutil.move", ".rename()", ".replace()"]


@pytest.fixture
def fsynced(monkeypatch) -> list[str]:
    """The paths os.fsync is called on, in order."""
    seen: list[str] = []
    real = os.fsync

    def spy(fd: int) -> None:
        seen.append(os.readlink(f"/proc/self/fd/{fd}"))
        real(fd)

    monkeypatch.setattr(os, "fsync", spy)
    return seen


def test_replace_of_a_file_syncs_it_and_the_folder(tmp_path, fsynced):
    (tmp_path / "out").mkdir()
    src = tmp_path / "out" / ".x.tmp"
    src.write_bytes(b"data")
    atomic.replace(src, tmp_path / "out" / "x")
    assert (tmp_path / "out" / "x").read_bytes() == b"data"
    assert not src.exists()
    assert fsynced == [str(src), str(tmp_path / "out")]


def test_replace_of_a_folder_syncs_every_file_and_folder_in_it(tmp_path, fsynced):
    src = tmp_path / ".ckpt.tmp"
    (src / "sub").mkdir(parents=True)
    (src / "a.bin").write_bytes(b"a")
    (src / "sub" / "b.bin").write_bytes(b"b")
    atomic.replace(src, tmp_path / "ckpt")
    assert (tmp_path / "ckpt" / "sub" / "b.bin").read_bytes() == b"b"
    assert set(fsynced[:-1]) == {str(src / "a.bin"), str(src / "sub" / "b.bin"), str(src / "sub"), str(src)}
    assert fsynced[-1] == str(tmp_path)  # the folder the rename lands in, last


def test_symlink_replaces_the_old_link(tmp_path, fsynced):
    (tmp_path / "step-1").mkdir()
    (tmp_path / "step-2").mkdir()
    atomic.symlink("step-1", tmp_path / "latest")
    atomic.symlink("step-2", tmp_path / "latest")
    assert os.readlink(tmp_path / "latest") == "step-2"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest", "step-1", "step-2"]
    assert fsynced == [str(tmp_path), str(tmp_path)]
