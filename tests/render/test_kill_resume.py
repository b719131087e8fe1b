"""kill -9 of a running `tk render` at an arbitrary moment, then the same command again: exactly one complete
set of views per object, no partial or duplicate shards, and the finished objects are not rendered twice."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from shard_views import shard_views
from tk.contracts import OBJECTS, read_table

SAMPLE = Path(__file__).resolve().parents[2] / "manifests" / "sample" / "objects"
FILES = ["bunny.glb", "suzi.glb", "025_mug.stl", "Spider_binary.stl", "pico-neo3.glb", "meta-quest-touch-plus.glb"]


def _cmd(src: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "tk", "render", "--input", str(src), "--out", str(out), "--views", "3",
            "--resolution", "32", "--samples", "2", "--no-denoise", "--lighting", "studio", "--workers", "1",
            "--objects-per-shard", "1"]



def test_kill_9_then_resume_gives_one_set_of_views_per_object(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for name in FILES:
        shutil.copy(SAMPLE / name, src / name)
    out = tmp_path / "out"
    env = {**os.environ, "TK_NO_PROGRESS": "1"}
    # its own session, so the kill takes the whole job down (Ray, the worker) as a crash would
    proc = subprocess.Popen(_cmd(src, out), env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    try:
        while time.time() < deadline and len(list((out / "shards").glob("shard-*.parquet"))) < 2:
            assert proc.poll() is None, "the job ended before it could be killed"
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    done_before = {k[0] for k in shard_views(out)}
    assert 2 <= len(done_before) < len(FILES)

    rerun = subprocess.run(_cmd(src, out), env=env, capture_output=True, text=True, timeout=400)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    keys = shard_views(out)
    assert len(keys) == len(set(keys)) == 3 * len(FILES)
    assert sorted(keys) == sorted((uid, v) for uid in {k[0] for k in keys} for v in range(3))
    objects = read_table(out / "objects.parquet", OBJECTS).to_pylist()
    assert len(objects) == len(FILES) and all(o["status"] == "ok" for o in objects)
    assert f"{len(done_before)} already done" in " ".join(rerun.stdout.split())
    assert not [p for p in out.rglob("*") if ".tmp" in p.name or p.name.startswith(".")]


def test_render_joins_an_existing_ray_cluster(tmp_path):
    """--address: the job runs its workers on a cluster started elsewhere and leaves it running."""
    import ray

    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(SAMPLE / "bunny.glb", src / "bunny.glb")
    ray.init(address="local", num_cpus=2, include_dashboard=False, logging_level="ERROR")
    try:
        address = ray.get_runtime_context().gcs_address
        cmd = _cmd(src, tmp_path / "out") + ["--address", address]
        r = subprocess.run(cmd, env={**os.environ, "TK_NO_PROGRESS": "1"}, capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr[-2000:]
        assert ray.is_initialized() and ray.cluster_resources().get("CPU") == 2  # still up for its owner
    finally:
        ray.shutdown()
    assert sorted(shard_views(tmp_path / "out")) == [(shard_views(tmp_path / "out")[0][0], v) for v in range(3)]
