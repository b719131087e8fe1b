"""`tk infer` on a disk that fills midway (issue 25): one line naming the file and the cause, the images finished are
kept, the image it stopped in has no file in its folder (none half-written), and once space is freed the same command
gives the files of an uninterrupted run. The disk is a real tmpfs (tests/disks.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.disks import small_disk
from tk.cli import main
from tk.contracts import SHARD, read_table
from tk.model import turntable

RENDERS = Path(__file__).resolve().parents[1] / "data" / "renders"


def _images(folder: Path) -> list[str]:
    """Two real RGBA renders of the render fixture as PNG files."""
    table = read_table(next((RENDERS / "shards").glob("shard-*.parquet")), SHARD)
    folder.mkdir()
    paths = []
    for row in table.slice(0, 2).to_pylist():
        path = folder / f"{row['uid'][:8]}-{row['view']}.png"
        path.write_bytes(row["rgba"])
        paths.append(str(path))
    return paths


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_full_disk_mid_infer_then_rerun(tiny_ref_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    images = _images(tmp_path / "in")
    options = ["--model", str(tiny_ref_dir), "--resolution", "16", "--turntable-views", "2", "--turntable-size", "24"]
    assert main(["infer", *images, *options, "--out", str(tmp_path / "whole")]) == 0
    whole = _files(tmp_path / "whole")
    first, second = (Path(p).stem for p in images)

    with small_disk(tmp_path / "disk", "1m") as disk:
        out = disk.path / "out"
        args = ["infer", *images, *options, "--out", str(out)]
        real = turntable.write_turntable
        calls: list[int] = []

        def fill_then_write(*a: object, **k: object) -> None:  # the disk fills once the second image has its meshes
            calls.append(1)
            if len(calls) == 2:
                disk.fill()
            real(*a, **k)

        monkeypatch.setattr(turntable, "write_turntable", fill_then_write)
        capsys.readouterr()
        assert main(args) == 2
        err = capsys.readouterr().err.strip()
        assert "\n" not in err and "Traceback" not in err, err
        assert re.fullmatch(
            rf"error: no space left on device writing {re.escape(str(out))}/\.{second}\.tmp-\d+/turntable\.gif; "
            r"the images finished are kept \(an image's files are moved into its folder once all are written\); "
            rf"free space on that disk, then run `{re.escape('tk ' + ' '.join(args))}` again to continue", err), err
        # the first image's folder is complete; of the second, nothing: no file, no staging folder
        assert sorted(p.name for p in out.iterdir()) == [first]
        assert _files(out) == {k: v for k, v in whole.items() if k.startswith(f"{first}/")}

        disk.remount("size=64m")
        monkeypatch.setattr(turntable, "write_turntable", real)
        assert main(args) == 0
        assert _files(out) == whole


@pytest.mark.parametrize("at_call", [1, 2], ids=["in-first-image", "in-second-image"])
def test_out_deleted_mid_infer_then_rerun(at_call: int, tiny_ref_dir: Path, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import shutil

    images = _images(tmp_path / "in")
    options = ["--model", str(tiny_ref_dir), "--resolution", "16", "--turntable-views", "2", "--turntable-size", "24"]
    assert main(["infer", *images, *options, "--out", str(tmp_path / "whole")]) == 0
    whole = _files(tmp_path / "whole")
    out = tmp_path / "runs" / "out"
    args = ["infer", *images, *options, "--out", str(out)]
    real = turntable.write_turntable
    calls: list[int] = []

    def delete_then_write(*a: object, **k: object) -> None:  # --out goes while an image's files are being written
        calls.append(1)
        if len(calls) == at_call:
            shutil.rmtree(out)
        real(*a, **k)

    monkeypatch.setattr(turntable, "write_turntable", delete_then_write)
    capsys.readouterr()
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err == (f"error: folder or file not found (deleted while tk ran?) at {out}; the images finished went with "
                   f"the folder; restore it, or let the run redo what it held, then run `tk {' '.join(args)}` again "
                   f"to continue"), err
    # the writes after the deletion did not make --out again (an image folder holding only its turntable, say)
    assert not out.exists() and sorted(p.name for p in (tmp_path / "runs").iterdir()) == []

    monkeypatch.setattr(turntable, "write_turntable", real)
    assert main(args) == 0
    assert _files(out) == whole
