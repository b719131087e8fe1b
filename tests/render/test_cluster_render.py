"""`tk render` on a simulated multi-node Ray cluster (ray.cluster_utils.Cluster: a head with no CPUs and worker
nodes of 1 CPU each, all on this machine) that loses a node mid-job, and the placement rules behind --workers.

The lost node is made deterministic: its Blender workers hang on every object (the worker's test hook, set in
that node's environment only), so the object its actor holds is certainly in flight when the node is removed.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from shard_views import shard_views
from tk.contracts import OBJECTS as OBJECTS_TABLE  # OBJECTS here is the list of sample files
from tk.contracts import read_table
from tk.errors import TkError
from tk.render.placement import GB, plan

SAMPLE = Path(__file__).resolve().parents[2] / "manifests" / "sample" / "objects"
# 12 real objects (glb, gltf, stl, obj + textures); all light enough for Workbench at 32²
OBJECTS = ["bunny.glb", "suzi.glb", "Spider_binary.stl", "025_mug.stl", "pico-neo3.glb", "meta-quest-touch-plus.glb",
           "crate", "bread", "basketball", "tetrapak", "siameseCat", "BoxTextured-glTF"]
HANG_EVERYTHING = {"TK_RENDER_TEST_HOOK": "hang=."}  # every file name has a dot


def _nodes(*cpus: int, memory_gb: float = 24.0, gpus: int = 0) -> list[dict[str, Any]]:
    return [{"id": f"n{i}", "CPU": c, "GPU": gpus, "memory": memory_gb * GB} for i, c in enumerate(cpus)]


def test_auto_fills_every_node_by_its_cpus_gpus_and_memory():
    assert plan("auto", 0, False, 2.0, _nodes(0, 1, 1, 1)).workers == 3  # the head's 0 CPUs hold none
    p = plan("auto", 4, False, 16.0, _nodes(64, 8, memory_gb=100))
    assert (p.workers, p.threads) == (6 + 2, 4)  # 100 GB holds 6 workers of 16 GB; 8 CPUs hold 2 of 4
    assert plan("auto", 0, True, 0, _nodes(16, 16, gpus=2)).workers == 4  # one per GPU
    assert plan("auto", 0, False, 0, _nodes(8)).memory == 0  # --max-memory-gb 0 reserves nothing


def test_explicit_workers_split_the_cluster_cores_and_reserve_what_they_use():
    p = plan(8, 0, False, 16.0, _nodes(0, 32, 32, memory_gb=256))
    assert (p.workers, p.threads, p.memory) == (8, 8, 16 * GB)
    assert p.actor_options() == {"num_cpus": 8, "num_gpus": 0, "memory": 16 * GB, "scheduling_strategy": "SPREAD"}
    assert plan(3, 0, False, 1.0, _nodes(0, 1, 1)).threads == 1  # more workers than cores: one each, some wait
    # 2 workers asked for on one 15 GB node with the default 16 GB cap: both fit, each reserving half
    assert plan(2, 1, False, 16.0, _nodes(2, memory_gb=15)).memory == 7.5 * GB
    assert plan("auto", 1, False, 16.0, _nodes(2, memory_gb=15)).workers == 1  # auto counts whole caps


def test_a_worker_no_node_can_hold_is_one_clear_error():
    with pytest.raises(TkError, match=r"room for one render worker \(4 CPUs, 1 GPU; the largest node has 8 CPUs, "
                                      r"24 GB memory\): --device cpu, or add GPU nodes"):
        plan(2, 0, True, 0, _nodes(0, 8))
    with pytest.raises(TkError, match=r"\(16 CPUs; .* 8 CPUs, 24 GB memory\): lower --threads"):
        plan(1, 16, False, 0, _nodes(8))
    with pytest.raises(TkError, match=r"\(4 CPUs, 1 GPU, 8 GB memory; the largest node has 4 CPUs, 8 GB memory"):
        plan(1, 0, True, 16.0, _nodes(4, memory_gb=8))


def test_a_memory_cap_above_every_node_reserves_a_whole_node():
    p = plan("auto", 0, False, 16.0, _nodes(4, 4, memory_gb=8))
    assert (p.workers, p.memory) == (2, 8 * GB)  # one worker per node, not none


@pytest.fixture
def objects(tmp_path: Path) -> Path:
    src = tmp_path / "in"
    src.mkdir()
    for name in OBJECTS:
        (shutil.copytree if (SAMPLE / name).is_dir() else shutil.copy)(SAMPLE / name, src / name)
    return src


@pytest.fixture
def cluster(ray_cluster: Any) -> Any:
    """tests/conftest.py's simulated cluster; the test adds worker nodes."""
    return ray_cluster


class KillNodeWhenBusy:
    """Wraps a RayPool: removes `node` from the cluster once `after` objects are done and the actor there holds one.

    A thread watches, so the node goes even when no result ever comes back (its actor hangs, the others are busy).
    """

    def __init__(self, pool: Any, cluster: Any, node: Any, after: int = 0, on_kill: Any = None) -> None:
        self.pool, self.cluster, self.node, self.after, self.on_kill = pool, cluster, node, after, on_kill
        self.done, self.killed_holding = 0, []

    def run(self, items: Iterable[Any]) -> Iterator[Any]:
        stop = threading.Event()
        watcher = threading.Thread(target=self._watch, args=(stop,), daemon=True)
        watcher.start()
        try:
            for out in self.pool.run(items):
                self.done += 1
                yield out
        finally:
            stop.set()
            watcher.join()
        assert self.killed_holding, "the node was never removed while it held an object"

    def _watch(self, stop: threading.Event) -> None:
        while not stop.wait(0.05):
            held = [s.busy.job.key for s in list(self.pool.slots)
                    if s and s.busy and s.node == self.node.node_id]
            if held and self.done >= self.after:
                if self.on_kill:
                    self.on_kill()
                self.cluster.remove_node(self.node)
                self.killed_holding = held
                return

    def close(self) -> None:
        self.pool.close()

    @property
    def node_loss_retries(self) -> int:
        return self.pool.node_loss_retries

    @property
    def actor_loss_retries(self) -> int:
        return self.pool.actor_loss_retries



def _cfg(src: Path, out: Path, workers: int | str) -> Any:
    from tk.render.pipeline import RenderConfig

    return RenderConfig(input_dir=str(src), out=str(out), views=2, resolution=32, engine="workbench",
                        lighting="studio", workers=workers, max_memory_gb=2.0, objects_per_shard=2, timeout=60, retries=0)


def test_render_loses_a_node_with_no_room_left_and_completes_in_one_run(cluster, objects, tmp_path):
    """3 worker nodes of 1 CPU, 3 workers; the node that holds an object dies: its replacement has nowhere to go,
    the two survivors render the lost object too; every object once, its 2 views once, nothing partial left."""
    from tk.render.pipeline import run as render
    from tk.render.pool import RayPool

    cluster.add_node(num_cpus=1)
    cluster.add_node(num_cpus=1)
    doomed = cluster.add_node(num_cpus=1, env_vars=HANG_EVERYTHING)
    cluster.wait_for_nodes()
    before = set(Path(tempfile.gettempdir()).glob("tk-blender-worker-*.log"))
    out = tmp_path / "out"
    cfg = _cfg(objects, out, "auto")
    pool = RayPool(cfg)
    assert pool.placement.workers == 3 and pool.placement.threads == 1
    executor = KillNodeWhenBusy(pool, cluster, doomed, after=2)
    s = render(cfg, executor=executor)

    assert len(executor.killed_holding) == 1
    assert s["node_loss_retries"] == 1 and s["actor_loss_retries"] == 0
    assert (s["ok"], s["failed"]) == (len(OBJECTS), 0)
    keys = shard_views(out)
    uids = {k[0] for k in keys}
    assert len(uids) == len(OBJECTS) and executor.killed_holding[0] in uids
    assert sorted(keys) == sorted((uid, v) for uid in uids for v in range(2))  # no view twice, none missing
    rows = read_table(out / "objects.parquet", OBJECTS_TABLE).to_pylist()
    assert sorted(r["uid"] for r in rows) == sorted(uids) and {r["status"] for r in rows} == {"ok"}
    assert sorted(p.name for p in out.iterdir()) == ["objects.parquet", "render.json", "shards"]  # no logs, temps
    assert set(Path(tempfile.gettempdir()).glob("tk-blender-worker-*.log")) == before


def test_with_no_worker_left_the_job_stops_with_one_line_and_resumes(cluster, objects, tmp_path, monkeypatch):
    """The only worker node dies: the replacement can never be placed, so the job stops (not hangs) and says why."""
    from tk.render.pipeline import run as render
    from tk.render.pool import RayPool
    from tk.scheduler import pool

    doomed = cluster.add_node(num_cpus=1, env_vars=HANG_EVERYTHING)
    cluster.wait_for_nodes()
    out = tmp_path / "out"
    cfg = _cfg(objects, out, 1)
    # 3 s without a running worker stop the job once the node goes (starting the first one may take longer here)
    executor = KillNodeWhenBusy(RayPool(cfg), cluster, doomed,
                                on_kill=lambda: monkeypatch.setattr(pool, "PLACEMENT_WAIT", 3.0))
    with pytest.raises(TkError, match=r"no render worker is running: 1 waited 3 s for room on the cluster .*run "
                                      "the same command again"):
        render(cfg, executor=executor)
    assert executor.killed_holding and not (out / "logs").exists()

    cluster.add_node(num_cpus=2)  # room again: the same job finishes
    s = render(_cfg(objects, out, 1))
    assert s["ok_total"] == len(OBJECTS) and len(shard_views(out)) == 2 * len(OBJECTS)


def test_a_worker_dies_with_the_process_that_started_it(tmp_path):
    """An actor killed by Ray (or lost with its node) takes its Blender worker with it, even one busy on a job,
    and the worker's log is in the log folder it was given (the job's --out/logs), not the system temp folder."""
    import subprocess
    import sys
    import time

    code = ("import os, sys, threading; from tk.blender.process import WorkerProcess; "
            "w = WorkerProcess(env={'TK_RENDER_TEST_HOOK': 'hang=bunny'}, log_dir=sys.argv[1]); w.start(); "
            "print(w.pid, flush=True); threading.Timer(1.0, os._exit, (0,)).start(); "
            "w.run({'uid': 'x', 'path': 'bunny.glb'}, timeout=600)")  # hangs in the worker until the parent is gone
    r = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, timeout=300)
    pid = int(r.stdout.split()[0])
    deadline = time.monotonic() + 30
    while _running(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _running(pid)
    assert [p.name.startswith("worker-") and p.suffix == ".log" for p in tmp_path.iterdir()] == [True]


def _running(pid: int) -> bool:
    """True while `pid` exists and is not a zombie waiting to be reaped."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_node_that_does_not_see_the_log_folder_logs_to_its_temp_folder(tmp_path):
    """On a node without the driver's disk, --out/logs does not exist there: never created by a worker."""
    from tk.blender.process import WorkerProcess

    w = WorkerProcess(log_dir=str(tmp_path / "not-on-this-node"))
    try:
        assert Path(w.log_path).parent == Path(tempfile.gettempdir()) and Path(w.log_path).name.startswith("tk-blender-worker-")
        assert not (tmp_path / "not-on-this-node").exists()
    finally:
        w.close()
    assert not Path(w.log_path).exists()
