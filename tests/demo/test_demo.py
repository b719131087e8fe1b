"""`tk demo --quick` end to end in a subprocess: the pictures open, the loss falls, the mesh has faces."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tk.demo.figures import read_losses


@pytest.mark.slow
def test_quick_demo_end_to_end(tmp_path):
    import trimesh
    from PIL import Image

    out = tmp_path / "demo"
    env = {**os.environ, "TK_NO_PROGRESS": "1", "RAY_USAGE_STATS_ENABLED": "0"}
    r = subprocess.run([sys.executable, "-m", "tk", "demo", "--quick", "--out", str(out)],
                       capture_output=True, text=True, env=env, timeout=1200)
    assert r.returncode == 0, r.stderr[-3000:]
    for name, min_size in (("contact_sheet.png", 64), ("loss.png", 200), ("input.png", 32), ("turntable.png", 32)):
        with Image.open(out / name) as img:
            img.load()
            assert min(img.size) >= min_size, (name, img.size)
    losses = [v for _, v in read_losses(out / "work" / "run" / "metrics.jsonl")]
    k = max(1, len(losses) // 4)
    assert len(losses) >= 8 and sum(losses[-k:]) / k < sum(losses[:k]) / k, losses
    mesh = trimesh.load(out / "mesh.glb", force="mesh")
    assert len(mesh.faces) > 0 and len(mesh.vertices) > 0
    assert len(trimesh.load(out / "mesh.obj", force="mesh").faces) == len(mesh.faces)
    summary = json.loads((out / "summary.json").read_text())
    held = summary["mesh of the held-out object"]
    assert held["split"] == "test" and held["faces"] == len(trimesh.load(out / "held_out_mesh.glb", force="mesh").faces)
    assert summary["mesh of a training object"]["faces"] == len(mesh.faces)
    fit = summary["training objects, novel views"]
    assert fit["held_out_views"] == [4, 5] and len(fit["objects"]) == 3  # 4 objects, the bunny held out
    assert all(0.0 <= o["iou"] <= 1.0 and o["psnr"] > 5 for o in fit["objects"])
    with Image.open(out / "training_fit.png") as img:
        assert img.size[1] >= 3 * 128
    assert summary["render"]["objects"] == 4 and summary["render"]["views"] == 6
    assert "loss" in r.stderr + r.stdout and "mesh.glb" in r.stderr + r.stdout


def test_demo_refuses_a_foreign_folder(tmp_path):
    (tmp_path / "thesis.tex").write_text("precious")
    env = {**os.environ, "TK_NO_PROGRESS": "1"}
    r = subprocess.run([sys.executable, "-m", "tk", "demo", "--quick", "--out", str(tmp_path)],
                       capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [f"error: {tmp_path} exists and was not made by tk demo; choose another --out folder"]
    assert (tmp_path / "thesis.tex").read_text() == "precious"


def test_loss_plot_draws_the_curve(tmp_path):
    import numpy as np
    from PIL import Image

    from tk.demo.figures import loss_plot

    loss_plot([(5, 1.0), (10, 0.5), (15, 0.25)], tmp_path / "loss.png")
    img = np.asarray(Image.open(tmp_path / "loss.png").convert("RGB"))
    blue = (img[..., 2] > 150) & (img[..., 0] < 80)
    ys, xs = np.nonzero(blue)
    assert blue.sum() > 50
    # The curve falls: its left end is drawn higher (smaller row index) than its right end.
    assert ys[xs < xs.min() + 10].mean() < ys[xs > xs.max() - 10].mean()
