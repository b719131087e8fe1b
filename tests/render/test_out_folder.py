"""The output folder is never silently lost or mixed (issue 12, item 5): a deleted objects.parquet is rebuilt
from the shards, a deleted render.json cannot let a resume mix settings, and two runs cannot share one --out."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tk.cli import main
from tk.contracts import OBJECTS, read_table
from tk.errors import TkError
from tk.render.pipeline import RenderConfig, run as render
from tk.blender.process import WorkerProcess
from tk.render.actor import run_with_retries

SAMPLE = Path(__file__).resolve().parents[2] / "manifests" / "sample" / "objects"


class WorkerExecutor:
    """Renders in one bpy worker subprocess (the pool's worker, without Ray)."""

    def __init__(self) -> None:
        self.worker = WorkerProcess()
        self.rendered: list[str] = []

    def run(self, items):
        for obj, job in items:
            self.rendered.append(obj.uid)
            result, attempts = run_with_retries(self.worker, job, 300, 0)
            yield obj, job, result, attempts

    def close(self) -> None:
        self.worker.close()


def _cfg(src: Path, out: Path, **kw) -> RenderConfig:
    settings = dict(views=1, resolution=16, engine="workbench", lighting="studio", depth=False, normals=False,
                    objects_per_shard=1) | kw
    return RenderConfig(out=str(out), input_dir=str(src), **settings)


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> tuple[Path, Path]:
    """(input folder, a finished render of its two objects, one shard each)."""
    root = tmp_path_factory.mktemp("finished")
    src = root / "in"
    src.mkdir()
    shutil.copy(SAMPLE / "bunny.glb", src / "bunny.glb")
    shutil.copy(SAMPLE / "025_mug.stl", src / "mug.stl")
    summary = render(_cfg(src, root / "out"), executor=WorkerExecutor())
    assert summary["ok"] == 2
    return src, root / "out"


def _copy(finished, tmp_path) -> tuple[Path, Path]:
    src, out = finished
    shutil.copytree(out, tmp_path / "out")
    return src, tmp_path / "out"


def _shard_bytes(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((out / "shards").iterdir())}


def test_deleted_objects_table_is_rebuilt_from_the_shards(finished, tmp_path):
    src, out = _copy(finished, tmp_path)
    shards = _shard_bytes(out)
    before = {r["uid"]: r for r in read_table(out / "objects.parquet", OBJECTS).to_pylist()}
    assert len(shards) == 2 and {r["status"] for r in before.values()} == {"ok"}
    (out / "objects.parquet").unlink()
    executor = WorkerExecutor()
    summary = render(_cfg(src, out), executor=executor)
    assert executor.rendered == [] and summary["skipped"] == 2 and summary["ok_total"] == 2
    assert _shard_bytes(out) == shards  # no finished shard deleted or rewritten
    after = {r["uid"]: r for r in read_table(out / "objects.parquet", OBJECTS).to_pylist()}
    assert after == before  # every column, normalisation center and scale included


def test_deleted_render_json_cannot_mix_settings(finished, tmp_path):
    src, out = _copy(finished, tmp_path)
    settings = (out / "render.json").read_text()
    shards = _shard_bytes(out)
    (out / "render.json").unlink()
    executor = WorkerExecutor()
    with pytest.raises(TkError, match="resolution") as e:
        render(_cfg(src, out, resolution=32), executor=executor)
    assert "\n" not in str(e.value)
    assert executor.rendered == [] and _shard_bytes(out) == shards and not (out / "render.json").exists()
    render(_cfg(src, out), executor=executor)  # the settings the shards were made with: a resume
    assert executor.rendered == [] and (out / "render.json").read_text() == settings


def test_second_run_into_one_out_refuses_and_a_killed_run_leaves_no_lock(finished, tmp_path, capsys):
    src, out = _copy(finished, tmp_path)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom tk.render.shards import out_lock\n"
         "with out_lock(sys.argv[1]):\n    print('locked', flush=True)\n    time.sleep(300)\n", str(out)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        args = ["render", "--input", str(src), "--out", str(out), "--views", "1", "--resolution", "16",
                "--engine", "workbench", "--lighting", "studio", "--no-depth", "--no-normals", "--objects-per-shard", "1"]
        assert main(args) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: ") and "another tk render" in err and "\n" not in err
        assert str(holder.pid) in err
    finally:
        holder.send_signal(signal.SIGKILL)  # as a crash would: the lock must not outlive the process
        holder.wait()
    assert main(args) == 0
    assert "2 objects rendered (0 now, 2 already done)" in " ".join(capsys.readouterr().out.split())
    assert not (out / ".lock").exists()
