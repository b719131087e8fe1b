"""Storage faults mid-render (issue 25), each ending as one line naming the path, the cause, the objects kept and
the command that continues, with nothing half-written: a disk that fills (after space is freed the same command
completes with the shards of an uninterrupted run), a deleted --out, a read-only --out; an input file that vanishes
fails only its object, and a rerun renders it.

The full disk is a real tmpfs: after the first shard, a ballast file takes all the space left, so the next write
meets the ENOSPC a full disk gives; deleting the ballast frees it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.disks import small_disk
from tk import faults
from tk.contracts import OBJECTS, read_table
from tk.render import shards
from tk.render.pipeline import run as render
from tests.render.test_out_folder import WorkerExecutor, _cfg, _shard_bytes

SAMPLE = Path(__file__).resolve().parents[2] / "manifests" / "sample" / "objects"


def _two_objects(src: Path) -> Path:
    """An input folder with two real sample objects (a glTF and an STL)."""
    src.mkdir()
    shutil.copy(SAMPLE / "bunny.glb", src / "bunny.glb")
    shutil.copy(SAMPLE / "025_mug.stl", src / "mug.stl")
    return src


def test_full_disk_mid_render_then_resume(tmp_path, monkeypatch):
    src = _two_objects(tmp_path / "in")
    whole = render(_cfg(src, tmp_path / "whole"), executor=WorkerExecutor())
    assert whole["ok"] == 2

    with small_disk(tmp_path / "disk", "8m") as disk:
        out = disk.path / "out"
        real_flush = shards.ShardStore.flush
        ballast: list[Path] = []

        def flush_then_fill(self):
            real_flush(self)
            if self.next_index == 1 and not ballast:
                ballast.append(disk.fill())

        monkeypatch.setattr(shards.ShardStore, "flush", flush_then_fill)
        with pytest.raises(Exception) as e:
            render(_cfg(src, out), executor=WorkerExecutor())
        argv = ["render", "--input", str(src), "--out", str(out)]
        line = faults.message(e.value, argv)
        assert line is not None and "\n" not in line, repr(e.value)
        assert line.startswith(f"no space left on device writing {out}")
        assert line.endswith(f"; 1 objects rendered are kept; free space on that disk, then run "
                             f"`tk render --input {src} --out {out}` again to continue")
        assert sorted(p.name for p in (out / "shards").iterdir()) == ["shard-00000.parquet"]  # no partial shard

        ballast[0].unlink()  # space freed
        monkeypatch.setattr(shards.ShardStore, "flush", real_flush)
        executor = WorkerExecutor()
        summary = render(_cfg(src, out), executor=executor)
        assert summary["ok_total"] == 2 and len(executor.rendered) == 1  # only the object not kept is rendered
        resumed = {r["uid"]: r["status"] for r in read_table(out / "objects.parquet", OBJECTS).to_pylist()}
        assert resumed == {r["uid"]: r["status"] for r in read_table(tmp_path / "whole" / "objects.parquet",
                                                                     OBJECTS).to_pylist()}
        views = _views(out)
        assert views.keys() == _views(tmp_path / "whole").keys()
        assert views == _views(tmp_path / "whole")


def _views(out: Path) -> dict[tuple[str, int], bytes]:
    from tk.contracts import renders

    return {(v["uid"], v["view"]): v["rgba"] for v in renders.read_views(out, columns=["uid", "view", "rgba"])}


def test_out_deleted_mid_render_then_rerun(tmp_path, monkeypatch):
    src = _two_objects(tmp_path / "in")
    out = tmp_path / "out"
    real_flush = shards.ShardStore.flush
    deleted: list[bool] = []

    def flush_then_delete(self):
        real_flush(self)
        if self.next_index == 1 and not deleted:
            shutil.rmtree(out)
            deleted.append(True)

    monkeypatch.setattr(shards.ShardStore, "flush", flush_then_delete)
    with pytest.raises(faults.StorageError) as e:
        render(_cfg(src, out), executor=WorkerExecutor())
    line = faults.message(e.value, ["render", "--input", str(src), "--out", str(out)])
    assert line == (f"folder or file not found (deleted while tk ran?) at {out / 'shards'}; no shard was complete yet; "
                    f"restore it, or let the run redo what it held, then run `tk render --input {src} --out {out}` "
                    "again to continue")
    assert not out.exists()  # not recreated holding half of the objects
    monkeypatch.setattr(shards.ShardStore, "flush", real_flush)
    summary = render(_cfg(src, out), executor=WorkerExecutor())
    assert summary["ok_total"] == 2


def test_read_only_out(tmp_path, capsys):
    from tk.cli import main

    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(SAMPLE / "bunny.glb", src / "bunny.glb")
    with small_disk(tmp_path / "disk", "1m") as disk:
        disk.remount("ro")
        out = disk.path / "out"
        args = ["render", "--input", str(src), "--out", str(out), "--views", "1", "--resolution", "16",
                "--engine", "workbench", "--lighting", "studio", "--no-depth", "--no-normals"]
        assert main(args) == 2
        err = capsys.readouterr().err.strip().splitlines()[-1]
        assert err == (f"error: read-only file system writing {out}; no shard was complete yet; make the folder "
                       f"writable or choose another --out, then run `tk {' '.join(args)}` again to continue")
        assert not out.exists()


def test_input_vanished_mid_render_fails_that_object_and_a_rerun_completes(tmp_path, monkeypatch):
    src = _two_objects(tmp_path / "in")
    out = tmp_path / "out"
    real_flush = shards.ShardStore.flush

    def flush_then_delete_inputs(self):
        real_flush(self)
        for p in src.iterdir():
            p.unlink()

    monkeypatch.setattr(shards.ShardStore, "flush", flush_then_delete_inputs)
    summary = render(_cfg(src, out), executor=WorkerExecutor())
    assert (summary["ok"], summary["failed"]) == (1, 1)
    rows = read_table(out / "objects.parquet", OBJECTS).to_pylist()
    failed = [r for r in rows if r["status"] == "failed"]
    assert len(failed) == 1 and failed[0]["error"].startswith("file not found: ") and "\n" not in failed[0]["error"]
    for name, to in (("bunny.glb", "bunny.glb"), ("025_mug.stl", "mug.stl")):  # the input is back
        shutil.copy(SAMPLE / name, src / to)
    monkeypatch.setattr(shards.ShardStore, "flush", real_flush)
    executor = WorkerExecutor()
    summary = render(_cfg(src, out), executor=executor)
    assert summary["ok_total"] == 2 and summary["failed_total"] == 0 and len(executor.rendered) == 1
