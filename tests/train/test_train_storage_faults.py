"""Storage faults of `tk train` and `tk eval` end to end (issue 25): a disk that fills mid-run, a read-only --out, an
--out deleted mid-run. Each ends as one line naming the path and the cause, what was kept and the command that
continues; no partial checkpoint or report is left that a later run reads as good; the command the line gives
completes the run with the weights of an uninterrupted one.

The full disk is a real tmpfs (tests/disks.py): after a checkpoint, a ballast file takes every free byte, so the
next write meets the ENOSPC a full disk gives; remounting the tmpfs larger frees space.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.disks import small_disk
from tk.cli import main
from tk.train import checkpoint
from train_fixtures import assert_same_weights, write_config

STEPS = 6
_TRAIN = {"max_steps": STEPS, "log_every": 1, "checkpoint_every": 2, "keep_last": 5, "image_every": 1000}
_REAL_SAVE = checkpoint.save


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_config(tmp_path_factory.mktemp("cfg") / "faults.yaml", train=_TRAIN)


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory: pytest.TempPathFactory, renders: Path, config: Path, lpips_ready: None) -> Path:
    """The uninterrupted run the others must match."""
    from tk.train import loop
    from tk.train.config import TrainRun

    out = tmp_path_factory.mktemp("runs") / "clean"
    loop.run(TrainRun(config=config, data=renders, out=out))
    return out


def _after_save(monkeypatch: pytest.MonkeyPatch, at_step: int, then: Callable[[], object]) -> None:
    """Call `then()` right after the checkpoint of `at_step` is saved."""

    def save_then(run: Path, step: int, *args: object, **kwargs: object) -> Path | None:
        path = _REAL_SAVE(run, step, *args, **kwargs)
        if step == at_step:
            then()
        return path

    monkeypatch.setattr(checkpoint, "save", save_then)


def _one_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err, err
    return err


def _steps(run: Path) -> list[int]:
    return [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]


def test_full_disk_mid_train_then_resume(clean_run: Path, renders: Path, config: Path, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    with small_disk(tmp_path / "disk", "16m") as disk:
        run = disk.path / "run"
        args = ["train", "--config", str(config), "--data", str(renders), "--out", str(run)]
        _after_save(monkeypatch, 2, disk.fill)
        assert main(args) == 2
        err = _one_line(capsys)
        # the save of step 4 meets the full disk (the metrics lines of steps 3 and 4 fit in the file's last block)
        assert err.startswith(f"error: no space left on device writing {run}/checkpoints/.step-0000004.tmp-"), err
        assert err.endswith(f"; the last complete checkpoint is step-0000002; free space on that disk, then run "
                            f"`tk {' '.join(args)} --resume` again to continue"), err
        # no partial checkpoint: the step-2 folder, complete, and the link to it
        assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["latest", "step-0000002"]
        assert checkpoint.latest(run).name == "step-0000002"
        checkpoint.verify(run / "checkpoints" / "step-0000002")

        disk.remount("size=64m")  # space freed: the command the line gives completes the run
        monkeypatch.setattr(checkpoint, "save", _REAL_SAVE)
        assert main([*args, "--resume"]) == 0
        assert _steps(run) == list(range(1, STEPS + 1))
        assert_same_weights(run, clean_run, STEPS)


def test_full_disk_while_logging_names_the_file(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    from tk.faults import StorageError
    from tk.train.run_log import RunLog

    with small_disk(tmp_path / "disk", "64k") as disk:
        run = disk.path / "run"
        log = RunLog(run)
        disk.fill()
        with pytest.raises(StorageError) as e:  # Python's own error names no file
            for step in range(1, 1000):
                log.scalars(step, {"loss": 0.5, "note": "x" * 100})
        assert str(e.value) == f"no space left on device writing {run / 'metrics.jsonl'}"
        for step in range(1000):  # TensorBoard's thread meets the full disk too; its next call raises the error
            try:
                log.tb.add_scalar("train/loss", 0.5, step)
            except OSError:
                break
        else:
            pytest.fail("TensorBoard never met the full disk")
        log.close(failed=True)  # the run failed already: TensorBoard's failing last flush does not hide its error
        with pytest.raises(StorageError) as e:
            RunLog(run)  # TensorBoard writes its file's header at once
        assert str(e.value) == f"no space left on device writing {run / 'tb'}"
    assert "Traceback" not in capfd.readouterr().err  # the thread's own print is left out


def test_read_only_out_stops_at_start(renders: Path, config: Path, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    with small_disk(tmp_path / "disk", "1m") as disk:
        disk.remount("ro")
        run = disk.path / "run"
        args = ["train", "--config", str(config), "--data", str(renders), "--out", str(run)]
        before = sorted(tmp_path.rglob("*"))
        assert main(args) == 2
        captured = capsys.readouterr()
        assert captured.err.strip() == (f"error: read-only file system writing {run}; no checkpoint was complete yet; "
                                        f"make the folder writable or choose another --out, then run `tk "
                                        f"{' '.join(args)}` again to continue")
        assert "framing" not in captured.out  # at start: before the data is read
        assert not run.exists() and sorted(tmp_path.rglob("*")) == before  # nothing written anywhere


def test_out_deleted_mid_train_then_rerun(clean_run: Path, renders: Path, config: Path, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    # metrics every 5 steps: after the step-2 checkpoint, the next write would be step 4's checkpoint, whose folder
    # must not be made anew (a run folder without its config, metrics of steps 1-4 or framing)
    (tmp_path / "cfg").mkdir()
    sparse = write_config(tmp_path / "cfg" / "sparse-log.yaml", train={**_TRAIN, "log_every": 5})
    run = tmp_path / "runs" / "run"
    args = ["train", "--config", str(sparse), "--data", str(renders), "--out", str(run)]
    _after_save(monkeypatch, 2, lambda: shutil.rmtree(run))
    assert main(args) == 2
    assert _one_line(capsys) == (f"error: folder or file not found (deleted while tk ran?) at {run}; the run's "
                                 f"checkpoints went with the folder; restore it, or let the run redo what it held, then "
                                 f"run `tk {' '.join(args)}` again to continue")
    assert not run.exists() and sorted(tmp_path.rglob("*")) == [tmp_path / "cfg", sparse, run.parent]  # nothing written

    monkeypatch.setattr(checkpoint, "save", _REAL_SAVE)
    assert main(args) == 0  # the command the line gives redoes the run: the weights of an uninterrupted one
    assert _steps(run) == [5, 6]
    assert_same_weights(run, clean_run, STEPS)


def test_full_disk_mid_eval_then_rerun(clean_run: Path, renders: Path, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from tk.train import evaluate

    options = ["--data", str(renders), "--split", "train", "--limit", "1", "--mesh-resolution", "16"]
    assert main(["eval", str(clean_run), *options, "--out", str(tmp_path / "whole")]) == 0
    whole = json.loads((tmp_path / "whole" / "report.json").read_text())
    with small_disk(tmp_path / "disk", "1m") as disk:
        out = disk.path / "eval"
        shutil.copytree(tmp_path / "whole", out)  # a finished report of an earlier eval is there
        args = ["eval", str(clean_run), *options, "--out", str(out)]
        real_grid = evaluate._write_grid

        def fill_then_grid(path: Path, rows: list) -> None:  # the disk fills once report.md is written
            disk.fill()
            real_grid(path, rows)

        monkeypatch.setattr(evaluate, "_write_grid", fill_then_grid)
        capsys.readouterr()
        assert main(args) == 2
        assert _one_line(capsys) == (f"error: no space left on device writing {out / 'grid.png'}; no report.json was "
                                     f"written (it is written last, after report.md and grid.png); free space on that "
                                     f"disk, then run `tk {' '.join(args)}` again to continue")
        # no report.json: neither the earlier one beside this eval's report.md nor a half-written one
        assert sorted(p.name for p in out.iterdir()) == ["grid.png", "report.md"]

        disk.remount("size=64m")
        monkeypatch.setattr(evaluate, "_write_grid", real_grid)
        assert main(args) == 0
        report = json.loads((out / "report.json").read_text())
        assert json.dumps(report["summary"]) == json.dumps(whole["summary"])
        assert json.dumps(report["objects"]) == json.dumps(whole["objects"])
