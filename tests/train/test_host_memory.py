"""CPU training keeps freed activations instead of handing them back to the OS every step (train/host_memory.py).

A training step allocates and frees the same few hundred MB of activations each time; glibc's default returns the top
of the heap and every large block to the OS on free, so the next step page-faults all of it in again (a sixth of a
`cpu` preset step on 2 cores). Measured in fresh interpreters: mallopt is process-wide and cannot be undone.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tk.train import host_memory

REPO = Path(__file__).resolve().parents[2]

# One "step": 5 tensors of 40 MiB, all freed at its end. glibc's own threshold adapts to blocks up to 32 MiB, and whether
# it then trims the heap's top depends on what else sits there; above 32 MiB the default always maps and unmaps.
STEPS = """
import json, resource, sys
import torch
if sys.argv[1] == "keep":
    from tk.train import host_memory
    assert host_memory.keep_freed_memory()
def step():
    live = [torch.ones(10 << 20) for _ in range(5)]
    del live
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(3):
    step()
before = faults()
for _ in range(10):
    step()
print(json.dumps({"faults_per_step": (faults() - before) / 10}))
"""


def _faults_per_step(mode: str) -> float:
    out = subprocess.run([sys.executable, "-c", STEPS, mode], cwd=REPO, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])["faults_per_step"]


@pytest.mark.skipif(not host_memory.glibc_available(), reason="mallopt is glibc's")
def test_freed_activations_are_reused_without_page_faults() -> None:
    default, kept = _faults_per_step("default"), _faults_per_step("keep")
    pages_per_step = 5 * (10 << 20) * 4 / 4096
    assert default > 0.5 * pages_per_step  # the default faults most of a step's memory back in, every step
    assert kept < 0.05 * pages_per_step


def test_keep_freed_memory_is_a_no_op_without_glibc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(host_memory, "glibc_available", lambda: False)
    assert host_memory.keep_freed_memory() is False


def test_training_on_cpu_keeps_freed_memory(renders: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            lpips_ready: None) -> None:
    from tk.train.loop import train
    from train_fixtures import write_config

    calls: list[bool] = []
    monkeypatch.setattr(host_memory, "keep_freed_memory", lambda: calls.append(True) or True)
    train(write_config(tmp_path / "c.yaml", train={"max_steps": 1}), renders, tmp_path / "run")
    assert calls == [True]
