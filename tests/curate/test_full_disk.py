"""`tk curate` on a disk that is full (issue 25): one line naming the cause, what was kept and the command that
continues; no manifest half-written; after space is freed the same command gives the manifest of an uninterrupted run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.disks import small_disk
from tk import contracts


def _curate(src: Path, out: Path) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "tk", "curate", "--source", "local", "--input", str(src), "--out", str(out),
           "--workers", "1", "--license", "all"]
    env = os.environ | {"TK_NO_PROGRESS": "1", "RAY_AUTH_MODE": "disabled"}
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)


def _rows(out: Path) -> list[tuple]:
    table = contracts.read_table(out / "manifest.parquet", contracts.MANIFEST)
    return sorted(zip(*(table.column(c).to_pylist() for c in ("uid", "status", "reason", "face_count"))))


def test_full_disk_then_resume(tmp_path, sample_objects):
    src = tmp_path / "in"
    src.mkdir()
    for name in ("bunny.glb", "025_mug.stl"):
        shutil.copy(sample_objects / name, src / name)
    (src / "LICENSE").write_text("CC0\n")
    whole = _curate(src, tmp_path / "whole")
    assert whole.returncode == 0, whole.stderr[-2000:]

    with small_disk(tmp_path / "disk", "100k") as disk:
        out = disk.path / "cur"
        full = _curate(src, out)
        err = full.stderr.strip().splitlines()[-1]
        assert full.returncode == 2, full.stderr[-2000:]
        assert err.startswith("error: no space left on device writing "), err
        assert err.endswith(f"free space on that disk, then run `tk curate --source local --input {src} --out {out} "
                            "--workers 1 --license all` again to continue"), err
        assert not (out / "manifest.parquet").exists() and not (out / "manifest.duckdb").exists()
        assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]

        disk.remount("size=64m")  # space freed
        done = _curate(src, out)
        assert done.returncode == 0, done.stderr[-2000:]
        assert _rows(out) == _rows(tmp_path / "whole")
