"""`tk train`'s entry point is run(TrainRun): its CLI options are generated from TrainRun's fields."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from tk.errors import TkError
from tk.model.config import MESH_RESOLUTION
from tk.train.config import TrainRun


def test_a_run_needs_a_config_or_resume(tmp_path):
    with pytest.raises(TkError, match="give --config"):
        TrainRun(data="renders", out=tmp_path)
    assert TrainRun(data="renders", out=tmp_path, resume=True).config is None


def test_run_passes_every_field_to_the_loop(tmp_path, monkeypatch):
    import tk.train.loop as loop

    seen = {}

    def fake_train(config, data, out, max_steps, resume, init, init_dino, dist):
        seen.update(config=config, data=data, out=out, max_steps=max_steps, resume=resume, init=init,
                    init_dino=init_dino)
        return Path(out) / "checkpoints" / "step-3"

    monkeypatch.setattr(loop, "_train", fake_train)
    job = TrainRun(data="renders", out=tmp_path, config="tiny", max_steps=3, init=tmp_path / "ck", init_dino=None)
    assert loop.run(job) == {"out": str(tmp_path), "checkpoint": str(tmp_path / "checkpoints" / "step-3")}
    assert seen == dataclasses.asdict(job)


def test_train_cli_options_are_the_run_fields():
    from tests.foundation.cli_surface import surface

    options = {o.lstrip("-").replace("-", "_") for o in surface()["tk train"]}
    assert options == {f.name for f in dataclasses.fields(TrainRun)}


def test_eval_cli_options_are_the_eval_run_fields():
    from tests.foundation.cli_surface import surface
    from tk.sections import cli_fields, option_name
    from tk.train.config import EvalRun

    assert sorted(option_name(f) for f in cli_fields(EvalRun)) == surface()["tk eval"]
    assert [f.name for f in cli_fields(EvalRun)] == [f.name for f in dataclasses.fields(EvalRun)]


def test_eval_cli_builds_the_run_and_run_passes_every_field(tmp_path, monkeypatch, capsys):
    import tk.train.evaluate as evaluate
    from tk.cli import main
    from tk.train.config import EvalRun

    seen = {}

    def fake_run(job):
        seen.update(dataclasses.asdict(job))
        return {"weights": "ema", "summary": dict.fromkeys(
            ("psnr", "white_psnr", "ssim", "lpips", "iou", "chamfer", "fscore@0.1"), 0.5) | {"objects": 2}}

    monkeypatch.setattr(evaluate, "run", fake_run)
    assert main(["eval", str(tmp_path / "run"), "--data", "renders", "--out", str(tmp_path / "e")]) == 0
    default = EvalRun(checkpoint=tmp_path / "run", data="renders", out=tmp_path / "e")
    assert seen == dataclasses.asdict(default) and default.mesh_resolution == MESH_RESOLUTION
    assert default.density_threshold is None and default.sweep_levels == ()  # None: the checkpoint's level
    assert "2 object(s), ema weights: PSNR 0.5000" in capsys.readouterr().out
    assert main(["eval", str(tmp_path / "run"), "--data", "renders", "--out", str(tmp_path / "e"), "--split", "val",
                 "--gt-meshes", str(tmp_path), "--mesh-resolution", "32", "--limit", "1", "--raw-weights",
                 "--density-threshold", "5", "--density-sweep", "10,2.5"]) == 0
    job = EvalRun(checkpoint=tmp_path / "run", data="renders", out=tmp_path / "e", split="val", gt_meshes=tmp_path,
                  mesh_resolution=32, limit=1, raw_weights=True, density_threshold=5.0, density_sweep="10,2.5")
    assert seen == dataclasses.asdict(job) and job.sweep_levels == (2.5, 10.0)


@pytest.mark.parametrize(("args", "message"), [
    (["--split", "dev"], "--split dev: use train, val, test or all"),
    (["--mesh-resolution", "8"], "--mesh-resolution 8: must be at least 16"),
    (["--limit", "0"], "--limit 0: must be at least 1"),
    (["--density-threshold", "0"], "--density-threshold 0: must be above 0"),
    (["--density-sweep", "5,x"], "--density-sweep '5,x': use a comma list of density levels above 0"),
    (["--density-sweep", "5,-1"], "--density-sweep '5,-1': use a comma list of density levels above 0"),
])
def test_bad_eval_options_are_one_line(tmp_path, capsys, args, message):
    from tk.cli import main

    assert main(["eval", str(tmp_path), "--data", "renders", "--out", str(tmp_path / "e"), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err, err
