"""bench/generalise's outputs: the markdown table (with the issue's targets checked), the picture of unseen test
objects (input | prediction | truth) and the curve of scores against the number of training objects."""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path
from typing import Any

KEYS = ("iou", "fscore@0.1", "chamfer", "psnr", "white_psnr")
BEGIN, END = "<!-- bench.generalise:begin -->", "<!-- bench.generalise:end -->"
FT_BEGIN, FT_END = "<!-- bench.generalise.finetune:begin -->", "<!-- bench.generalise.finetune:end -->"
# the targets on the test split (docs/train.md states where they come from)
TARGET_IOU, TARGET_F, MARGIN, TARGET_DB = 0.75, 0.65, 0.05, 5.0


def _stat(values: list[float]) -> tuple[float, float]:
    values = [v for v in values if v is not None and not math.isnan(v)]
    if not values:
        return math.nan, math.nan
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def _cell(values: list[float], digits: int) -> str:
    mean, sd = _stat(values)
    if math.isnan(mean):
        return "n/a"
    return f"{mean:.{digits}f}" + (f" ± {sd:.{digits}f}" if len(values) > 1 else "")


def _row(label: str, summaries: list[dict[str, Any]]) -> str:
    cells = [_cell([s.get(k) for s in summaries], 2 if "psnr" in k else 3) for k in KEYS]
    gain = _cell([s["psnr"] - s["white_psnr"] for s in summaries if s.get("psnr") is not None], 2)
    return f"| {label} | {summaries[0].get('objects', '')} | " + " | ".join(cells) + f" | {gain} |"


def markdown(results: dict[str, Any], test: bool) -> str:
    """The tables docs/train.md keeps for the unseen-object benchmark."""
    runs = results["runs"]
    full = [r for r in runs.values() if r["size"] is None]
    seeds = ",".join(str(r["seed"]) for r in full)
    head = "| rows | objects | mask IoU | F@0.1 | Chamfer | PSNR | all-white PSNR | PSNR − white |"
    lines = [f"`--config {results['config']}`, {full[0]['steps'] if full else '?'} steps, seeds {seeds} "
             f"(mean ± sd over seeds); views 12-15 of each object scored from an input among views 0-11." + _levels(runs),
             "", head, "|" + " --- |" * 8]
    splits = (("test", "test objects (never trained on)"), ("val", "validation objects")) if test else \
        (("val", "validation objects"),)
    for split, label in splits:
        if full and split in full[0]:
            lines.append(_row(f"{label}: model", [r[split] for r in full]))
            lines.append(_row(f"{label}: retrieval baseline", [r[f"{split}_retrieval"] for r in full]))
    gap = [r["train_views"] for r in full if "train_views" in r]
    if gap:
        lines.append(_row("training objects, views never trained on (seed 0)", gap))
    if test and full and "test" in full[0]:
        lines += ["", _targets(full)]
        groups = full[0].get("test_groups", {})
        if groups:
            lines += ["", "Per category (test split, seed 0): model against retrieval.", "",
                      "| category | objects | model IoU | retrieval IoU | model F@0.1 | retrieval F@0.1 | model PSNR − white |",
                      "|" + " --- |" * 7]
            for name, g in sorted(groups.items(), key=lambda kv: -kv[1]["model"]["objects"]):
                m, r = g["model"], g.get("retrieval", {})
                lines.append(f"| {name} | {m['objects']} | {m['iou']:.3f} | {r.get('iou', math.nan):.3f} | "
                             f"{_num(m.get('fscore@0.1')):.3f} | {_num(r.get('fscore@0.1')):.3f} | "
                             f"{m['psnr'] - m['white_psnr']:.2f} |")
    sized = sorted((r for r in runs.values() if r["seed"] == (full[0]["seed"] if full else 0)),
                   key=lambda r: r["size"] or 10**9)
    if len(sized) > 1:
        split = "test" if test else "val"
        lines += ["", f"More data, better model? ({split} split, one seed per size)", "",
                  "| training objects | model IoU | retrieval IoU | model F@0.1 | retrieval F@0.1 | PSNR − white |",
                  "|" + " --- |" * 6]
        for r in sized:
            m, b = r[split], r[f"{split}_retrieval"]
            lines.append(f"| {r['size'] or results.get('train_objects', 'all')} | {m['iou']:.3f} | {b['iou']:.3f} | "
                         f"{_num(m.get('fscore@0.1')):.3f} | {_num(b.get('fscore@0.1')):.3f} | "
                         f"{m['psnr'] - m['white_psnr']:.2f} |")
    t = results.get("timings", {})
    stages = ", ".join(f"{k} {v / 60:.1f} min" for k, v in t.items())
    lines += ["", f"Stage times (2-core VM, when each stage last ran): {stages}.", ""]
    return "\n".join(lines)


def _num(value: float | None) -> float:
    """A metric for a table cell: NaN only when it is missing (None), so that a real 0 prints as 0."""
    return math.nan if value is None else value


def _levels(runs: dict[str, Any]) -> str:
    """The sentence on the density level each run's surface (Chamfer, F-score) was extracted at."""
    chosen = {tag: r["density_threshold"] for tag, r in runs.items() if "density_threshold" in r}
    if not chosen:
        return " Surfaces at the official density level 25."
    return (" Surfaces (Chamfer, F@0.1) at the density level each run scored best at by F@0.1 on the validation split "
            "(tk eval --density-sweep), then test once at it: " + ", ".join(f"{t} {v:g}" for t, v in chosen.items())
            + ".")


def _targets(full: list[dict[str, Any]]) -> str:
    iou = _stat([r["test"]["iou"] for r in full])[0]
    f = _stat([r["test"]["fscore@0.1"] for r in full])[0]
    r_iou = _stat([r["test_retrieval"]["iou"] for r in full])[0]
    r_f = _stat([r["test_retrieval"]["fscore@0.1"] for r in full])[0]
    gain = _stat([r["test"]["psnr"] - r["test"]["white_psnr"] for r in full])[0]
    checks = [(f"IoU {iou:.3f} ≥ {TARGET_IOU}", iou >= TARGET_IOU),
              (f"F@0.1 {f:.3f} ≥ {TARGET_F}", f >= TARGET_F),
              (f"IoU ≥ retrieval + {MARGIN} ({r_iou + MARGIN:.3f})", iou >= r_iou + MARGIN),
              (f"F@0.1 ≥ retrieval + {MARGIN} ({r_f + MARGIN:.3f})", f >= r_f + MARGIN),
              (f"PSNR − white {gain:.2f} ≥ {TARGET_DB} dB", gain >= TARGET_DB)]
    return "Targets (test split): " + "; ".join(f"{text}: {'met' if ok else '**missed**'}" for text, ok in checks) + "."


def replace_block(doc: Path, table: str, begin: str = BEGIN, end: str = END) -> None:
    """Put `table` between the markers `begin` and `end` of `doc` (which must have them): bench.generalise's by
    default, FT_BEGIN/FT_END for the fine-tuning table."""
    text = doc.read_text()
    if begin not in text or end not in text:
        raise SystemExit(f"{doc}: no {begin} ... {end} block to write the table into")
    head, rest = text.split(begin, 1)
    doc.write_text(head + begin + "\n" + table.rstrip() + "\n" + end + rest.split(end, 1)[1])


def unseen_figure(run: Path, renders: Path, report_path: Path, dest: Path, per_category: int = 1,
                  max_rows: int = 8) -> None:
    """Input | prediction | truth on two scored views, for the median-IoU test object of each of the largest
    categories (median, so the picture is neither the best nor the worst case)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from tk.train.evaluate import evaluate_object, load_model, resolve_checkpoint
    from tk.train.shards import RowReader, ShardIndex

    report = json.loads(report_path.read_text())
    by_cat: dict[str, list[dict[str, Any]]] = {}
    for r in report["objects"]:
        by_cat.setdefault(r.get("category") or "?", []).append(r)
    chosen = []
    for cat, rows in sorted(by_cat.items(), key=lambda kv: -len(kv[1]))[:max_rows]:
        rows = sorted(rows, key=lambda r: r["iou"])
        chosen.append((cat, rows[len(rows) // 2]))
    model, _ = load_model(resolve_checkpoint(run))
    index = ShardIndex(str(renders), report["split"])
    reader = RowReader(index)
    refs = {ref.uid: ref for ref in index.objects}
    views = report["objects"][0]["views"]
    scored = [v["view"] for v in views]
    fig, axes = plt.subplots(len(chosen), 5, figsize=(7.5, 1.6 * len(chosen)), squeeze=False)
    for i, (cat, row) in enumerate(chosen):
        _, pics = evaluate_object(model, refs[row["uid"]], reader, None, None, views=scored)
        titles = ["input", f"prediction (view {scored[0]})", "truth", f"prediction (view {scored[1]})", "truth"]
        for j, (pic, title) in enumerate(zip(pics[:5], titles)):
            ax = axes[i, j]
            ax.imshow(pic.clip(0, 1), interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(title, fontsize=7)
        axes[i, 0].set_ylabel(f"{cat}\nIoU {row['iou']:.2f}", fontsize=7)
    fig.suptitle(f"Unseen {report['split']} objects (median IoU of each category)", fontsize=9)
    fig.tight_layout()
    dest.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(dest, dpi=150)
    plt.close(fig)


def curve_figure(results: dict[str, Any], dest: Path, split: str) -> None:
    """Model and retrieval IoU / F@0.1 on `split` against the number of training objects."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = sorted((r for r in results["runs"].values() if r["seed"] == 0), key=lambda r: r["size"] or 10**9)
    xs = [r["size"] or results.get("train_objects", 0) for r in runs]
    fig, axes = plt.subplots(1, 2, figsize=(8, 3))
    for ax, key, name in ((axes[0], "iou", "mask IoU"), (axes[1], "fscore@0.1", "F-score@0.1")):
        ax.plot(xs, [r[split][key] for r in runs], "o-", label="model")
        ax.plot(xs, [r[f"{split}_retrieval"][key] for r in runs], "s--", label="retrieval baseline")
        ax.set_xscale("log")
        ax.set_xticks(xs, [str(x) for x in xs])  # the sizes themselves: log-scale labels like 3x10^2 overlap
        ax.minorticks_off()
        ax.set_xlabel("training objects")
        ax.set_ylabel(f"{name} ({split} objects)")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    levels = sorted({r["density_threshold"] for r in runs if "density_threshold" in r})
    if levels:
        axes[1].set_title("surface at each run's level chosen on val", fontsize=8)
    fig.tight_layout()
    fig.savefig(dest, dpi=150)
    plt.close(fig)
