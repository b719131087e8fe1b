"""Curate's download + probe actors on a simulated multi-node Ray cluster (ray.cluster_utils.Cluster: a head with
no CPUs, two worker nodes of 1 CPU) that loses a node while a task runs there.

The lost node is made deterministic: tasks there wait forever (a marker in that node's environment only), so
the task it holds is certainly in flight when the node is removed. The files come from a 127.0.0.1 server, so
each task downloads (with its sha256 check) and then probes a real object.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from curate_fixtures import SAMPLE_OBJECTS, serve
from tk.errors import TkError
from tk.hashing import sha256_file

FILES = ["bunny.glb", "suzi.glb", "Spider_binary.stl", "025_mug.stl", "pico-neo3.glb", "meta-quest-touch-plus.glb",
         "crate/crate.obj", "bread/bread.obj", "basketball/basketball.obj", "tetrapak/tetrapak.obj",
         "siameseCat/siameseCat.obj"]
DOOMED = {"TK_TEST_DOOMED_NODE": "1"}
BUSY = "doomed-node-busy"  # written beside the download folder once the doomed node holds an object


def _items(base_url: str, download_dir: Path) -> list[dict]:
    items = []
    for rel in FILES:
        digest = sha256_file(SAMPLE_OBJECTS / rel)
        items.append({"uid": digest, "source": "xl-github", "file_identifier": f"{base_url}/{rel}",
                      "file_type": rel.rsplit(".", 1)[1], "sha256": digest, "local_path": None,
                      "max_bytes": 2**24, "timeout": 60.0, "retries": 1, "download_dir": str(download_dir)})
    return items


def _work(item: dict, blender: object) -> dict:
    """tk.curate.work.process, except on the doomed node, where it waits to be lost with the node."""
    import os
    import time

    from tk.curate.work import process

    if os.environ.get("TK_TEST_DOOMED_NODE"):
        (Path(item["download_dir"]).parent / BUSY).touch()  # the test may remove the node now
        time.sleep(3600)
    return process(item, blender)


@pytest.fixture
def cluster(ray_cluster):
    import sys

    import ray

    # this module is not importable on a Ray worker: its functions travel by value
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    return ray_cluster


def test_probe_tasks_survive_a_lost_node(cluster, tmp_path):
    from tk.curate import executor

    cluster.add_node(num_cpus=1)
    doomed = cluster.add_node(num_cpus=1, env_vars=DOOMED)
    cluster.wait_for_nodes()
    results: dict[str, list[dict]] = {}

    def on_result(item: dict, result: dict) -> None:
        results.setdefault(item["uid"], []).append(result)
        if len(results) == 2:  # mid-run: the doomed node holds the task it has waited on since the start
            cluster.remove_node(doomed)

    with serve(SAMPLE_OBJECTS) as url:
        items = _items(url, tmp_path / "objects")
        counts = executor.run(items, _work, on_result, workers=2, timeout=300, retries=1)

    assert counts == {"done": len(FILES), "retried": 0, "failed": 0, "node_lost": 1}  # not counted as a retry
    assert sorted(results) == sorted(i["uid"] for i in items) and all(len(r) == 1 for r in results.values())
    for uid, [r] in results.items():
        assert r["probe_error"] is None and r["vertex_count"] > 0 and r["attempts"] == 1, (uid, r)
    assert len(list((tmp_path / "objects").rglob("*.*"))) == len(FILES)  # one verified download each, no .part


def test_with_no_cpu_left_probing_stops_with_one_line(cluster, tmp_path, monkeypatch):
    """The only node dies while it holds an object: the replacements have nowhere to go, the run stops."""
    from tk.curate import executor
    from tk.scheduler import pool

    doomed = cluster.add_node(num_cpus=1, env_vars=DOOMED)
    cluster.wait_for_nodes()
    removed = threading.Event()

    def remove_when_busy() -> None:
        deadline = time.monotonic() + 300
        while not (tmp_path / BUSY).exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        # from now on 2 s without a running actor stop the run (starting the first one may take longer here)
        monkeypatch.setattr(pool, "PLACEMENT_WAIT", 2.0)
        cluster.remove_node(doomed)
        removed.set()

    with serve(SAMPLE_OBJECTS) as url:
        items = _items(url, tmp_path / "objects")[:3]
        threading.Thread(target=remove_when_busy, daemon=True).start()
        with pytest.raises(TkError, match=r"no probe worker is running: 2 waited 2 s for room on the cluster \(1 CPU each\); "
                                          r"0 of 3 objects done and kept: run the same command"):
            executor.run(items, _work, lambda i, r: None, workers=2, timeout=300, retries=1)
    assert removed.is_set()  # stopped for the lost node, not before it
