"""`tk train --resume` never follows `checkpoints/latest` out of the run, and a kill's temp folders are cleaned
at the next start (issue 12, item 6)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tk.cli import main
from tk.errors import TkError
from tk.train import checkpoint


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory, renders: Path, test_config: Path, lpips_ready: None) -> tuple[Path, Path]:
    """Run A (tiny, 2 steps, a checkpoint at step 2) and run B, another run folder holding a valid checkpoint."""
    from tk.train import loop
    from tk.train.config import TrainRun

    root = tmp_path_factory.mktemp("two_runs")
    loop.run(TrainRun(config=test_config, data=renders, out=root / "a", max_steps=2))
    shutil.copytree(root / "a" / "checkpoints" / "step-0000002", root / "b" / "checkpoints" / "step-0000001")
    return root / "a", root / "b"


def _snapshot(run: Path) -> dict[str, bytes]:
    return {str(p.relative_to(run)): p.read_bytes() for p in sorted(run.rglob("*")) if p.is_file() and "tb" not in p.parts}


@pytest.mark.parametrize("absolute", [True, False])
def test_latest_pointing_outside_the_run_is_refused(two_runs, tmp_path, renders, capsys, absolute):
    a = tmp_path / "a"
    shutil.copytree(two_runs[0], a, symlinks=True)
    other = two_runs[1] / "checkpoints" / "step-0000001"
    link = a / "checkpoints" / "latest"
    link.unlink()
    os.symlink(other if absolute else os.path.relpath(other, link.parent), link)
    before = _snapshot(a)
    with pytest.raises(TkError, match="not to a step folder of this run"):
        checkpoint.latest(a)
    assert main(["train", "--data", str(renders), "--out", str(a), "--resume", "--max-steps", "3"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "not to a step folder of this run" in err and "\n" not in err
    assert _snapshot(a) == before  # metrics not truncated, no checkpoint pruned or added


def test_latest_inside_the_run_still_resolves(two_runs, tmp_path):
    a = tmp_path / "a"
    shutil.copytree(two_runs[0], a, symlinks=True)
    assert checkpoint.latest(a) == (a / "checkpoints" / "step-0000002").resolve()
    moved = tmp_path / "moved"
    a.rename(moved)  # the link is relative: a moved run still resumes
    assert checkpoint.latest(moved) == (moved / "checkpoints" / "step-0000002").resolve()


def test_stale_temp_folders_of_a_killed_save_are_cleaned_at_the_next_start(two_runs, tmp_path, renders, test_config):
    from tk.train import loop
    from tk.train.config import TrainRun

    a = tmp_path / "a"
    shutil.copytree(two_runs[0], a, symlinks=True)
    stale = a / "checkpoints" / ".step-0000003.tmp-99999"  # what a kill -9 during save leaves
    stale.mkdir()
    (stale / "model.safetensors").write_bytes(b"\0" * 1024)
    (a / "checkpoints" / ".latest.tmp-99999").symlink_to("step-0000002")
    last = Path(loop.run(TrainRun(config=None, data=renders, out=a, max_steps=3, resume=True))["checkpoint"])
    assert last.name == "step-0000003" and checkpoint.verify(last)["step"] == 3
    assert sorted(p.name for p in (a / "checkpoints").iterdir()) == ["latest", "step-0000002", "step-0000003"]


def test_resume_with_another_config_is_refused_in_one_line(two_runs, tmp_path, renders, test_config, capsys):
    """`--resume` used to take the run's saved config silently whatever `--config` said (issue 22)."""
    from tk.train import loop
    from tk.train.config import TrainRun

    a = tmp_path / "a"
    shutil.copytree(two_runs[0], a, symlinks=True)
    before = _snapshot(a)
    assert main(["train", "--config", "tiny", "--data", str(renders), "--out", str(a), "--resume", "--max-steps", "3"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --config tiny differs from") and "train.max_steps" in err and "\n" not in err
    assert _snapshot(a) == before  # nothing touched
    again = loop.run(TrainRun(config=test_config, data=renders, out=a, max_steps=3, resume=True))
    assert Path(again["checkpoint"]).name == "step-0000003"  # the same config resumes
