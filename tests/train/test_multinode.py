"""`tk train` on two torchrun "nodes" on this machine (two agents, c10d rendezvous on localhost, gloo, CPU).

1. Both nodes train in lockstep: identical replicas after every checkpoint, one metrics line per step.
2. With --max-restarts, killing one node's worker restarts the whole group, which resumes from the last
   checkpoint (--resume) and follows the curve of the uninterrupted run.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from tk.train import distributed
from train_fixtures import write_config

STEPS = 6


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_nodes(cfg: Path, data: Path, out: Path, max_restarts: int) -> list[subprocess.Popen]:
    """Two torchrun agents, one process each, as two machines would start them (node 0 hosts the rendezvous)."""
    port = _free_port()
    # CPU processes even where GPUs exist; one thread each, the machine is shared
    env = {**os.environ, "TK_NO_PROGRESS": "1", "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": "",
           # agents log their restarts at INFO; a store per rendezvous round (docs/train.md, pytorch/pytorch#135712)
           "LOGLEVEL": "INFO", "TORCH_DISABLE_SHARE_RDZV_TCP_STORE": "1"}
    procs = []
    for rank in (0, 1):
        cmd = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "2", "--node-rank", str(rank),
               "--nproc-per-node", "1", "--rdzv-backend", "c10d", "--rdzv-endpoint", f"localhost:{port}",
               "--rdzv-id", "tk-test", "--max-restarts", str(max_restarts), "--monitor-interval", "0.2",
               "-m", "tk", "train", "--config", str(cfg), "--data", str(data), "--out", str(out), "--resume"]
        # a session each, so a hang is cleaned up with the workers, not only the agent
        procs.append(subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                      start_new_session=True))
    return procs


def _wait(procs: list[subprocess.Popen], timeout: float = 600) -> list[str]:
    """Each agent's stderr once both exited with 0."""
    errs = []
    try:
        for p in procs:
            errs.append(p.communicate(timeout=timeout)[1])
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.communicate()
    for p, err in zip(procs, errs):
        assert p.returncode == 0, err[-3000:]
    return errs


def _children(pid: int) -> list[int]:
    """Direct child processes of `pid` (read from /proc)."""
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            kids.append(int(stat.parent.name))
    return kids


def _losses(out: Path) -> dict[int, float]:
    return {r["step"]: r["loss"] for r in map(json.loads, (out / "metrics.jsonl").read_text().splitlines())}


@pytest.fixture(scope="module")
def two_node_run(renders: Path, tmp_path_factory: pytest.TempPathFactory, lpips_ready: None) -> tuple[Path, Path]:
    """The config and the run folder of one uninterrupted two-node run."""
    tmp = tmp_path_factory.mktemp("multinode")
    cfg = write_config(tmp / "cfg.yaml", train={"max_steps": STEPS, "log_every": 1, "checkpoint_every": 2,
                                                "keep_last": 3})
    out = tmp / "run"
    _wait(_start_nodes(cfg, renders, out, max_restarts=0))
    return cfg, out


@pytest.mark.slow
def test_two_nodes_keep_identical_replicas(two_node_run: tuple[Path, Path]) -> None:
    _, out = two_node_run
    assert sorted(_losses(out)) == list(range(1, STEPS + 1))  # node 0's rank 0 writes, once per step
    for step in (2, 4, 6):
        state = torch.load(out / "checkpoints" / f"step-{step:07d}" / "train_state.pt", weights_only=True)
        assert state["batches"] == [step, step]  # both ranks' data positions
        a, b = state["weight_checksums"]  # the checkpointer refuses to save differing replicas; check anyway
        assert a == b


@pytest.mark.slow
def test_a_killed_node_worker_restarts_the_group_from_the_last_checkpoint(
        two_node_run: tuple[Path, Path], renders: Path, tmp_path: Path) -> None:
    cfg, full = two_node_run
    out = tmp_path / "run"
    procs = _start_nodes(cfg, renders, out, max_restarts=1)
    killed = None
    deadline = time.monotonic() + 600
    while killed is None and time.monotonic() < deadline and all(p.poll() is None for p in procs):
        if (out / "checkpoints" / "step-0000002").is_dir():
            [worker] = _children(procs[1].pid)  # node 1's training process
            os.kill(worker, signal.SIGKILL)
            killed = worker
        time.sleep(0.05)
    errs = _wait(procs)
    assert killed is not None, "the run ended before node 1's worker could be killed"
    assert "Worker group FAILED. 1/1 attempts left; will restart worker group" in errs[1], errs[1][-3000:]
    assert "will restart worker group" in errs[0], errs[0][-3000:]  # node 0 restarted its healthy worker too
    assert distributed.SHARED_STORE_WARNING not in errs[0]
    resumed, uninterrupted = _losses(out), _losses(full)
    assert sorted(resumed) == list(range(1, STEPS + 1))  # steps after the checkpoint are logged once, again
    for step in range(1, STEPS + 1):
        assert resumed[step] == pytest.approx(uninterrupted[step], rel=1e-5, abs=1e-7), f"step {step}"


def test_a_shared_rendezvous_store_with_restarts_is_warned_about() -> None:
    """The environment torchrun gives a worker on 2 nodes with --max-restarts 1 and the store shared (its default)."""
    env = {"GROUP_WORLD_SIZE": "2", "TORCHELASTIC_MAX_RESTARTS": "1", "TORCHELASTIC_USE_AGENT_STORE": "True"}
    assert distributed.shared_store_restart_risk(env)
    assert not distributed.shared_store_restart_risk(env | {"TORCHELASTIC_USE_AGENT_STORE": "False"})
    assert not distributed.shared_store_restart_risk(env | {"GROUP_WORLD_SIZE": "1"})  # one node restarts as one
    assert not distributed.shared_store_restart_risk(env | {"TORCHELASTIC_MAX_RESTARTS": "0"})
