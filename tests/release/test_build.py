"""The real path: `tk release build` on manifests/tiny-release.yaml (3 sample objects, 2 views of 32 px,
Cycles), then verify, tamper, rebuild; and a failed build leaves no release behind, on a full disk too."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.disks import small_disk
from tk.contracts import release as layout
from tk.hashing import sha256_file

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "manifests" / "tiny-release.yaml"
# RAY_ADDRESS=local: each build starts its own Ray, never joins a cluster another job on the machine started
ENV = {**os.environ, "TK_NO_PROGRESS": "1", "RAY_USAGE_STATS_ENABLED": "0", "RAY_ADDRESS": "local"}


def tk(*args: str) -> subprocess.CompletedProcess:
    """Run the tk CLI in a subprocess, as a user would."""
    return subprocess.run([sys.executable, "-m", "tk", *args], capture_output=True, text=True, env=ENV, timeout=900)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("build") / "tiny"
    r = tk("release", "build", str(TINY), "--out", str(out), "--workers", "1")
    assert r.returncode == 0, r.stderr[-3000:]
    return out


@pytest.mark.slow
def test_build_writes_a_complete_release(built, sample_dir):
    r = tk("release", "verify", str(built))
    assert r.returncode == 0, r.stderr
    assert "3 kept, 3 rendered x 2 views = 6 rows" in r.stderr + r.stdout
    record = json.loads((built / layout.RELEASE_JSON).read_text())
    assert record["stats"]["licenses_kept"] == {"cc-by-3.0": 1, "cc0-1.0": 1, "mit": 1}
    assert record["stats"]["rejected_by_reason"].get("where", 0) >= 8  # the other sample objects
    assert record["versions"]["blender"].startswith("5.0.1") and record["versions"]["tk"]
    assert record["license_policy"]["policy"] == "commercial" and "mit" in record["license_policy"]["allowed"]
    assert (built / layout.SPEC).read_bytes() == TINY.read_bytes()
    cat, bunny = sha256_file(sample_dir / "objects/siameseCat/siameseCat.obj"), sha256_file(sample_dir / "objects/bunny.glb")
    attribution = (built / layout.ATTRIBUTION).read_text()
    cat_line = next(line for line in attribution.splitlines() if cat in line)
    assert "Gwinna" in cat_line and "cc-by-3.0" in cat_line and bunny not in attribution
    card = (built / layout.CARD).read_text()
    assert "](preview.png)" in card and "| kept by curation | 3 |" in card and "load_dataset" in card
    from PIL import Image

    with Image.open(built / layout.PREVIEW) as img:
        assert img.size[0] > 64 and img.size[1] >= 3 * 32
    assert not list(built.parent.glob(".tiny.*")), "staging and work folders are removed after success"


@pytest.mark.slow
def test_tampered_real_release_names_the_file(built, tmp_path):
    copy = Path(shutil.copytree(built, tmp_path / "copy"))
    shard = layout.shards(copy)[0]
    shard.unlink()
    r = tk("release", "verify", str(copy))
    name = shard.relative_to(copy).as_posix()
    assert r.returncode == 2 and f"{name}: missing" in r.stderr and len(r.stderr.strip().splitlines()) == 1


@pytest.fixture(scope="module")
def rebuilt(built, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """An uninterrupted rebuild of `built`, and its run."""
    out = tmp_path_factory.mktemp("rebuild") / "again"
    return out, tk("release", "rebuild", str(built), "--out", str(out), "--workers", "1")


@pytest.mark.slow
def test_rebuild_matches(rebuilt):
    out, r = rebuilt
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    text = r.stdout + r.stderr
    assert "rebuild matches the release" in text and "MISMATCH" not in text
    for row in ("manifest", "cameras", "lights", "rgba", "depth"):
        assert row in text


@pytest.mark.slow
def test_failed_build_leaves_no_release(tmp_path):
    spec = tmp_path / "none.yaml"
    spec.write_text(
        f"name: none\nversion: 1\nsources: [{{source: local, input: {REPO / 'manifests/sample/objects'}}}]\n"
        "curation: {license: commercial, where: \"file_identifier = 'no-such-file.glb'\"}\n"
        "render: {views: 2, resolution: 32, samples: 4}\n"
    )
    out = tmp_path / "rel"
    r = tk("release", "build", str(spec), "--out", str(out), "--workers", "1")
    assert r.returncode != 0
    assert r.stderr.strip().splitlines()[-1].startswith("error: curation kept no object, so there is nothing to release")
    assert not out.exists() and not (tmp_path / ".rel.staging").exists()


# `tk release build` in a child process whose disk (a tmpfs at argv[1]) fills once the stages' outputs are copied
# into the staging folder, just before the contact sheet is written.
FILL_BEFORE_PREVIEW = """
import sys
from pathlib import Path

from tests.disks import SmallDisk
from tk.cli import main
from tk.release import build

real = build.write_preview


def fill_then_preview(staging):
    SmallDisk(Path(sys.argv[1])).fill()
    real(staging)


build.write_preview = fill_then_preview
sys.exit(main(sys.argv[2:]))
"""
# Files that record how long a stage took (report.json, the render rows and the shard's metadata) or DuckDB's own
# layout: two builds of one spec differ there and nowhere else.
TIMED = ("manifest/manifest.duckdb", "manifest/report.json", "renders/objects.parquet",
         "renders/shards/shard-00000.parquet")


def _sums(root: Path) -> dict[str, str]:
    return dict(reversed(line.split("  ", 1)) for line in (root / layout.SUMS).read_text().splitlines())


def _assert_same_release(out: Path, whole: Path) -> None:
    """`out` verifies and holds the files of the uninterrupted release `whole` (but for the stage timings), with
    equal manifests, cameras, lights and images."""
    from tk.release.compare import compare_releases

    assert tk("release", "verify", str(out)).returncode == 0
    sums, expected = _sums(out), _sums(whole)
    assert sums.keys() == expected.keys()
    assert {k: v for k, v in sums.items() if k not in TIMED} == {k: v for k, v in expected.items() if k not in TIMED}
    rows = compare_releases(whole, out)
    assert rows and all(row.ok for row in rows), rows


@pytest.mark.slow
def test_full_disk_mid_build_then_rerun(built, tmp_path):
    with small_disk(tmp_path / "disk", "16m") as disk:
        out = disk.path / "tiny"
        args = ["release", "build", str(TINY), "--out", str(out), "--workers", "1"]
        r = subprocess.run([sys.executable, "-c", FILL_BEFORE_PREVIEW, str(disk.path), *args], capture_output=True,
                           text=True, env=ENV, cwd=REPO, timeout=900)
        err = r.stderr.strip().splitlines()[-1]
        assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr[-3000:]
        assert err == (f"error: no space left on device writing {disk.path / '.tiny.staging' / layout.PREVIEW}; the "
                       f"release folder was not created; the stages' finished work is kept in {disk.path / '.tiny.work'} "
                       f"and reused; free space on that disk, then run `tk {' '.join(args)}` again to continue")
        assert sorted(p.name for p in disk.path.iterdir()) == [".tiny.work", "ballast"]  # staging removed, no release
        shard = sha256_file(disk.path / ".tiny.work" / "render" / "shards" / "shard-00000.parquet")

        disk.remount("size=64m")  # space freed: the same command completes, from the stages' finished work
        r = tk(*args)
        assert r.returncode == 0, r.stderr[-3000:]
        assert sorted(p.name for p in disk.path.iterdir()) == ["ballast", "tiny"]
        _assert_same_release(out, built)
        assert _sums(out)["renders/shards/shard-00000.parquet"] == shard  # rendered once, before the disk filled


@pytest.mark.slow
def test_full_disk_rebuild_then_rerun(built, rebuilt, tmp_path):
    with small_disk(tmp_path / "disk", "1m") as disk:
        disk.fill()
        out = disk.path / "again"
        args = ["release", "rebuild", str(built), "--out", str(out), "--workers", "1"]
        r = tk(*args)
        err = r.stderr.strip().splitlines()[-1]
        assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr[-3000:]
        work = disk.path / ".again.work"
        assert re.fullmatch(  # its first write: a probe result of the curate stage
            rf"error: no space left on device writing {re.escape(str(work))}/curate-0/\.work/probes/part-[\d-]+\.parquet; "
            rf"the release folder was not created; the stages' finished work is kept in {re.escape(str(work))} and "
            rf"reused; free space on that disk, then run `{re.escape('tk ' + ' '.join(args))}` again to continue", err), err
        assert sorted(p.name for p in disk.path.iterdir()) == [".again.work", "ballast"]  # no release, no staging

        disk.remount("size=64m")  # space freed: the same command completes, as an uninterrupted rebuild does
        r = tk(*args)
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
        assert "rebuild matches the release" in r.stdout + r.stderr
        assert sorted(p.name for p in disk.path.iterdir()) == ["again", "ballast"]  # work folder removed
        _assert_same_release(out, rebuilt[0])


# `tk release build` or `rebuild` in a child process that deletes the folder argv[1] when the function argv[2]
# (module:function) is called: `out.parent` (which holds the --out folder and the build's staging and work folders)
# before the contact sheet, or the build's work folder before the render stage.
DELETE_AT = """
import shutil
import sys
from importlib import import_module

from tk.cli import main

module, name = sys.argv[2].split(":")
module = import_module(module)
real = getattr(module, name)


def delete_then_call(*args, **kwargs):
    shutil.rmtree(sys.argv[1])
    return real(*args, **kwargs)


setattr(module, name, delete_then_call)
sys.exit(main(sys.argv[3:]))
"""


@pytest.mark.slow
@pytest.mark.parametrize("command, deleted, at", [
    ("build", "", "tk.release.build:write_preview"),
    ("rebuild", ".again.work", "tk.release.stages:run_render"),
], ids=["build-out-folder-before-preview", "rebuild-work-before-render"])
def test_out_deleted_mid_build_then_rerun(built, rebuilt, tmp_path, command, deleted, at):
    releases = tmp_path / "releases"
    releases.mkdir()
    out = releases / "again"
    spec = str(TINY) if command == "build" else str(built)
    args = ["release", command, spec, "--out", str(out), "--workers", "1"]
    gone = releases / deleted if deleted else releases
    r = subprocess.run([sys.executable, "-c", DELETE_AT, str(gone), at, *args], capture_output=True, text=True,
                       env=ENV, cwd=REPO, timeout=900)
    err = r.stderr.strip().splitlines()[-1]
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stdout[-3000:] + r.stderr[-3000:]
    assert err == (f"error: folder or file not found (deleted while tk ran?) at {gone}; the release folder was not "
                   f"created; the stages' finished work went with the folder; restore it, or let the run redo what it "
                   f"held, then run `tk {' '.join(args)}` again to continue"), err
    # nothing the writes after the deletion made again is left: no release, no staging, no part of a work folder
    assert sorted(p.name for p in tmp_path.rglob("*")) == ([] if gone == releases else ["releases"])

    r = tk(*args)  # the command the line gives redoes the work and gives the release of an uninterrupted run
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert sorted(p.name for p in releases.iterdir()) == ["again"]
    _assert_same_release(out, built if command == "build" else rebuilt[0])
