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
from tk.train.cpu_process import tune as real_tune  # conftest turns it off for in-process CLI calls

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
per_step = []
for _ in range(10):
    before = faults()
    step()
    per_step.append(faults() - before)
# the median step: a one-off growth of the heap (its 128 MiB pad touched once) is not what every step pays
print(json.dumps({"faults_per_step": sorted(per_step)[len(per_step) // 2]}))
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


def test_tk_train_keeps_freed_memory_and_train_does_not(renders: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        lpips_ready: None) -> None:
    """mallopt is process-wide and cannot be undone: `tk train` (the process's owner) applies it before any torch
    operation; a library call to tk.train.loop.run() never does (issue 22)."""
    import torch

    from tk.cli import main
    from tk.train import cpu_process, denormals, loop
    from tk.train.config import TrainRun
    from train_fixtures import write_config

    calls: list[str] = []
    monkeypatch.setattr(cpu_process, "tune", real_tune)
    monkeypatch.setattr(host_memory, "keep_freed_memory", lambda: calls.append("mallopt") or True)
    monkeypatch.setattr(denormals, "flush_process", lambda: calls.append("flush") or True)  # not in this process
    real_run = loop.run
    monkeypatch.setattr(loop, "run", lambda job: calls.append("train") or real_run(job))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # the CPU path, also on a GPU machine
    cfg = write_config(tmp_path / "c.yaml", train={"max_steps": 1})
    real_run(TrainRun(config=cfg, data=renders, out=tmp_path / "lib"))
    assert calls == []  # the library call changed nothing
    assert main(["train", "--config", str(cfg), "--data", str(renders), "--out", str(tmp_path / "cli")]) in (0, None)
    assert calls == ["mallopt", "flush", "train"]
