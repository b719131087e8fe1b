"""`--source local`: the real sample objects, the invalid ones and generated bad files, probed in Ray."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tk import contracts
from tk.curate.pipeline import CurateConfig, run as curate
from tk.hashing import sha256_file

from curate_fixtures import bad_files


@pytest.fixture(scope="module")
def folder(tmp_path_factory, sample_dir) -> Path:
    """Sample objects + invalid files + generated bad files + one byte-identical copy, with licenses."""
    root = tmp_path_factory.mktemp("local")
    shutil.copytree(sample_dir / "objects", root / "objects")
    shutil.copytree(sample_dir / "invalid", root / "invalid")
    shutil.copy(sample_dir / "SOURCES.csv", root / "SOURCES.csv")
    bad = bad_files(root / "bad")
    (root / "bad" / "LICENSE").write_text("MIT License\n\nCopyright (c) tk tests\n")
    (root / "bad" / "photo.glb.license").write_text("CC0\n")
    (root / "zz_copies").mkdir()
    shutil.copy(root / "objects" / "suzi.glb", root / "zz_copies" / "suzi.glb")  # sorts after objects/
    assert bad
    return root


@pytest.fixture(scope="module")
def curated(folder, tmp_path_factory, ray_session):
    out = tmp_path_factory.mktemp("out")
    cfg = CurateConfig(source="local", input=folder, licenses=folder / "SOURCES.csv", out=out, license="all", max_size_mb=0.5, workers=2)
    summary = curate(cfg)
    table = contracts.read_table(out / "manifest.parquet", contracts.MANIFEST)
    return out, summary, {r["file_identifier"]: r for r in table.to_pylist()}


def test_every_file_has_a_row_and_the_right_reason(curated):
    _, summary, rows = curated
    reasons = {k: r["reason"] for k, r in rows.items()}
    for name in ("invalid/CesiumMilkTruck.gltf", "invalid/IndexOutOfRange/IndexOutOfRange.gltf", "invalid/empty.ply",
                 "invalid/malformed.obj", "bad/photo.glb", "bad/truncated.glb", "objects/spider.fbx"):
        assert reasons[name] == "unreadable", name
        assert rows[name]["probe_error"], name
    assert "Blender import failed" in rows["objects/spider.fbx"]["probe_error"]  # in the child process only
    assert "GLTF 2" in rows["invalid/CesiumMilkTruck.gltf"]["probe_error"]
    assert reasons["bad/points.ply"] == "no_faces" and rows["bad/points.ply"]["vertex_count"] == 3
    assert reasons["bad/flat.obj"] == "degenerate"
    # 025_mug.stl is 819 KB, over the 0.5 MB cap: rejected before any probe.
    assert reasons["objects/025_mug.stl"] == "too_large" and rows["objects/025_mug.stl"]["face_count"] is None
    kept = {k for k, r in reasons.items() if r is None}
    assert kept == {
        "objects/BoxTextured-glTF/BoxTextured.gltf", "objects/Spider_binary.stl", "objects/basketball/basketball.obj",
        "objects/bread/bread.obj", "objects/bunny.glb", "objects/crate/crate.obj", "objects/meta-quest-touch-plus.glb",
        "objects/pico-neo3.glb", "objects/siameseCat/siameseCat.obj", "objects/suzi.glb", "objects/tetrapak/tetrapak.obj",
    }
    # The byte-identical copy is the same object (same uid): one row, counted in the report.
    assert "zz_copies/suzi.glb" not in rows and summary["identical_files"] == 1


def test_probe_values_uids_and_local_paths(curated, folder):
    _, _, rows = curated
    box = rows["objects/BoxTextured-glTF/BoxTextured.gltf"]
    assert box["face_count"] == 12 and box["vertex_count"] == 24 and box["bbox_extent"] == pytest.approx([1, 1, 1])
    assert box["texture_count"] == 1 and box["animation_count"] == 0
    assert rows["objects/basketball/basketball.obj"]["texture_count"] == 1  # the folder's JPEG, via the MTL
    assert rows["objects/Spider_binary.stl"]["texture_count"] == 0
    for r in rows.values():
        path = Path(r["local_path"])
        assert path.is_file() and r["uid"] == r["sha256"] == sha256_file(path)
        assert r["source"] == "local" and r["split"] in ("train", "val", "test")


def test_licenses_from_mapping_sidecar_and_folder(curated):
    _, _, rows = curated
    assert rows["objects/siameseCat/siameseCat.obj"]["license"] == "cc-by-3.0"
    assert "Gwinna" in rows["objects/siameseCat/siameseCat.obj"]["attribution"]
    assert rows["objects/pico-neo3.glb"]["license"] == "mit"
    assert rows["bad/photo.glb"]["license"] == "cc0-1.0"  # <file>.license sidecar wins over the folder LICENSE
    assert rows["bad/flat.obj"]["license"] == "mit" and rows["bad/flat.obj"]["license_raw"] == "MIT License"


def test_rerun_with_other_rules_reuses_every_probe(curated, folder):
    out, first, _ = curated
    summary = curate(CurateConfig(source="local", input=folder, licenses=folder / "SOURCES.csv", out=out,
                                  license="cc-by", require_textures=True, workers=2))
    # Only the mug is new to probe (no longer over the size cap); every other candidate is reused.
    assert summary["probe"]["probed"] == 1
    assert summary["probe"]["reused"] == summary["probe"]["candidates"] - 1
    rows = {r["file_identifier"]: r for r in contracts.read_table(out / "manifest.parquet", contracts.MANIFEST).to_pylist()}
    assert rows["objects/pico-neo3.glb"]["reason"] == "license"
    assert rows["objects/bunny.glb"]["reason"] == "no_textures"
    assert rows["objects/crate/crate.obj"]["status"] == "keep"
    assert rows["objects/025_mug.stl"]["face_count"] == 16384 and rows["objects/025_mug.stl"]["reason"] == "no_textures"
    report = json.loads((out / "report.json").read_text())
    assert report["rejected_by_reason"]["no_textures"] >= 1


def test_dry_run_writes_nothing(sample_objects, tmp_path):
    out = tmp_path / "out"
    s = curate(CurateConfig(source="local", input=sample_objects, out=out, dry_run=True, license="all"))
    assert s["rows"] == 13 and not out.exists()  # 13 model files in manifests/sample/objects
    assert "unreadable" in {r["name"] for r in s["skipped_rules"]}  # nothing probed in a dry run


def test_executor_replaces_hung_and_crashed_workers(ray_session):
    import os
    import time

    from tk.curate import executor

    def work(item, blender):
        if item["kind"] == "hang":
            time.sleep(120)
        if item["kind"] == "crash":
            os._exit(3)  # the worker process dies, as an importer segfault would take it down
        return {"probe_error": None, "double": item["n"] * 2}

    results = {}
    items = [{"kind": k, "n": i} for i, k in enumerate(["ok", "hang", "crash", "ok"])]
    # the clock runs from submission, so it covers starting a fresh Ray worker after a kill: seconds on a loaded
    # 2-core machine; 10 s keeps "ok" items from timing out there while the hang still takes two timeouts
    counts = executor.run(items, work, lambda item, r: results.__setitem__(item["n"], r), workers=2, timeout=10, retries=1)
    assert results[0]["double"] == 0 and results[3]["double"] == 6
    assert results[1]["probe_error"].startswith("timeout") and results[1]["attempts"] == 2
    assert "crashed" in results[2]["probe_error"] and results[2]["attempts"] == 2
    assert counts == {"done": 2, "retried": 2, "failed": 2, "node_lost": 0}
