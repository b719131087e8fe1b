"""Remote data that fails (issue 25): reads of flaky storage are retried with bounded backoff and counted, training and
eval over it give what they give over clean storage, and storage that stays down stops `tk train` / `tk eval` in one
line naming the shard, within the budget; the run then resumes to the weights of an uninterrupted run.

The storage is `flaky://`: fsspec's memory filesystem (the same store as `memory://`) whose opens and reads fail as a
test says, each failure also taking `delay_s` of a fake clock (a slow timeout). The backoff's clock and wait are
patched to that clock, so no test sleeps.
"""

from __future__ import annotations

import io
import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import fsspec
import pytest
from fsspec.implementations.memory import MemoryFileSystem

from tk.cli import main
from tk.errors import ContractError
from tk.train import remote_read
from tk.train.remote_read import ReadPolicy, RemoteReadError
from tk.train.shards import ShardIndex
from bench.train.synthetic import write_synthetic
from train_fixtures import assert_same_weights, write_config

STEPS = 6


class Faults:
    """What `flaky://` does now. With `every` N: the N-th, 2N-th ... open times out, and the file of the open after
    each of those (N >= 3) loses its connection on its second read, so a read fails at most twice in a row. While
    `down`, every open fails. Each failure takes `delay_s` of the fake clock."""

    every = 0
    down = False
    delay_s = 0.0
    opens = 0
    failures: list[str] = []  # the errors raised, by class name
    now = 0.0  # the fake clock, seconds
    waits: list[float] = []

    @classmethod
    def reset(cls, every: int = 0, down: bool = False, delay_s: float = 0.0) -> None:
        cls.every, cls.down, cls.delay_s = every, down, delay_s
        cls.opens, cls.failures, cls.now, cls.waits = 0, [], 0.0, []

    @classmethod
    def fail(cls, error: OSError) -> None:
        cls.failures.append(type(error).__name__)
        cls.now += cls.delay_s
        raise error


class _FlakyFile(io.BytesIO):
    def __init__(self, data: bytes, breaks: bool) -> None:
        super().__init__(data)
        self.reads, self.breaks = 0, breaks

    def read(self, *args: int) -> bytes:
        self.reads += 1
        if self.breaks and self.reads == 2:
            Faults.fail(ConnectionResetError("injected connection reset"))
        return super().read(*args)


class FlakyFileSystem(MemoryFileSystem):
    """memory:// whose opens and reads fail as `Faults` says."""

    protocol = ("flaky",)

    def _open(self, path: str, mode: str = "rb", **kwargs: object) -> io.BytesIO:
        Faults.opens += 1
        if Faults.down or (Faults.every and Faults.opens % Faults.every == 0):
            Faults.fail(TimeoutError("injected timeout"))
        breaks = Faults.every >= 3 and Faults.opens % Faults.every == 1 and Faults.opens > 1
        return _FlakyFile(super()._open(path, mode, **kwargs).getvalue(), breaks)


fsspec.register_implementation("flaky", FlakyFileSystem, clobber=True)


@pytest.fixture(autouse=True)
def fake_time(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[Faults]]:
    """The backoff waits on the fake clock; the storage works until a test breaks it."""

    def sleep(seconds: float) -> None:
        Faults.waits.append(seconds)
        Faults.now += seconds

    Faults.reset()
    monkeypatch.setattr(remote_read, "clock", lambda: Faults.now)
    monkeypatch.setattr(remote_read, "sleep", sleep)
    yield Faults
    Faults.reset()


def _upload(folder: Path) -> str:
    """A copy of the renders `folder` in the memory store; its path without a protocol (memory:// or flaky://)."""
    root = f"tk-remote-{uuid.uuid4().hex[:8]}/renders"
    fs = fsspec.filesystem("memory")
    for shard in sorted((folder / "shards").glob("*.parquet")):
        fs.pipe(f"/{root}/shards/{shard.name}", shard.read_bytes())
    return root


@pytest.fixture(scope="module")
def several(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """6 shards of one object each (the fixture's objects): with 4 chunks held, the loader reads shards all run long."""
    return write_synthetic(tmp_path_factory.mktemp("several"), 6, 1)


@pytest.fixture(scope="module")
def remote(several: Path) -> Iterator[str]:
    root = _upload(several)
    yield root
    fsspec.filesystem("memory").rm(f"/{root.split('/')[0]}", recursive=True)


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_config(tmp_path_factory.mktemp("cfg") / "remote.yaml", data={"shuffle_buffer": 1},
                        train={"max_steps": STEPS, "log_every": 1, "checkpoint_every": 2, "keep_last": 5})


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory: pytest.TempPathFactory, several: Path, config: Path, lpips_ready: None) -> Path:
    """The uninterrupted run on clean (local) storage that the others must match."""
    from tk.train import loop
    from tk.train.config import TrainRun

    out = tmp_path_factory.mktemp("runs") / "clean"
    loop.run(TrainRun(config=config, data=several, out=out))
    return out


def test_a_failed_read_is_retried_with_doubling_waits() -> None:
    calls, retried = [], []

    def fn() -> str:
        calls.append(1)
        if len(calls) <= 3:
            raise TimeoutError("slow")
        return "bytes"

    assert remote_read.read(ReadPolicy(), "s3://b/shards/shard-00000.parquet", fn, lambda: retried.append(1)) == "bytes"
    assert Faults.waits == [1.0, 2.0, 4.0] and len(retried) == 3
    assert (remote_read.TRIES, remote_read.BUDGET_S) == (5, 120.0)  # the documented default policy (docs/train.md)


def test_the_waits_stop_doubling_at_a_minute() -> None:
    def fn() -> None:
        raise OSError("down")

    with pytest.raises(RemoteReadError, match="failed 9 times over 183.0 s"):
        remote_read.read(ReadPolicy(tries=9, budget_s=3600.0), "gs://b/shards/shard-00000.parquet", fn)
    assert Faults.waits == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0]


def test_a_read_that_keeps_failing_stops_within_its_budget() -> None:
    def fn() -> None:
        Faults.now += 0.5  # each try takes half a second to fail
        raise OSError("503 Slow Down")

    with pytest.raises(RemoteReadError) as e:
        remote_read.read(ReadPolicy(tries=10, budget_s=10.0), "s3://b/shards/shard-00003.parquet", fn)
    # waits 1, 2, 4; the next (8 s) would end past the budget, so it stops there rather than after 10 tries
    assert str(e.value) == ("reading s3://b/shards/shard-00003.parquet failed 4 times over 9.0 s (OSError: 503 Slow "
                            "Down; data.read_tries, data.read_budget_s allow more tries or time)")
    assert Faults.now <= 10.0 and Faults.waits == [1.0, 2.0, 4.0]


@pytest.mark.parametrize("error", [FileNotFoundError("gone"), PermissionError("denied"), ValueError("corrupt")])
def test_errors_that_a_retry_cannot_mend_are_raised_at_once(error: Exception) -> None:
    calls = []

    def fn() -> None:
        calls.append(1)
        raise error

    with pytest.raises(type(error)):
        remote_read.read(ReadPolicy(), "s3://b/x.parquet", fn)
    assert len(calls) == 1 and Faults.waits == []


def test_index_and_chunk_reads_over_flaky_storage(renders: Path) -> None:
    root = _upload(renders)
    try:
        clean = ShardIndex(f"memory://{root}")
        Faults.reset(every=3, delay_s=0.25)
        flaky = ShardIndex(f"flaky://{root}")
        assert [o.uid for o in flaky.objects] == [o.uid for o in clean.objects]
        for _ in range(3):
            assert flaky.read_chunk(0, ["uid", "rgba"])[0].equals(clean.read_chunk(0, ["uid", "rgba"])[0])
        assert set(Faults.failures) == {"TimeoutError", "ConnectionResetError"}  # at open and mid-read
        assert flaky.retried == len(Faults.failures) and clean.retried == 0
        Faults.reset(down=True, delay_s=0.5)
        with pytest.raises(RemoteReadError, match=rf"^reading flaky://{root}/shards/shard-00000.parquet failed 5 "
                                                  r"times over 17.5 s \(TimeoutError: injected timeout; "):
            flaky.read_chunk(0, ["uid", "rgba"])
        Faults.reset(down=True)
        with pytest.raises(RemoteReadError, match="shard-00000.parquet failed 5 times"):
            ShardIndex(f"flaky://{root}")
    finally:
        fsspec.filesystem("memory").rm(f"/{root.split('/')[0]}", recursive=True)


def test_a_local_folder_is_read_once(renders: Path, tmp_path: Path) -> None:
    (tmp_path / "shards").mkdir()
    (tmp_path / "shards" / "shard-00000.parquet").write_bytes(b"not parquet")
    with pytest.raises(ContractError, match="not a readable Parquet file"):
        ShardIndex(str(tmp_path))
    assert Faults.waits == []


def test_a_loader_workers_error_keeps_its_one_line() -> None:
    import sys

    from torch._utils import ExceptionWrapper

    from tk.train.data import from_worker

    line = "reading s3://b/shards/shard-00001.parquet failed 5 times over 15.0 s (OSError: reset)"
    try:
        raise RemoteReadError(line)
    except RemoteReadError:
        wrapped = ExceptionWrapper(sys.exc_info(), where="in DataLoader worker process 1")
    with pytest.raises(RemoteReadError) as e:
        wrapped.reraise()  # what a DataLoader does with an error raised in its worker
    assert "Traceback" in str(e.value)
    assert type(from_worker(e.value)) is RemoteReadError and str(from_worker(e.value)) == line


def test_training_over_flaky_storage_retries_and_gives_the_clean_weights(clean_run: Path, remote: str, config: Path,
                                                                         tmp_path: Path) -> None:
    from tk.train import loop
    from tk.train.config import TrainRun

    Faults.reset(every=4, delay_s=0.5)
    run = tmp_path / "flaky"
    loop.run(TrainRun(config=config, data=f"flaky://{remote}", out=run))
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == list(range(1, STEPS + 1))
    assert sum(r["read_retries"] for r in rows) == len(Faults.failures) > 0  # every retry is counted, once
    assert sum(r["read_retries"] for r in rows[1:]) > 0  # the loader's reads mid-run too, not only the index's
    assert all(r["read_retries"] == 0 for r in map(json.loads, (clean_run / "metrics.jsonl").read_text().splitlines()))
    assert_same_weights(run, clean_run, STEPS)


def test_storage_that_stays_down_stops_training_in_one_line_then_resume_matches(
        clean_run: Path, remote: str, config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from tk.train import checkpoint

    saved = checkpoint.save

    def save_then_break(out: Path, step: int, *args: object, **kwargs: object) -> Path:
        path = saved(out, step, *args, **kwargs)
        if step == 2:
            Faults.reset(down=True, delay_s=0.5)  # the storage goes down after the step-2 checkpoint
        return path

    monkeypatch.setattr(checkpoint, "save", save_then_break)
    run, url = tmp_path / "down", f"flaky://{remote}"
    assert main(["train", "--config", str(config), "--data", url, "--out", str(run)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err, err
    assert re.fullmatch(
        rf"error: reading {re.escape(url)}/shards/shard-0000\d\.parquet failed 5 times over 17\.5 s "
        r"\(TimeoutError: injected timeout; data\.read_tries, data\.read_budget_s allow more tries or time\); "
        r"the last complete checkpoint is step-000000[24]; check the storage, then run "
        rf"`tk train --config {re.escape(str(config))} --data {re.escape(url)} --out {re.escape(str(run))} --resume` "
        r"again to continue", err), err
    assert Faults.now <= remote_read.BUDGET_S  # it gave up within the budget, not after hours

    Faults.reset()  # the storage is back: the command the line gives completes the run
    assert main(["train", "--config", str(config), "--data", url, "--out", str(run), "--resume"]) == 0
    assert_same_weights(run, clean_run, STEPS)


def test_eval_over_flaky_storage_gives_the_clean_report(clean_run: Path, several: Path, remote: str, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    from tk.train.config import EvalRun
    from tk.train import evaluate

    args = {"split": "train", "mesh_resolution": 16, "limit": 2}
    clean = evaluate.run(EvalRun(checkpoint=clean_run, data=several, out=tmp_path / "clean", **args))
    Faults.reset(every=3, delay_s=0.5)
    flaky = evaluate.run(EvalRun(checkpoint=clean_run, data=f"flaky://{remote}", out=tmp_path / "flaky", **args))
    assert flaky["read_retries"] == len(Faults.failures) > 0 and clean["read_retries"] == 0
    assert json.dumps(flaky["summary"]) == json.dumps(clean["summary"])
    assert json.dumps(flaky["objects"]) == json.dumps(clean["objects"])

    Faults.reset(down=True)
    url = f"flaky://{remote}"
    assert main(["eval", str(clean_run), "--data", url, "--out", str(tmp_path / "down"), "--read-tries", "3"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err, err
    assert re.match(rf"error: reading {re.escape(url)}/shards/shard-00000\.parquet failed 3 times over 3\.0 s "
                    r"\(TimeoutError: injected timeout; --read-tries, --read-budget-s allow more tries or time\); "
                    r"no report\.json was written \(it is written last, after report\.md and grid\.png\)", err), err
    assert not (tmp_path / "down").exists()
