"""CPU training flushes denormal floats to zero, and gives the caller's setting back (train/denormals.py).

As a model trains, some activations and gradients fall below float32's normal range (1.2e-38); x86 cores compute
with those many times slower, and a trained `cpu` model's steps ran 6-11% slower than with them flushed.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tk.train import denormals


def test_flush_inside_restored_after() -> None:
    assert not denormals.flushing()
    with denormals.flushed():
        assert denormals.flushing()
        assert (torch.tensor([1e-39]) * 1.0).item() == 0.0
    assert not denormals.flushing()
    assert (torch.tensor([1e-39]) * 1.0).item() > 0.0


def test_training_steps_run_with_denormals_flushed(renders: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   lpips_ready: None) -> None:
    from tk.train import losses
    from tk.train.loop import train
    from train_fixtures import write_config

    real, seen = losses.TrainingLoss.forward, []

    def probe(self, *args):
        seen.append(denormals.flushing())
        return real(self, *args)

    monkeypatch.setattr(losses.TrainingLoss, "forward", probe)
    train(write_config(tmp_path / "c.yaml", train={"max_steps": 2}), renders, tmp_path / "run")
    assert seen == [True, True]
    assert not denormals.flushing()  # the process's setting after the run is the one before it
