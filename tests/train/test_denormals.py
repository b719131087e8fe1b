"""CPU training flushes denormal floats to zero, as a setting of the whole `tk train` process (train/denormals.py,
train/cpu_process.py); a library call to tk.train.loop.run() leaves the process as it found it (issue 22).

As a model trains, some activations and gradients fall below float32's normal range (1.2e-38); x86 cores compute
with those many times slower, and a trained `cpu` model's steps ran 6-11% slower than with them flushed.
The flush is a per-thread flag that new threads copy from their creator, so each check runs in a fresh interpreter
and counts flushed elements of a large multiply that torch's intra-op threads share.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from train_fixtures import REPO, write_config

# Elements of 1e-39 * 1.0 that came out 0 (flushed), over a tensor large enough for every intra-op thread to share.
COUNT = """
import torch
def flushed_elements():
    return int(((torch.full((1 << 22,), 1e-39) * 1.0) == 0).sum())
"""

pytestmark = pytest.mark.skipif(torch.get_num_threads() < 2, reason="needs two intra-op threads to tell them apart")


def _run(script: str, tmp_path: Path) -> dict:
    env = {**os.environ, "TK_NO_PROGRESS": "1", "CUDA_VISIBLE_DEVICES": "", "PYTHONPATH": str(REPO / "tests" / "train")}
    out = subprocess.run([sys.executable, "-c", COUNT + script], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_a_library_train_call_leaves_no_thread_flushing(renders: Path, tmp_path: Path, lpips_ready: None) -> None:
    cfg = write_config(tmp_path / "c.yaml", train={"max_steps": 1})
    r = _run(f"""
import json
from tk.train import loop
from tk.train.config import TrainRun
loop.run(TrainRun(config={str(cfg)!r}, data={str(renders)!r}, out="run"))
print(json.dumps({{"flushed": flushed_elements()}}))
""", tmp_path)
    assert r["flushed"] == 0  # no intra-op thread kept a flush from the call


def test_tk_train_flushes_in_every_thread_before_the_first_step(renders: Path, tmp_path: Path,
                                                                lpips_ready: None) -> None:
    cfg = write_config(tmp_path / "c.yaml", train={"max_steps": 2})
    r = _run(f"""
import json
from tk.train import denormals, losses
seen, real = [], losses.TrainingLoss.forward
def probe(self, *args):
    seen.append(flushed_elements())
    return real(self, *args)
losses.TrainingLoss.forward = probe
from tk.cli import main
assert main(["train", "--config", {str(cfg)!r}, "--data", {str(renders)!r}, "--out", "run"]) in (0, None)
print(json.dumps({{"steps": seen, "after": flushed_elements()}}))
""", tmp_path)
    assert r["steps"] == [1 << 22, 1 << 22]  # every thread of every step flushes
    assert r["after"] == 1 << 22  # process-wide, for the life of the `tk train` process (documented)
