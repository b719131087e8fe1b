"""Two CPU processes over gloo, launched by torchrun exactly as a user would."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import torch

from train_fixtures import write_config


def test_torchrun_two_processes_gloo(renders: Path, tmp_path: Path, lpips_ready: None) -> None:
    cfg = write_config(tmp_path / "ddp.yaml", train={"max_steps": 3, "log_every": 1, "checkpoint_every": 3})
    out = tmp_path / "run"
    # CPU processes even where GPUs exist (two ranks on a one-GPU machine would share it)
    env = {**os.environ, "TK_NO_PROGRESS": "1", "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "tk", "train", "--config", str(cfg), "--data", str(renders), "--out", str(out)]
    # A session of its own, so a hang kills torchrun's workers too, not only torchrun.
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        _, stderr = proc.communicate(timeout=600)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    assert proc.returncode == 0, stderr[-3000:]
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2, 3]  # rank 0 writes, once per step
    state = torch.load(out / "checkpoints" / "latest" / "train_state.pt", weights_only=True)
    assert state["batches"] == [3, 3] and len(state["rng"]) == 2  # every rank's data position and RNG
    checksums = state["weight_checksums"]  # DDP kept both replicas identical
    assert len(checksums) == 2 and checksums[0] == checksums[1]
    assert all(r["loss"] > 0 for r in rows)


def test_more_ranks_than_gpus_is_one_clear_error(monkeypatch) -> None:
    """torchrun --nproc_per_node 2 on a one-GPU machine: one line naming the fix, not a CUDA 'invalid device ordinal'."""
    import pytest

    from tk.errors import TkError
    from tk.train import distributed

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.cuda, "set_device", lambda d: pytest.fail("set_device must not be reached"))
    monkeypatch.setenv("LOCAL_RANK", "1")
    with pytest.raises(TkError, match="only 1 GPU"):
        distributed.init()


def test_a_process_group_the_caller_created_outlives_train(renders: Path, tmp_path: Path, lpips_ready: None) -> None:
    """tk.train.loop.run() (then train()) used to destroy, in its finally, a process group its caller had created (issue 22)."""
    import torch.distributed as dist

    from tk.train import loop

    from tk.train.config import TrainRun

    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1)
    try:
        loop.run(TrainRun(config=write_config(tmp_path / "c.yaml", train={"max_steps": 1}), data=renders, out=tmp_path / "run"))
        assert dist.is_initialized()  # still the caller's to use and to destroy
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
