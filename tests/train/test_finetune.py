"""`tk train --init` fine-tunes with its own optimiser defaults (configs/train/finetune.yaml), visibly."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tk.cli import main
from tk.train.config import PRESETS_DIR, load_config

FINETUNE_KEYS = ("lr", "warmup_steps", "grad_clip")


def finetune_optim() -> dict:
    return yaml.safe_load((PRESETS_DIR / "finetune.yaml").read_text())["optim"]


def test_finetune_preset_is_triposr_with_a_fine_tuning_optimiser() -> None:
    """The preset differs from `triposr` only in the fine-tuning keys, and those are below the from-scratch values."""
    ft, scratch = load_config("finetune").to_dict(), load_config("triposr").to_dict()
    for key in FINETUNE_KEYS:
        ft["optim"].pop(key), scratch["optim"].pop(key)
    assert ft == scratch
    ft, scratch = load_config("finetune").optim, load_config("triposr").optim
    assert ft.lr <= scratch.lr / 10 and ft.warmup_steps < scratch.warmup_steps and ft.grad_clip > 0


def test_init_uses_fine_tuning_values_unless_the_config_file_sets_them(tmp_path: Path) -> None:
    from tk.train.finetune import config_for_init

    ft = finetune_optim()
    cfg, applied = config_for_init("triposr")  # a preset holds from-scratch values: all three are replaced
    assert {k: getattr(cfg.optim, k) for k in FINETUNE_KEYS} == {k: ft[k] for k in FINETUNE_KEYS} == applied
    assert cfg.optim.accum_steps == load_config("triposr").optim.accum_steps
    assert config_for_init("finetune") == (load_config("finetune"), applied)
    own = tmp_path / "mine.yaml"
    own.write_text(yaml.safe_dump({"model": "tiny", "optim": {"lr": 1.0e-3}}))
    cfg, applied = config_for_init(own)
    assert cfg.optim.lr == 1.0e-3 and applied == {"warmup_steps": ft["warmup_steps"], "grad_clip": ft["grad_clip"]}


@pytest.mark.usefixtures("lpips_ready")
def test_a_run_with_init_saves_and_logs_the_fine_tuning_optimiser(tmp_path: Path, renders: Path,
                                                                    capsys: pytest.CaptureFixture) -> None:
    import torch

    from tk.model import TripoSR, load_model_config

    torch.manual_seed(0)
    TripoSR(load_model_config("tiny")).save_pretrained(tmp_path / "ckpt")
    run = tmp_path / "run"
    assert main(["train", "--config", "tiny", "--init", str(tmp_path / "ckpt"), "--data", str(renders),
                 "--out", str(run), "--max-steps", "1"]) == 0
    saved = yaml.safe_load((run / "config.yaml").read_text())["optim"]
    ft = finetune_optim()
    assert {k: saved[k] for k in FINETUNE_KEYS} == {k: ft[k] for k in FINETUNE_KEYS}
    out = capsys.readouterr().out
    assert f"lr {ft['lr']:g}" in out and "finetune.yaml" in out
    assert load_config("tiny").optim.lr != ft["lr"]  # the preset alone keeps its from-scratch rate


def test_the_python_entry_point_applies_the_fine_tuning_defaults(tmp_path: Path, renders: Path,
                                                                  capsys: pytest.CaptureFixture) -> None:
    """`tk.train.loop.run(TrainRun(config=name, ..., init=...))` fine-tunes with the values the CLI uses, not the preset's."""
    import torch

    from tk.model import TripoSR, load_model_config
    from tk.train import loop
    from tk.train.config import TrainRun

    torch.manual_seed(0)
    TripoSR(load_model_config("cpu")).save_pretrained(tmp_path / "ckpt")
    run = tmp_path / "run"
    loop.run(TrainRun(config="cpu", data=renders, out=run, max_steps=1, init=tmp_path / "ckpt"))
    saved = yaml.safe_load((run / "config.yaml").read_text())["optim"]
    ft = finetune_optim()
    assert {k: saved[k] for k in FINETUNE_KEYS} == {k: ft[k] for k in FINETUNE_KEYS}
    assert load_config("cpu").optim.lr != ft["lr"]
    assert f"lr {ft['lr']:g}" in capsys.readouterr().out
    plain = tmp_path / "plain"  # without --init the preset keeps its from-scratch values
    loop.run(TrainRun(config="cpu", data=renders, out=plain, max_steps=1))
    assert yaml.safe_load((plain / "config.yaml").read_text())["optim"]["lr"] == load_config("cpu").optim.lr
