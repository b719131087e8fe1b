"""The Blender probe as a job of the persistent Blender worker (tk.blender): one process for many files, its memory
capped as render's, and a file that blows the cap costing its own row only."""

from __future__ import annotations

import shutil
from pathlib import Path

from tk.blender.process import WorkerProcess
from tk.blender.serve import TEST_HOOK_ENV
from tk.curate.probe import probe_file

FORMATS = Path(__file__).resolve().parents[1] / "data" / "formats"


def test_one_worker_probes_many_files_and_a_file_over_the_memory_cap_fails_alone(tmp_path: Path) -> None:
    for name in ("box.fbx", "box.blend"):
        shutil.copy(FORMATS / name, tmp_path / name)
    shutil.copy(FORMATS / "box.fbx", tmp_path / "hog_box.fbx")
    worker = WorkerProcess(max_memory_gb=1.0, env={TEST_HOOK_ENV: "hog=hog_"})
    try:
        rows = [probe_file(tmp_path / n, n.rsplit(".", 1)[1], timeout=120, blender=worker)
                for n in ("box.fbx", "box.blend", "hog_box.fbx", "box.fbx")]
        first, second, hog, after = rows
        assert first["probe_error"] is None and first["probed_with"] == "bpy" and first["face_count"] > 0
        assert second["probe_error"] is None and second["face_count"] > 0
        assert "over the 1 GB memory limit, while probing" in hog["probe_error"]
        assert after == first | {"probe_seconds": after["probe_seconds"]}  # a fresh worker measures the same
        assert worker.started == 2  # one process for the first two files; one more after the kill
    finally:
        worker.close()
