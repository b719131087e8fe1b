"""`tk train`'s entry point is run(TrainRun): the CLI options map one to one onto its fields."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from tk.errors import TkError
from tk.train.config import TrainRun


def test_a_run_needs_a_config_or_resume(tmp_path):
    with pytest.raises(TkError, match="give --config"):
        TrainRun(data="renders", out=tmp_path)
    assert TrainRun(data="renders", out=tmp_path, resume=True).config is None


def test_run_passes_every_field_to_the_loop(tmp_path, monkeypatch):
    import tk.train.loop as loop

    seen = {}

    def fake_train(config, data, out, **kw):
        seen.update(config=config, data=data, out=out, **kw)
        return Path(out) / "checkpoints" / "step-3"

    monkeypatch.setattr(loop, "train", fake_train)
    job = TrainRun(data="renders", out=tmp_path, config="tiny", max_steps=3, init=tmp_path / "ck", init_dino=None)
    assert loop.run(job) == {"out": str(tmp_path), "checkpoint": str(tmp_path / "checkpoints" / "step-3")}
    assert seen == dataclasses.asdict(job)


def test_train_cli_options_are_the_run_fields():
    from tests.foundation.cli_surface import surface

    options = {o.lstrip("-").replace("-", "_") for o in surface()["tk train"]}
    assert options == {f.name for f in dataclasses.fields(TrainRun)}
