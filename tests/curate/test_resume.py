"""kill -9 in the middle of probing, then rerun: finished probes are reused, no row is duplicated."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq

from tk import contracts

N_FILES = 5


def make_inputs(folder: Path, sample_objects: Path) -> None:
    """Distinct FBX files (Blender probes them in a child process, ~1 s each) with a CC0 folder license."""
    folder.mkdir()
    data = (sample_objects / "spider.fbx").read_bytes()
    for i in range(N_FILES):
        (folder / f"spider_{i}.fbx").write_bytes(data + f"tk-{i}".encode())  # trailing bytes: a new uid
    (folder / "LICENSE").write_text("CC0\n")


def stored_probes(out: Path) -> dict[str, float]:
    files = sorted((out / ".work" / "probes").glob("*.parquet"))
    rows = [r for f in files for r in pq.read_table(f).to_pylist()]
    return {r["uid"]: r["probe_seconds"] for r in rows}


def test_kill_and_resume(tmp_path, sample_objects):
    make_inputs(tmp_path / "in", sample_objects)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "tk", "curate", "--source", "local", "--input", str(tmp_path / "in"),
           "--out", str(out), "--workers", "1", "--license", "all"]
    env = os.environ | {"TK_NO_PROGRESS": "1", "RAY_AUTH_MODE": "disabled"}
    # A session of its own, so the kill reaches the CLI and the Ray processes it started.
    proc = subprocess.Popen(cmd, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if len(list((out / ".work" / "probes").glob("part-*.parquet"))) >= 2:
                break
            time.sleep(0.1)
        assert proc.poll() is None, "curate finished before it could be killed: " + proc.stderr.read().decode()[-500:]
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    before = stored_probes(out)
    assert 2 <= len(before) < N_FILES
    assert not (out / "manifest.parquet").exists()  # nothing half-written

    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads((out / "report.json").read_text())
    assert report["probe"]["reused"] == len(before)
    assert report["probe"]["probed"] == N_FILES - len(before)
    after = stored_probes(out)
    # a reused probe keeps the measurement stamp it was stored with, so nothing was probed twice
    assert len(after) == N_FILES and all(after[uid] == stamp for uid, stamp in before.items())
    table = contracts.read_table(out / "manifest.parquet", contracts.MANIFEST)
    assert table.num_rows == N_FILES == len(set(table.column("uid").to_pylist()))
    assert set(table.column("reason").to_pylist()) == {"unreadable"}  # Blender 5's FBX importer fails on this file
