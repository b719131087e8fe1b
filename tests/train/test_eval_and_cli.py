"""`tk eval` on the shared tiny run, and the CLI of the stage (one-line errors, help examples)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from tk.cli import main


def _view_rgba(renders: Path, uid: str, view: int) -> np.ndarray:
    from tk.contracts.renders import decode_rgba, read_views

    for r in read_views(renders, columns=["uid", "view", "rgba"]):
        if (r["uid"], r["view"]) == (uid, view):
            return decode_rgba(r["rgba"])
    raise AssertionError(f"no view {view} of {uid}")


def test_eval_writes_reports_and_grid(tiny_run: Path, renders: Path, tmp_path: Path) -> None:
    from PIL import Image

    from tk.train import metrics
    from tk.contracts.renders import composite
    from tk.train.config import EvalRun
    from tk.train import evaluate

    report = evaluate.run(EvalRun(checkpoint=tiny_run, data=renders, out=tmp_path / "eval", split="train",
                                  mesh_resolution=32, limit=2))
    assert report["checkpoint"].endswith("step-0000040") and report["summary"]["objects"] == 2
    assert report["weights"] == "raw"  # the tiny preset keeps no EMA
    for row in report["objects"]:
        assert row["novel_views"] == len(row["views"]) == 7
        assert 5.0 < row["psnr"] < 40.0 and 0.0 < row["ssim"] <= 1.0 and 0.0 < row["lpips"] < 1.0
        assert 0.0 <= row["iou"] <= 1.0 and row["iou"] == pytest.approx(np.mean([v["iou"] for v in row["views"]]))
        # the all-white baseline, recomputed here from the shard
        v = row["views"][0]
        target = composite(_view_rgba(renders, row["uid"], v["view"]), 1.0)
        assert v["white_psnr"] == pytest.approx(metrics.psnr(np.ones_like(target), target))
        assert 5.0 < row["white_psnr"] < 30.0
        # 40 CPU steps rarely make a surface above density 25; when they do, it is compared with the stored one
        assert math.isnan(row["chamfer"]) and row["note"] == "no surface predicted" or row["chamfer"] > 0
    saved = json.loads((tmp_path / "eval" / "report.json").read_text())
    assert saved["summary"]["objects"] == 2 and "iou" in saved["summary"] and len(saved["objects"][0]["views"]) == 7
    md = (tmp_path / "eval" / "report.md").read_text()
    assert "| psnr | white_psnr | ssim | lpips | iou | chamfer | fscore@0.05 | fscore@0.1 |" in md
    assert "raw weights" in md and "normalised object" in md
    grid = Image.open(tmp_path / "eval" / "grid.png")
    assert grid.size == (5 * 64, 2 * 64)


def test_image_metrics_of_a_view() -> None:
    from tk.train.evaluate import image_metrics
    from tk.train.lpips_weights import load_lpips

    rgba = np.zeros((16, 16, 4), np.float32)
    rgba[4:12, 4:12] = [0.2, 0.4, 0.6, 1.0]  # 64 object pixels on a transparent background
    target = rgba[..., :3] * rgba[..., 3:] + (1 - rgba[..., 3:])
    opacity = np.zeros((16, 16))
    opacity[4:12, 8:16] = 0.9  # half over the object, half beside it: IoU 32 / 96
    out = image_metrics(target, opacity, rgba, load_lpips("vgg"))
    assert out["iou"] == pytest.approx(1 / 3) and out["psnr"] == 100.0 and out["lpips"] < 1e-6
    assert out["white_psnr"] == pytest.approx(-10 * np.log10(np.mean((1 - target) ** 2)))


def test_psnr_of_an_exact_match_is_capped_so_means_stay_finite() -> None:
    """A white object on white: the all-white image matches exactly; an inf would make every mean over it inf."""
    from tk.train import metrics

    white = np.ones((8, 8, 3))
    assert metrics.psnr(white, white) == metrics.PSNR_CAP == 100.0
    assert np.isfinite(np.mean([metrics.psnr(white, white), metrics.psnr(white * 0.5, white)]))


def test_eval_uses_the_ema_weights_unless_asked_not_to(tiny_run: Path, renders: Path, tmp_path: Path) -> None:
    """A checkpoint with ema.safetensors is scored with those weights (here: step 30's), --raw-weights with its own."""
    import shutil

    from safetensors.torch import save_file

    from tk.model.checkpoint import read_state_dict
    from tk.train.config import EvalRun
    from tk.train import evaluate
    from tk.train.evaluate import load_model

    steps = tiny_run / "checkpoints"
    ckpt = tmp_path / "step-0000040"
    shutil.copytree(steps / "step-0000040", ckpt)
    older = read_state_dict(steps / "step-0000030" / "model.safetensors")
    save_file({k: v.contiguous() for k, v in older.items()}, str(ckpt / "ema.safetensors"))
    ema_model, weights = load_model(ckpt)
    assert weights == "ema"
    for k, v in ema_model.state_dict().items():
        assert torch.equal(v, older[k]), k
    raw_model, weights = load_model(ckpt, raw_weights=True)
    assert weights == "raw" and any(not torch.equal(v, older[k]) for k, v in raw_model.state_dict().items())
    ema = evaluate.run(EvalRun(checkpoint=ckpt, data=renders, out=tmp_path / "ema", split="train", mesh_resolution=16,
                               limit=1))
    then = evaluate.run(EvalRun(checkpoint=steps / "step-0000030", data=renders, out=tmp_path / "then", split="train",
                                mesh_resolution=16, limit=1))
    assert ema["weights"] == "ema" and "EMA" in ema["protocol"]["weights"]
    assert ema["objects"][0]["psnr"] == pytest.approx(then["objects"][0]["psnr"], abs=1e-6)


def test_cli_errors_are_one_line(capsys: pytest.CaptureFixture, tmp_path: Path, renders: Path) -> None:
    assert main(["train", "--config", str(tmp_path / "nope.yaml"), "--data", str(renders), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: train config") and "\n" not in err
    assert main(["train", "--data", str(renders), "--out", str(tmp_path / "r")]) == 2
    assert "--config" in capsys.readouterr().err
    assert main(["eval", str(tmp_path), "--data", str(renders), "--out", str(tmp_path / "e")]) == 2
    assert "not a checkpoint folder" in capsys.readouterr().err
    assert main(["train", "--config", "tiny", "--data", str(tmp_path), "--out", str(tmp_path / "r")]) == 2
    assert "no render shards" in capsys.readouterr().err


def test_cli_help_has_examples(capsys: pytest.CaptureFixture) -> None:
    for cmd in (["train"], ["eval"], ["weights", "lpips"]):
        main([*cmd, "--help"])
        assert f"tk {' '.join(cmd)}" in capsys.readouterr().out

