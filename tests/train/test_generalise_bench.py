"""bench/generalise's own logic: training subsets (data.max_objects), the targets it checks, the docs block it writes,
and the key that keeps a run folder from being reused with another config or other renders
(tests/train/test_bench_keys.py: or other code)."""

from __future__ import annotations

import json

import pytest

from tk.errors import TkError


def _summary(iou: float, f: float, psnr: float, white: float = 20.0, n: int = 86) -> dict:
    return {"iou": iou, "fscore@0.1": f, "chamfer": 0.1, "psnr": psnr, "white_psnr": white, "objects": n}


def test_first_objects_are_nested_and_keep_shard_order(renders):
    from tk.train.shards import ShardIndex, first_by_hash

    uids = [f"u{i:03d}" for i in range(50)]
    ten, twenty = first_by_hash(uids, 10), first_by_hash(uids, 20)
    assert len(ten) == 10 and len(twenty) == 20 and ten <= twenty
    assert ten != set(uids[:10])  # a hash choice, not the first ten
    assert len(first_by_hash(uids, 500)) == 50
    every = [o.uid for o in ShardIndex(str(renders), "train").objects]
    two = [o.uid for o in ShardIndex(str(renders), "train", max_objects=2).objects]
    assert two == [u for u in every if u in first_by_hash(every, 2)]  # shard order kept, not hash order


def test_max_objects_is_checked():
    from tk.train.config import load_config, with_overrides

    assert with_overrides(load_config("generalise"), data={"max_objects": 100}).data.max_objects == 100
    with pytest.raises(TkError, match="data.max_objects must be an integer >= 1"):
        with_overrides(load_config("generalise"), data={"max_objects": 0})


def test_markdown_checks_targets_against_retrieval():
    from bench.generalise.report import markdown

    runs = {f"seed{s}-all": {"seed": s, "size": None, "steps": 100,
                             "test": _summary(0.80 + 0.01 * s, 0.70, 26.0), "test_retrieval": _summary(0.74, 0.60, 23.0),
                             "val": _summary(0.8, 0.7, 26.0), "val_retrieval": _summary(0.7, 0.6, 23.0)}
            for s in (0, 1, 2)}
    runs["seed0-all"]["train_views"] = _summary(0.9, 0.8, 28.0)
    text = markdown({"config": "generalise", "runs": runs, "timings": {"train:seed0-all": 600.0}}, test=True)
    assert "| test objects (never trained on): model | 86 | 0.810 ± 0.010 |" in text
    # IoU 0.81 >= 0.75 and >= 0.74 + 0.05; F 0.70 >= 0.65 but not >= 0.60 + 0.05 + ... (0.65: met); PSNR +6 dB
    assert "IoU 0.810 ≥ 0.75: met" in text and "PSNR − white 6.00 ≥ 5.0 dB: met" in text
    assert "F@0.1 ≥ retrieval + 0.05 (0.650): met" in text
    runs["seed1-all"]["test_retrieval"] = _summary(0.79, 0.6, 23.0)
    text = markdown({"config": "generalise", "runs": runs}, test=True)
    assert "IoU ≥ retrieval + 0.05 (0.807): met" in text  # mean retrieval (0.74+0.79+0.74)/3 = 0.7567
    runs["seed0-all"]["test_retrieval"] = runs["seed2-all"]["test_retrieval"] = _summary(0.79, 0.6, 23.0)
    assert "IoU ≥ retrieval + 0.05 (0.840): **missed**" in markdown({"config": "g", "runs": runs}, test=True)
    assert "training objects, views never trained on (seed 0)" in text


def test_density_level_is_chosen_on_validation_and_stated():
    from bench.generalise.report import markdown
    from bench.generalise.stages import chosen_level

    def level(f: float | None) -> dict:
        return {"fscore@0.1": f, "chamfer": 0.1, "meshes_compared": 1, "objects": 2}

    val = {"surface_sweep": {"model": {"1": level(0.2), "5": level(0.4), "25": level(None)}}}
    assert chosen_level(val) == 5.0
    val["surface_sweep"]["model"]["25"] = level(0.4)  # a tie goes to the higher (closer to the official) level
    assert chosen_level(val) == 25.0
    runs = {"seed0-all": {"seed": 0, "size": None, "steps": 10, "density_threshold": 5.0,
                          "val": _summary(0.5, 0.4, 20.0), "val_retrieval": _summary(0.5, 0.3, 20.0)}}
    assert "validation split (tk eval --density-sweep), then test once at it: seed0-all 5." in \
        markdown({"config": "g", "runs": runs}, test=False)
    del runs["seed0-all"]["density_threshold"]
    assert "Surfaces at the official density level 25." in markdown({"config": "g", "runs": runs}, test=False)


def test_an_f_score_of_zero_is_printed_as_zero_not_missing():
    """Objects with no predicted surface score F = 0: the tables must say 0.000, not nan (a missing value)."""
    from bench.generalise.report import markdown

    group = {"model": _summary(0.5, 0.0, 20.0, n=2), "retrieval": _summary(0.4, 0.0, 20.0, n=2)}
    runs = {"seed0-all": {"seed": 0, "size": None, "steps": 10, "test": _summary(0.5, 0.0, 20.0),
                          "test_retrieval": _summary(0.4, 0.0, 20.0), "test_groups": {"Office": group}},
            "seed0-100": {"seed": 0, "size": 100, "steps": 10, "test": _summary(0.5, 0.0, 20.0),
                          "test_retrieval": _summary(0.4, 0.0, 20.0)}}
    text = markdown({"config": "g", "runs": runs}, test=True)
    assert "| Office | 2 | 0.500 | 0.400 | 0.000 | 0.000 |" in text
    assert "| 100 | 0.500 | 0.400 | 0.000 | 0.000 |" in text and "nan" not in text


def test_replace_block(tmp_path):
    from bench.generalise.report import BEGIN, END, replace_block

    doc = tmp_path / "train.md"
    doc.write_text(f"# t\n\nbefore\n{BEGIN}\nold table\n{END}\nafter\n")
    replace_block(doc, "| new |\n")
    assert doc.read_text() == f"# t\n\nbefore\n{BEGIN}\n| new |\n{END}\nafter\n"
    (tmp_path / "none.md").write_text("no markers")
    with pytest.raises(SystemExit, match="no <!-- bench.generalise:begin -->"):
        replace_block(tmp_path / "none.md", "x")


def test_run_key_changes_with_config_and_renders(tmp_path):
    from bench.generalise.stages import key_of, run_config

    release = tmp_path / "release"
    (release / "renders").mkdir(parents=True)
    (release / "SHA256SUMS").write_text("aaa  renders/shards/shard-00000.parquet\n")
    raw = run_config("generalise", 0, None, None)
    base = key_of(raw, release / "renders")
    assert key_of(run_config("generalise", 1, None, None), release / "renders") != base
    assert key_of(run_config("generalise", 0, 100, None), release / "renders") != base
    (release / "SHA256SUMS").write_text("bbb  renders/shards/shard-00000.parquet\n")
    assert key_of(raw, release / "renders") != base
    assert raw["data"]["exclude_views"] == [12, 13, 14, 15] and raw["train"]["seed"] == 0


def test_training_uses_only_max_objects(tmp_path, renders):
    """data.max_objects: the run's inputs come from that many objects (framing.json counts the input candidates)."""
    from train_fixtures import write_config

    from tk.train import loop

    from tk.train.config import TrainRun
    from tk.train.shards import ShardIndex

    index = ShardIndex(str(renders), "train")
    per_object = {len(o.input_views) for o in index.objects}
    assert len(per_object) == 1 and len(index.objects) == 4
    cfg = write_config(tmp_path / "two.yaml", data={"max_objects": 2},
                       train={"max_steps": 1, "log_every": 1, "checkpoint_every": 1})
    loop.run(TrainRun(config=cfg, data=renders, out=tmp_path / "run"))
    framing = json.loads((tmp_path / "run" / "framing.json").read_text())
    assert framing["candidates"] == 2 * per_object.pop()


def test_subset_renders_holds_only_the_chosen_objects_unchanged(tmp_path, renders):
    """The fine-tuning experiment's folders: the same rows of the chosen objects, readable by training and eval."""
    from bench.generalise.finetune import split_part, subset_renders
    from tk.contracts import renders as contract
    from tk.train.shards import ShardIndex

    every = sorted(o.uid for o in ShardIndex(str(renders), "all").objects)
    small, scored = split_part(every, 3)
    assert len(small) == 3 and len(scored) == 1 and not set(small) & set(scored)
    assert split_part(every, 2)[0] == sorted(set(small) & set(split_part(every, 2)[0]))  # nested, as max_objects
    dest = subset_renders(renders, tmp_path / "set", set(small))
    assert sorted(o.uid for o in ShardIndex(str(dest), "all").objects) == small
    rows = {(r["uid"], r["view"]): r for r in contract.read_views(dest)}
    want = {(r["uid"], r["view"]): r for r in contract.read_views(renders) if r["uid"] in small}
    assert rows == want  # the rows themselves, bytes and cameras, not re-rendered
    objects = contract.read_objects(dest).to_pylist()
    assert [o["uid"] for o in objects] == small
    assert {o["shard"] for o in objects} == {p.name for p in contract.shard_paths(dest)}
    assert contract.render_json_path(dest).read_bytes() == contract.render_json_path(renders).read_bytes()
    assert subset_renders(renders, tmp_path / "set", set(small)) == dest  # the same objects: kept as is
    assert subset_renders(renders, tmp_path / "train", set(small), splits=("train",)) == tmp_path / "train"
    with pytest.raises(SystemExit, match="no views of the 3 chosen objects .* \\(splits val\\)"):
        subset_renders(renders, tmp_path / "none", set(small), splits=("val",))


def test_finetune_runs_take_the_finetune_optimiser_and_every_split():
    from bench.generalise.stages import run_config
    from tk.train.config import load_config

    raw = run_config("generalise", 0, None, 2000, split="all", finetune=True)
    tuned = load_config("finetune").optim
    assert (raw["optim"]["lr"], raw["optim"]["warmup_steps"], raw["optim"]["grad_clip"]) == (
        tuned.lr, tuned.warmup_steps, tuned.grad_clip)
    assert raw["data"]["split"] == "all" and raw["train"]["max_steps"] == 2000
    scratch = run_config("generalise", 0, None, 2000, split="all")
    assert scratch["optim"]["lr"] == load_config("generalise").optim.lr
    assert {k: v for k, v in raw.items() if k != "optim"} == {k: v for k, v in scratch.items() if k != "optim"}


def test_finetune_table_says_whether_fine_tuning_won():
    from bench.generalise.finetune import markdown

    def row(iou, f):
        return {"summary": {"iou": iou, "fscore@0.1": f, "chamfer": 0.1, "psnr": 20.0},
                "retrieval": {"iou": 0.4, "fscore@0.1": 0.1}}

    ft = {"category": "Characters", "members": 37, "set": 20, "scored": 17, "steps": 2000, "base_steps": 10000,
          "rows": {"base": row(0.3, 0.1), "fine-tuned": row(0.6, 0.3), "from scratch": row(0.5, 0.2)}}
    text = markdown(ft)
    assert "| fine-tuned | 0.600 | 0.300 | 0.100 | 20.00 | 0.400 | 0.100 |" in text
    assert "on IoU and F@0.1: **yes** (IoU 0.600 vs 0.500" in text
    ft["rows"]["from scratch"] = row(0.5, 0.35)  # better F: fine-tuning must win on both
    assert "**no**" in markdown(ft)


def test_ship_records_the_level_chosen_on_validation(tmp_path, tiny_run):
    """The shipped model carries the density level its run chose on val (surface.json), which tk infer then uses."""
    from bench.generalise.ship import ship
    from tk.model.config import read_surface_level

    release = tmp_path / "release"
    release.mkdir()
    (release / "RELEASE.json").write_text(json.dumps({"name": "tk-sweethome3d", "version": "0.1.0"}))
    (release / "SHA256SUMS").write_text("0" * 64 + "  renders/objects.parquet\n")
    test = _summary(0.5, 0.6, 20.0)
    entry = {"steps": 40, "density_threshold": 10.0, "test": test, "test_retrieval": _summary(0.5, 0.5, 20.0)}
    dest = tmp_path / "model"
    ship(tiny_run, release, {"runs": {"seed0-all": entry}}, dest)
    level, source = read_surface_level(dest)
    assert level == 10.0 and "validation split" in source
    card = (dest / "README.md").read_text()
    assert "the level chosen on the validation split (10)" in card and "| this model | 0.500 | 0.600 |" in card
    del entry["density_threshold"]
    ship(tiny_run, release, {"runs": {"seed0-all": entry}}, dest)  # re-shipped without a choice: the official level
    assert read_surface_level(dest)[0] == 25.0 and "official isosurface level 25" in (dest / "README.md").read_text()
