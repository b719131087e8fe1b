"""The wheel a user builds holds every stage package and the presets, and installs outside the repo."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_wheel_ships_the_stages_and_presets_and_loads_them_installed(tmp_path: Path) -> None:
    # Built from a copy: setuptools reuses the checkout's build/ folder, whose stale files could hide a packaging bug.
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".*", "build", "dist", "*.egg-info", "__pycache__", "tests",
                                                              "docs", "runs", "out", "demo-out", "releases", "bench"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(tmp_path), str(src)],
                   check=True, capture_output=True, cwd=tmp_path)
    [wheel] = tmp_path.glob("tk3d-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for module in ("tk/cli.py", "tk/curate/pipeline.py", "tk/render/worker.py", "tk/model/tsr.py", "tk/train/loop.py",
                   "tk/configs/tiny.yaml", "tk/configs/train/tiny.yaml", "tk/configs/tk-vit-tiny/config.json"):
        assert module in names, module
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site), str(wheel)], check=True,
                   capture_output=True)
    # -S: no site-packages hooks, so the editable install of the checkout cannot answer instead of the wheel.
    deps = [p for p in sys.path if p.endswith("site-packages")]
    code = ("import tk, tk.model.config as m, tk.train.config as t; print(tk.__file__); "
            "print(type(m.load_model_config('tiny')).__name__, t.load_config('tiny').model)")
    out = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, cwd=tmp_path,
                         env={**os.environ, "PYTHONPATH": os.pathsep.join([str(site), *deps])})
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith(str(site)) and lines[1].startswith("TripoSRConfig")
