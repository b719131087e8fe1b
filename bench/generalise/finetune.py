"""bench.generalise's fine-tuning experiment (issue 23, deliverable 5): does a collection model fine-tuned on a small
set of a new kind of object beat the same preset trained from scratch on that set?

One whole category (`--finetune-category`, e.g. Characters: 37 objects) is held out of the collection model: the base
run trains on the release's training split without it. The category's kept objects, in hash order, are cut in two:
the first `--finetune-part` are "your own small set" (every split: the base never saw any of them), the rest are
scored. From that set: `tk train --init BASE` (the fine-tune defaults: lr, warmup and grad clip of
configs/train/finetune.yaml) and the same preset from scratch, the same number of steps; `tk eval --split all` of
both on the scored objects, beside the retrieval baseline over the set. Each subset is a renders folder of its own
(`subset_renders`: the same shard rows, nothing re-rendered), as a user's own renders would be.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from tk.contracts import renders as contract
from tk.train.shards import first_by_hash


def category_uids(manifest: Path, category: str) -> list[str]:
    """The kept objects of one category (manifest.parquet's `category` column), sorted by uid."""
    import duckdb

    rows = duckdb.execute("select uid from read_parquet(?) where status = 'keep' and category = ? order by uid",
                          [str(manifest / "manifest.parquet"), category]).fetchall()
    if not rows:
        raise SystemExit(f"bench.generalise: no kept objects of category {category!r} in {manifest}")
    return [r[0] for r in rows]


def split_part(uids: list[str], part: int) -> tuple[list[str], list[str]]:
    """(the small set, the scored rest): the first `part` of `uids` in tk's hash order (`first_by_hash`)."""
    chosen = first_by_hash(uids, part)
    return sorted(chosen), sorted(u for u in uids if u not in chosen)


def subset_renders(src: Path, dest: Path, uids: set[str], splits: tuple[str, ...] | None = None) -> Path:
    """A renders folder holding only the objects `uids` (and, with `splits`, only rows of those splits): the same
    shard rows and settings, written through the renders contract. Kept when it holds the same objects already."""
    stamp = dest / "subset.txt"
    want = "\n".join(sorted(uids)) + f"\nsplits: {splits}\n"
    if stamp.is_file() and stamp.read_text() == want:
        return dest
    shutil.rmtree(dest, ignore_errors=True)
    contract.shards_dir(dest).mkdir(parents=True)
    shard_of: dict[str, str] = {}  # the objects table names each object's shard: the new folder's names
    index = 0
    for path in contract.shard_paths(src):
        rows = [r for r in contract.read_shard(path).to_pylist()
                if r["uid"] in uids and (splits is None or r["split"] in splits)]
        if not rows:
            continue
        record = contract.read_record(path)
        names = {r["uid"] for r in rows}
        if record is not None:
            record = {**record, "objects": [o for o in record.get("objects", []) if o["uid"] in names]}
        contract.write_shard(contract.shards_dir(dest) / contract.shard_name(index), rows, record)
        shard_of |= {uid: contract.shard_name(index) for uid in names}
        index += 1
    if not shard_of:
        raise SystemExit(f"bench.generalise: no views of the {len(uids)} chosen objects in {src}"
                         + (f" (splits {', '.join(splits)})" if splits else ""))
    objects = [r for r in contract.read_objects(src).to_pylist() if r["uid"] in shard_of]
    contract.write_objects(dest, [{**r, "shard": shard_of[r["uid"]]} for r in objects])
    shutil.copyfile(contract.render_json_path(src), contract.render_json_path(dest))
    stamp.write_text(want)
    return dest


def plan(renders: Path, manifest: Path, category: str, part: int, work: Path) -> dict[str, Any]:
    """The three renders folders of the experiment: base (training split without the category), the small set,
    the scored rest of the category."""
    from tk.train.shards import ShardIndex

    members = category_uids(manifest, category)
    small, scored = split_part(members, part)
    train = {o.uid for o in ShardIndex(str(renders), "train").objects}
    return {
        "category": category, "members": len(members), "small": small, "scored": scored,
        "base": subset_renders(renders, work / "base", train - set(members), splits=("train",)),
        "set": subset_renders(renders, work / "set", set(small)),
        "eval": subset_renders(renders, work / "scored", set(scored)),
    }


def run_experiment(out: Path, renders: Path, config: str, category: str, part: int, steps: int,
                   timings: Any) -> dict[str, Any]:
    """Train the base (every step of the preset), the fine-tuned and the from-scratch run (`steps` each), and score
    the base, both runs and the retrieval baseline on the category's scored objects."""
    from bench.generalise.stages import evaluate, run_config, train_run
    from tk.train import checkpoint

    manifest = renders.parent / "manifest"
    p = plan(renders, manifest, category, part, out / "finetune" / "data")
    tag = category.lower().replace(" ", "-")
    base = train_run(out, f"ft-{tag}-base", run_config(config, 0, None, None), p["base"], timings)
    small = run_config(config, 0, None, steps, split="all")
    tuned = train_run(out, f"ft-{tag}-tuned", run_config(config, 0, None, steps, split="all", finetune=True),
                      p["set"], timings, init=checkpoint.latest(base))
    scratch = train_run(out, f"ft-{tag}-scratch", small, p["set"], timings)
    rows = {}
    for name, run in (("base", base), ("fine-tuned", tuned), ("from scratch", scratch)):
        report = evaluate(out, run, f"ft-{tag}-{name.replace(' ', '-')}", p["eval"], "all", timings,
                          manifest=manifest)
        rows[name] = {"summary": report["summary"], "retrieval": report["baselines"]["retrieval"]}
    return {"category": category, "members": p["members"], "set": len(p["small"]), "scored": len(p["scored"]),
            "steps": steps, "base_steps": run_config(config, 0, None, None)["train"]["max_steps"], "rows": rows}


def markdown(ft: dict[str, Any]) -> str:
    """The fine-tuning table: the base, fine-tuned and from-scratch models on the held-out category's scored objects,
    each beside the retrieval baseline over its own training objects; the verdict the issue asks for."""
    keys = (("iou", "mask IoU", 3), ("fscore@0.1", "F@0.1", 3), ("chamfer", "Chamfer", 3), ("psnr", "PSNR", 2))
    lines = [f"Category **{ft['category']}** ({ft['members']} objects) held out of the collection model; "
             f"{ft['set']} of them are the small set, {ft['scored']} are scored (views 12-15, input among 0-11). "
             f"Base: the preset on the rest of the training split ({ft['base_steps']} steps); fine-tuned "
             f"(`tk train --init`, fine-tune lr/warmup/clip) and from scratch: {ft['steps']} steps on the small set.",
             "", "| model | " + " | ".join(label for _, label, _ in keys) + " | retrieval IoU | retrieval F@0.1 |",
             "|" + " --- |" * (len(keys) + 3)]
    for name, row in ft["rows"].items():
        s, r = row["summary"], row["retrieval"]
        cells = [f"{s[k]:.{d}f}" for k, _, d in keys]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {r['iou']:.3f} | {r['fscore@0.1']:.3f} |")
    tuned, scratch = ft["rows"]["fine-tuned"]["summary"], ft["rows"]["from scratch"]["summary"]
    wins = tuned["iou"] > scratch["iou"] and tuned["fscore@0.1"] > scratch["fscore@0.1"]
    lines += ["", f"Fine-tuned beats from scratch on IoU and F@0.1: {'**yes**' if wins else '**no**'} "
                  f"(IoU {tuned['iou']:.3f} vs {scratch['iou']:.3f}, F@0.1 {tuned['fscore@0.1']:.3f} vs "
                  f"{scratch['fscore@0.1']:.3f})."]
    return "\n".join(lines) + "\n"
