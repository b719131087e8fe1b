"""`tk eval` for unseen objects: which views to score (defaulting from the run's held-out views), `--split all`,
the retrieval baseline beside the model, and per-category / per-split groups, on the shared tiny run."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
import yaml

from tk.cli import main
from tk.errors import TkError


def _run_with_held_out(tiny_run: Path, dest: Path, held_out: list[int]) -> Path:
    """A copy of the tiny run whose config says it held `held_out` views out of training."""
    shutil.copytree(tiny_run / "checkpoints" / "step-0000040", dest / "checkpoints" / "step-0000040")
    cfg = yaml.safe_load((tiny_run / "config.yaml").read_text())
    cfg["data"]["exclude_views"] = held_out
    (dest / "config.yaml").write_text(yaml.safe_dump(cfg))
    return dest


def test_views_default_to_the_runs_held_out_views(tiny_run, renders, tmp_path):
    from tk.train.config import EvalRun
    from tk.train import evaluate

    run = _run_with_held_out(tiny_run, tmp_path / "run", [6, 7])
    report = evaluate.run(EvalRun(checkpoint=run, data=renders, out=tmp_path / "auto", split="train",
                                  mesh_resolution=32, limit=2))
    for row in report["objects"]:
        assert [v["view"] for v in row["views"]] == [6, 7] and row["input_view"] not in (6, 7)
    assert "views [6, 7]" in report["protocol"]["novel_views"] and "held views [6, 7] out" in report["protocol"]["novel_views"]
    # --views all: every view but the input, whatever the run held out; a list: exactly those views
    every = evaluate.run(EvalRun(checkpoint=run, data=renders, out=tmp_path / "all", split="train", views="all",
                                 mesh_resolution=32, limit=1))
    assert every["objects"][0]["novel_views"] == 7
    some = evaluate.run(EvalRun(checkpoint=tiny_run, data=renders, out=tmp_path / "list", split="train", views="3,5",
                                mesh_resolution=32, limit=1))
    assert [v["view"] for v in some["objects"][0]["views"]] == [3, 5]
    # the summary is the mean of exactly those views
    row = some["objects"][0]
    assert row["psnr"] == pytest.approx(np.mean([v["psnr"] for v in row["views"]]))


def test_retrieval_baseline_is_the_nearest_other_training_input(tiny_run, renders, tmp_path):
    import torch.nn.functional as F
    from PIL import Image

    from tk.contracts.renders import decode_rgba
    from tk.train.data import input_image
    from tk.train.config import EvalRun
    from tk.train import evaluate
    from tk.train.evaluate import Retrieval, evaluate_code, load_model, resolve_checkpoint
    from tk.train.shards import RowReader, ShardIndex

    report = evaluate.run(EvalRun(checkpoint=tiny_run, data=renders, out=tmp_path / "r", split="all",
                                  baseline="retrieval", views="6,7", mesh_resolution=32, limit=2))
    model, _ = load_model(resolve_checkpoint(tiny_run))
    index = ShardIndex(str(renders), "train")
    reader = RowReader(index)
    refs = {r.uid: r for r in index.objects}
    size = model.cfg.cond_image_size
    for row in report["objects"]:
        base = row["retrieval"]
        assert base["match_uid"] != row["uid"]  # never the scored object itself
        # the match is the nearest (object, input view) by the stated distance, recomputed here from the shards
        query_ref = refs[row["uid"]]
        pos = next(i for i, v in enumerate(query_ref.views) if v.view == row["input_view"])
        query = input_image(decode_rgba(reader.rgba_bytes(query_ref, query_ref.views[pos])), size)
        best = (np.inf, None)
        for ref in index.objects:
            if ref.uid == row["uid"]:
                continue
            for p in ref.input_views:
                im = input_image(decode_rgba(reader.rgba_bytes(ref, ref.views[p])), size)
                d = float(((F.adaptive_avg_pool2d(im[None], 32) - F.adaptive_avg_pool2d(query[None], 32)) ** 2).mean())
                best = min(best, (d, (ref.uid, ref.views[p].view)), key=lambda t: t[0])
        assert (base["match_uid"], base["match_view"]) == best[1] and base["distance"] == pytest.approx(best[0], rel=1e-4)
        # and its scores are the model's code of that view, rendered from the scored object's cameras
        match_ref = refs[base["match_uid"]]
        mpos = next(i for i, v in enumerate(match_ref.views) if v.view == base["match_view"])
        code = model.encode(input_image(decode_rgba(reader.rgba_bytes(match_ref, match_ref.views[mpos])), size)[None])[0]
        scored = [i for i, v in enumerate(query_ref.views) if v.view in (6, 7)]
        with torch.no_grad():
            direct, _ = evaluate_code(model.renderer, model.decoder, code, query_ref, reader, None, pos, scored,
                                      surface=None)
        assert base["iou"] == pytest.approx(direct["iou"]) and base["psnr"] == pytest.approx(direct["psnr"])
    assert report["baselines"]["retrieval"]["objects"] == 2
    assert report["baselines"]["retrieval"]["iou"] == pytest.approx(np.mean([r["retrieval"]["iou"] for r in report["objects"]]))
    md = (tmp_path / "r" / "report.md").read_text()
    assert "| retrieval baseline |" in md and "nearest" in report["protocol"]["retrieval"]
    assert Image.open(tmp_path / "r" / "grid.png").size == (6 * 64, 2 * 64)  # input, pred, truth, retrieval, pred, truth
    assert Retrieval.SIZE == 32


def test_categories_group_the_report(tiny_run, renders, tmp_path):
    from tk.train.config import EvalRun
    from tk.train import evaluate

    data = tmp_path / "renders"
    shutil.copytree(renders, data)
    objects = pq.read_table(data / "objects.parquet")
    cats = ["Kitchen", "Kitchen", "Office", "Office"]
    pq.write_table(objects.append_column("category", pa.array(cats)), data / "objects.parquet")
    report = evaluate.run(EvalRun(checkpoint=tiny_run, data=data, out=tmp_path / "c", split="train", mesh_resolution=32,
                                  baseline="retrieval"))
    by_uid = dict(zip(objects.column("uid").to_pylist(), cats))
    assert all(r["category"] == by_uid[r["uid"]] for r in report["objects"])
    groups = report["groups"]["category"]
    assert set(groups) == {"Kitchen", "Office"} and groups["Kitchen"]["model"]["objects"] == 2
    kitchen = [r["iou"] for r in report["objects"] if r["category"] == "Kitchen"]
    assert groups["Kitchen"]["model"]["iou"] == pytest.approx(np.mean(kitchen))
    assert "retrieval" in groups["Office"]
    assert "## By category" in (tmp_path / "c" / "report.md").read_text()


@pytest.mark.parametrize("args, message", [
    (["--views", "x,1"], "--views 'x,1': use auto, all, or a comma list"),
    (["--baseline", "nearest"], "--baseline nearest: use white or retrieval"),
    (["--split", "holdout"], "--split holdout: use train, val, test or all"),
    (["--manifest", "/nonexistent"], "--manifest /nonexistent: no manifest.parquet"),
])
def test_eval_options_refuse_bad_values_in_one_line(args, message, tiny_run, renders, tmp_path, capsys):
    code = main(["eval", str(tiny_run), "--data", str(renders), "--out", str(tmp_path / "e"), "--limit", "1",
                 "--mesh-resolution", "16", *args])
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_views_that_leave_no_input_are_refused(tiny_run, renders, tmp_path):
    from tk.train.config import EvalRun
    from tk.train import evaluate

    with pytest.raises(TkError, match="has the views to score"):
        evaluate.run(EvalRun(checkpoint=tiny_run, data=renders, out=tmp_path / "e", split="train",
                             views="0,1,2,3,4,5,6,7", mesh_resolution=16))


def test_density_sweep_scores_each_level_from_the_same_grid(tiny_run, renders, tmp_path):
    """--density-sweep adds each level's surface scores; the level that is also --density-threshold gives exactly the
    reported surface, and a level the density never reaches gives no surface (F-scores 0), counted."""
    from tk.train import evaluate
    from tk.train.config import EvalRun

    job = EvalRun(checkpoint=tiny_run, data=renders, out=tmp_path / "s", split="train", mesh_resolution=24, limit=2,
                  density_threshold=1.0, density_sweep="1e9,1", baseline="retrieval")
    report = evaluate.run(job)
    sweep = report["surface_sweep"]["model"]
    assert list(sweep) == ["1", "1e+09"] and report["density_threshold"] == 1.0
    for key in ("chamfer", "fscore@0.1"):
        assert sweep["1"][key] == pytest.approx(report["summary"][key])
        assert report["surface_sweep"]["retrieval"]["1"][key] == pytest.approx(report["baselines"]["retrieval"][key])
    assert sweep["1"]["meshes_compared"] == report["summary"]["meshes_compared"] == 2
    assert sweep["1e+09"]["meshes_compared"] == 0 and sweep["1e+09"]["fscore@0.1"] == 0.0
    assert sweep["1e+09"]["chamfer"] is None
    assert "density 1 (--density-threshold; official 25)" in report["protocol"]["mesh"]
    # without --density-threshold: the level chosen for the checkpoint (its surface.json), else the official 25
    from tk.model.config import write_surface_level
    from tk.train.evaluate import resolve_checkpoint

    write_surface_level(resolve_checkpoint(tiny_run), 1.0, "test")
    try:
        own = evaluate.run(EvalRun(checkpoint=tiny_run, data=renders, out=tmp_path / "own", split="train",
                                   mesh_resolution=24, limit=2))
    finally:
        (resolve_checkpoint(tiny_run) / "surface.json").unlink()
    assert own["density_threshold"] == 1.0 and own["density_threshold_from"] == "surface.json (test)"
    assert own["summary"]["fscore@0.1"] == pytest.approx(report["summary"]["fscore@0.1"])
    assert "## Surface by density level: model" in (tmp_path / "s" / "report.md").read_text()
