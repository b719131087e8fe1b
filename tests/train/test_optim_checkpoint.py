"""Optimiser pieces and the checkpoint manager on a real tiny TripoSR."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from tk.errors import TkError
from tk.train import checkpoint
from tk.train.config import OptimConfig
from tk.train.optim import EMA, lr_factor, make_optimizer, param_groups


@pytest.fixture(scope="module")
def model() -> torch.nn.Module:
    from tk.model import TripoSR, load_model_config

    torch.manual_seed(0)
    return TripoSR(load_model_config("tiny"))


def test_schedule_warmup_then_cosine() -> None:
    assert lr_factor(0, 10, 110, 0.1) == pytest.approx(0.1)
    assert lr_factor(9, 10, 110, 0.1) == pytest.approx(1.0)
    assert lr_factor(60, 10, 110, 0.1) == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 0.5)))
    assert lr_factor(110, 10, 110, 0.1) == pytest.approx(0.1) == lr_factor(500, 10, 110, 0.1)


def test_no_decay_on_norms_biases_and_embeddings(model: torch.nn.Module) -> None:
    decay, no_decay = param_groups(model, 0.05)
    names = {id(p): n for n, p in model.named_parameters()}
    assert all(p.ndim >= 2 for p in decay["params"])
    assert any("bias" in names[id(p)] for p in no_decay["params"])
    assert any("norm" in names[id(p)] for p in no_decay["params"])
    assert any("embeddings" in names[id(p)] for p in no_decay["params"])
    assert no_decay["weight_decay"] == 0.0 and decay["weight_decay"] == 0.05
    assert isinstance(make_optimizer(model, OptimConfig()), torch.optim.AdamW)


def test_ema_moves_toward_the_model() -> None:
    net = torch.nn.Linear(2, 1)
    ema = EMA(net, decay=0.9)
    before = ema.model.weight.detach().clone()
    with torch.no_grad():
        net.weight.add_(1.0)
    ema.update(net)
    torch.testing.assert_close(ema.model.weight, before + 0.1)


def test_save_prune_latest_and_never_overwrite(model: torch.nn.Module, tmp_path: Path) -> None:
    state = {"step": 0, "batches": [0], "rng": [{"cpu": torch.get_rng_state()}]}
    for step in (1, 2, 3):
        assert checkpoint.save(tmp_path, step, model, {**state, "step": step}, keep_last=2) is not None
    assert [p.name for p in checkpoint.list_steps(tmp_path)] == ["step-0000002", "step-0000003"]
    assert checkpoint.latest(tmp_path).name == "step-0000003"
    before = (tmp_path / "checkpoints" / "step-0000003" / "model.safetensors").read_bytes()
    with torch.no_grad():
        next(model.parameters()).add_(1.0)
    assert checkpoint.save(tmp_path, 3, model, state, keep_last=2) is None  # an existing step is left alone
    assert (tmp_path / "checkpoints" / "step-0000003" / "model.safetensors").read_bytes() == before
    assert checkpoint.verify(checkpoint.latest(tmp_path))["step"] == 3
    assert checkpoint.load_state(checkpoint.latest(tmp_path))["step"] == 3
    assert not list((tmp_path / "checkpoints").glob(".*tmp*"))  # no temp folders left behind


def test_damaged_manifest_and_state(model: torch.nn.Module, tmp_path: Path) -> None:
    folder = checkpoint.save(tmp_path, 5, model, {"step": 5}, keep_last=3)
    (folder / checkpoint.STATE_FILE).write_bytes(b"garbage")
    with pytest.raises(TkError, match=r"train_state.pt does not match its checksum\); delete .* and start again"):
        checkpoint.verify(folder)
    (folder / checkpoint.MANIFEST_FILE).unlink()
    with pytest.raises(TkError, match="no valid checkpoint.json"):
        checkpoint.verify(folder)
