"""bench/generalise: does a model trained with tk reconstruct objects it never saw? The whole path on a real collection.

    python -m bench.generalise --out OUT [--config generalise] [--seeds 0,1,2] [--sizes 100,300,all]
                               [--max-steps N] [--test] [--docs docs/train.md] [--ship models/sweethome3d-cpu]
    python -m bench.generalise --out OUT --finetune-category Characters [--finetune-part 20] [--finetune-steps 2000]

1. `tk fetch sweethome3d --out OUT/collection`: Debian's sweethome3d-furniture (820 textured OBJ models).
2. `tk release build manifests/sweethome3d-release.yaml --source-root OUT --out OUT/release`: curate (cc-by
   policy, split 80/10/10 by object), render (16 views at 64², one lighting draw per object), verify, attribute.
3. `tk train --config generalise` on the release's train split (views 12-15 held out of training), once per seed
   and training-set size (`data.max_objects`; 100 lie inside 300). The seed-0 run on every object is OUT/run.
4. `tk eval --baseline retrieval` of each run on the validation split (every choice is made there) and, with
   `--test`, on the test split (report once), plus the seed-0 run on held-out views of its training objects
   (the generalisation gap), all on views 12-15 from an input among views 0-11.
Writes OUT/generalise.json, OUT/generalise.md, OUT/unseen.png (input | prediction | truth, test objects of several
categories) and OUT/curve.png (scores against training objects), and with `--docs FILE` replaces the block between
`<!-- bench.generalise:begin -->` and `<!-- bench.generalise:end -->` in FILE with the table.

With `--finetune-category`, the fine-tuning experiment instead (bench/generalise/finetune.py): the category held
out of a base model, `tk train --init BASE` against the same preset from scratch on part of it, both scored on the
rest; OUT/finetune.json, OUT/finetune.md and the `bench.generalise.finetune` block of `--docs`.

Every stage is cached and resumable: the collection and release are reused, `tk train --resume` continues a run, and
an eval is redone only when its checkpoint's bytes, its command or the code changed. A run folder records the sha256
of its resolved config, of the release's SHA256SUMS and of the training code (bench/keys.py), and a rerun with another
config, other renders or changed code is refused instead of reusing or resuming it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from bench.generalise.stages import (GAP_OBJECTS, SWEEP_ARG, Timings, chosen_level, evaluate, release, run_config,
                                     train_run)


def main() -> None:
    """Run the stages and write the table, the figures and (with --docs) the docs block."""
    from bench.generalise.report import curve_figure, markdown, replace_block, unseen_figure

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="bench-out/generalise")
    p.add_argument("--config", default="generalise", help="training preset or YAML file")
    p.add_argument("--seeds", default="0", help="comma list of training seeds (the reported row: 0,1,2)")
    p.add_argument("--sizes", default="all", help="comma list of training-set sizes, e.g. 100,300,all")
    p.add_argument("--max-steps", type=int, default=None, help="override the preset's train.max_steps")
    p.add_argument("--test", action="store_true", help="also score the test split (do this once, for the report)")
    p.add_argument("--docs", default=None, help="write the table into this markdown file's bench.generalise block")
    p.add_argument("--ship", default=None, help="copy the seed-0 model with its card into this folder "
                                                "(models/sweethome3d-cpu)")
    p.add_argument("--finetune-category", default=None,
                   help="run the fine-tuning experiment instead: hold this category out of the collection model "
                        "(e.g. Characters), fine-tune on part of it and train from scratch on the same part")
    p.add_argument("--finetune-part", type=int, default=20, help="objects of the category in the small set")
    p.add_argument("--finetune-steps", type=int, default=2000, help="steps of the fine-tuned and from-scratch runs")
    args = p.parse_args()
    out = Path(args.out).resolve()
    timings = Timings(out / "timings.json")
    renders = release(out, timings)
    if args.finetune_category:
        return finetune(args, out, renders, timings)
    seeds = [int(s) for s in args.seeds.split(",")]
    sizes = [None if s == "all" else int(s) for s in args.sizes.split(",")]
    results: dict[str, Any] = {"config": args.config, "runs": {}}
    for size in sizes:
        for seed in seeds if size is None else seeds[:1]:  # the size curve: one seed per size
            tag = f"seed{seed}-{'all' if size is None else size}"
            raw = run_config(args.config, seed, size, args.max_steps)
            run = train_run(out, tag, raw, renders, timings)
            val = evaluate(out, run, tag, renders, "val", timings, surface=("--density-sweep", SWEEP_ARG))
            level = chosen_level(val)  # chosen on validation objects; test is scored at it once
            at = ("--density-threshold", f"{level:g}")
            sweep = val["surface_sweep"]
            # the image scores do not depend on the level: the val rows are the summaries with the chosen level's
            # surface scores
            key = f"{level:g}"
            entry: dict[str, Any] = {"seed": seed, "size": size, "run": str(run), "steps": raw["train"]["max_steps"],
                                     "density_threshold": level, "val_sweep": sweep,
                                     "val": {**val["summary"], **sweep["model"][key]},
                                     "val_retrieval": {**val["baselines"]["retrieval"], **sweep["retrieval"][key]}}
            if args.test:
                test = evaluate(out, run, tag, renders, "test", timings, surface=at)
                entry.update(test=test["summary"], test_retrieval=test["baselines"]["retrieval"],
                             test_groups=test["groups"].get("category", {}))
            if tag == "seed0-all":
                gap = evaluate(out, run, tag, renders, "train", timings, baseline="white", limit=GAP_OBJECTS,
                               surface=at)
                entry["train_views"] = gap["summary"]
            results["runs"][tag] = entry
    from tk.train.shards import ShardIndex

    results["train_objects"] = len(ShardIndex(str(renders), "train").objects)
    results["timings"] = timings.values
    results["collection"] = json.loads((out / "collection" / "collection.json").read_text())
    results["release"] = json.loads((out / "release" / "RELEASE.json").read_text())
    (out / "generalise.json").write_text(json.dumps(results, indent=1, default=float) + "\n")
    if args.test and "seed0-all" in results["runs"]:
        unseen_figure(out / "run", renders, out / "eval" / "seed0-all-test" / "report.json", out / "unseen.png")
    if len(sizes) > 1:
        curve_figure(results, out / "curve.png", "test" if args.test else "val")
    table = markdown(results, args.test)
    (out / "generalise.md").write_text(table)
    print(table)
    if args.docs:
        replace_block(Path(args.docs), table)
    if args.ship:
        from bench.generalise.ship import ship

        ship(out / "run", out / "release", results, Path(args.ship))


def finetune(args: argparse.Namespace, out: Path, renders: Path, timings: Timings) -> None:
    """The fine-tuning experiment (bench/generalise/finetune.py): OUT/finetune.json, OUT/finetune.md, the docs block."""
    from bench.generalise.finetune import markdown, run_experiment
    from bench.generalise.report import FT_BEGIN, FT_END, replace_block

    ft = run_experiment(out, renders, args.config, args.finetune_category, args.finetune_part, args.finetune_steps,
                        timings)
    ft["timings"] = timings.values
    (out / "finetune.json").write_text(json.dumps(ft, indent=1, default=float) + "\n")
    table = markdown(ft)
    (out / "finetune.md").write_text(table)
    print(table)
    if args.docs:
        replace_block(Path(args.docs), table, FT_BEGIN, FT_END)


if __name__ == "__main__":
    main()
