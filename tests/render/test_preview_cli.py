"""`tk preview` on the committed fixture, and the render CLI's one-line errors (no Blender needed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from tk.render.config import RenderConfig

RENDERS = Path(__file__).resolve().parents[2] / "tests" / "data" / "renders"


def test_contact_sheet_shows_objects_by_views_with_masks(tmp_path):
    out = tmp_path / "sheet.png"
    r = subprocess.run([sys.executable, "-m", "tk", "preview", str(RENDERS), "--out", str(out), "--cell", "32"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    sheet = np.asarray(Image.open(out).convert("RGB"))
    assert sheet.shape == (4 * 32, 90 + 8 * 2 * 32, 3)  # 4 objects x 8 views x (image, mask)
    first_mask = sheet[:32, 90 + 32: 90 + 64]
    assert (first_mask[..., 0] == first_mask[..., 2]).all() and first_mask.max() == 255  # a grey-level mask
    assert 0.05 < (first_mask[..., 0] > 127).mean() < 0.9


def test_bad_arguments_are_one_line_errors(tmp_path, capsys):
    from tk.cli import main

    for args in (["render", "--input", str(tmp_path / "nope"), "--out", str(tmp_path / "o")],
                 ["render", "--input", str(tmp_path), "--out", str(tmp_path / "o"), "--lighting", "disco"],
                 ["render", "--input", str(tmp_path), "--out", str(tmp_path / "o"), "--distance", "0.5,1"],
                 ["preview", str(tmp_path), "--out", str(tmp_path / "s.png")]):
        assert main(args) == 2
        err = capsys.readouterr().err
        assert len([ln for ln in err.splitlines() if ln.strip()]) == 1 and err.startswith("error: "), err


def test_render_options_are_frozen():
    """The settings a release spec can name: grow this list on purpose only."""
    assert RenderConfig.field_names() == [
        "out", "manifest", "input_dir", "views", "resolution", "engine", "samples", "denoise", "device", "lighting",
        "lighting_per", "hdri_dir", "seed", "split_seed", "fovy_deg", "distance", "elevation_deg", "orbit", "depth",
        "normals", "workers", "threads", "timeout", "retries", "max_memory_gb", "max_file_mb", "address", "objects_per_shard", "limit"]
