"""Storage faults (full disk, read-only folder, deleted folder or input) end as one line naming the path, the
cause, what was kept and the command that continues; no partial file is left that a later run reads as good.

Real small file systems (tmpfs) where the machine can mount them; the library errors they produce (Python's
Errno 28, pyarrow's, torch's "unexpected pos", safetensors') are the ones a user sees on a full disk.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from tests.disks import small_disk
from tk import atomic, faults
from tk.cli import main


@pytest.fixture
def disk(tmp_path):
    with small_disk(tmp_path / "disk", "64k") as d:
        yield d


def _entries(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_a_full_disk_names_the_file_and_leaves_no_partial_one(disk):
    target = disk.path / "out" / "big.bin"
    atomic.write_bytes(disk.path / "out" / "small.bin", b"kept")
    with pytest.raises(faults.StorageError) as e:
        atomic.write_bytes(target, b"x" * 200_000)
    assert e.value.errno == errno.ENOSPC
    assert str(e.value) == f"no space left on device writing {target}"
    assert _entries(disk.path) == ["out", "out/small.bin"]  # the temp file is gone, the finished file kept


def test_torch_and_parquet_writers_on_a_full_disk(disk):
    # torch.save to a path reports a full disk only as "[enforce fail at inline_container.cc] unexpected pos".
    import pyarrow as pa
    import torch

    target = disk.path / "train_state.pt"
    with pytest.raises(faults.StorageError, match="no space left on device writing .*train_state.pt$"):
        with atomic.atomic_path(target) as tmp:
            torch.save({"w": torch.zeros(100_000)}, tmp)
    with pytest.raises(faults.StorageError, match="no space left on device writing .*shard.parquet$"):
        atomic.write_parquet(disk.path / "shard.parquet", pa.table({"a": list(range(100_000))}), compression="none")
    assert _entries(disk.path) == []


def test_a_copy_names_the_file_it_was_writing(disk, tmp_path):
    # shutil's copy names its source first and the file it was writing second (how tk release build fills a disk)
    import shutil

    src = tmp_path / "shard-00000.parquet"
    src.write_bytes(b"x" * 200_000)
    dst = disk.path / ".rel.staging" / "renders" / "shard-00000.parquet"
    dst.parent.mkdir(parents=True)
    with pytest.raises(OSError) as e:
        shutil.copy2(src, dst)
    line = faults.message(e.value, ["release", "build", "spec.yaml", "--out", str(disk.path / "rel")])
    assert line == (f"no space left on device writing {dst}; the release folder was not created; free space on that "
                    f"disk, then run `tk release build spec.yaml --out {disk.path / 'rel'}` again to continue")


def test_a_read_only_folder(disk):
    (disk.path / "out").mkdir()
    disk.remount("ro")
    with pytest.raises(faults.StorageError) as e:
        atomic.write_text(disk.path / "out" / "report.md", "x")
    assert (e.value.errno, str(e.value)) == (errno.EROFS, f"read-only file system writing {disk.path / 'out' / 'report.md'}")
    line = faults.message(e.value, ["eval", "run", "--data", "r", "--out", str(disk.path / "out")])
    assert line.endswith(f"make the folder writable or choose another --out, then run "
                         f"`tk eval run --data r --out {disk.path / 'out'}` again to continue")


def test_a_checkpoint_that_does_not_fit_keeps_the_last_complete_one(tmp_path):
    # A checkpoint of the tiny model with this state takes ~2.5 MB: the first fits in 4 MB, the second does not.
    import torch

    from tk.model import TripoSR, load_model_config
    from tk.train import checkpoint

    torch.manual_seed(0)
    model = TripoSR(load_model_config("tiny"))
    state = {"opt": [torch.randn(300_000)], "step": 0}
    with small_disk(tmp_path / "disk", "4m") as d:
        run = d.path / "run"
        first = checkpoint.save(run, 4, model, {**state, "step": 4}, keep_last=3)
        with pytest.raises(faults.StorageError) as e:
            checkpoint.save(run, 8, model, {**state, "step": 8}, keep_last=3)
        assert e.value.errno == errno.ENOSPC and "/checkpoints/.step-0000008.tmp-" in e.value.path
        assert _entries(run / "checkpoints") == sorted(["latest", *_entries_of(first)])
        assert checkpoint.latest(run) == first
        argv = ["train", "--data", "r", "--out", str(run), "--resume"]
        line = faults.message(e.value, argv)
        assert line == (f"{e.value}; the last complete checkpoint is step-0000004; free space on that disk, "
                        f"then run `tk train --data r --out {run} --resume` again to continue")
        d.remount("size=64m")  # space freed: the same save now completes
        assert checkpoint.save(run, 8, model, {**state, "step": 8}, keep_last=3) is not None
        assert checkpoint.latest(run).name == "step-0000008"


def _entries_of(step: Path) -> list[str]:
    return [step.name, *(f"{step.name}/{e}" for e in _entries(step))]


@pytest.mark.parametrize("error, cause", [
    (OSError(errno.ENOSPC, "No space left on device"), "no space left on device writing in OUT"),
    (RuntimeError("ray task failed"), None),
    (OSError("[Errno 28] Error writing bytes to file. Detail: [errno 28] No space left on device"),
     "no space left on device writing in OUT"),
    (Exception("IO Error: Could not write file \"x\": No space left on device"), "no space left on device writing in OUT"),
    (Exception("Error while serializing: I/O error: No space left on device (os error 28)"),
     "no space left on device writing in OUT"),
    (FileNotFoundError(errno.ENOENT, "No such file or directory", "/in/chair.glb"),
     "folder or file not found (deleted while tk ran?) at /in/chair.glb"),
    (PermissionError(errno.EACCES, "Permission denied", "OUT/x"), "permission denied at OUT/x"),
    (ValueError("bad value"), None),
])
def test_the_words_of_each_library_are_recognised(error, cause):
    line = faults.message(error, ["render", "m.parquet", "--out", "OUT"])
    assert (line.split(";")[0] if line else None) == cause


def test_a_wrapped_fault_is_found_through_its_causes():
    class RayTaskError(Exception):  # Ray keeps the worker's exception as .cause
        def __init__(self, cause):
            super().__init__("task failed")
            self.cause = cause

    inner = faults.StorageError(errno.ENOSPC, "/out/shards/.shard-00003.parquet.x.tmp")
    try:
        try:
            raise inner
        except faults.StorageError as e:
            raise RuntimeError("worker died") from e
    except RuntimeError as e:
        assert faults.classify(RayTaskError(e)) == (errno.ENOSPC, inner.path)


def test_the_cli_prints_one_line_for_a_storage_fault(tmp_path, capsys, monkeypatch):
    import typer

    app = typer.Typer()

    @app.command("train")
    def full(out: Path = typer.Option(...)) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(out / "metrics.jsonl"))

    @app.command("other")
    def other() -> None:
        pass

    monkeypatch.setattr("tk.cli.app", app)
    (tmp_path / "run" / "checkpoints" / "step-0000100").mkdir(parents=True)
    assert main(["train", "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip()
    # The run has a checkpoint: continuing it needs --resume (tk train never starts over a run's checkpoints).
    assert err == (f"error: no space left on device writing {tmp_path / 'run' / 'metrics.jsonl'}; the last complete "
                   f"checkpoint is step-0000100; free space on that disk, then run `tk train --out {tmp_path / 'run'} "
                   "--resume` again to continue")
