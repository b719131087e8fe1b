"""bench/fit: does a model trained with tk learn 3D? Oracle vs trained, on novel views of the training objects.

    python -m bench.fit [--out bench-out/fit] [--lighting object,view] [--config cpu] [--max-steps N]
                        [--framing default|object] [--resolution 64] [--upsample-factor N]

For each lighting setting (one draw per object, the default; one per view, for comparison) it renders 10 sample
objects x 16 views at 64², then
- the oracle: per object, a triplane and decoder optimised directly on views 0-11 (bench/fit/oracle.py);
- the trained model: `tk train --config cpu` (its default length unless --max-steps) on views 0-11 of all objects;
and scores both on the held-out views 12-15 from the same input view's gauge (bench/fit/measure.py): PSNR against
the all-white baseline, mask IoU, and Chamfer / F-score against the surface the render stage stored (normalised units, no alignment search).
It also splits each code's squared error by region (bench/fit/decompose.py: object interior, silhouette, background)
and gives the texel-limited PSNR: the targets seen at the triplane's own resolution, roughly the best any scene
code of that plane size can score, and scores the trained model on 4 of its own training views too (short of
fitting, or of generalising?). Writes OUT/fit.json and OUT/fit.md and prints the table.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from bench.fit.data import HELD_OUT, render_set
from bench.fit.measure import Gauge, gauges, mean_scores, score_code
from bench.keys import code_fingerprint, code_roots, renders_fingerprint, result_key

KEYS = ("iou", "psnr", "white_psnr", "fscore@0.1", "chamfer")
PART_KEYS = ("fill", "inside_error", "mask_error", "outside_error", "psnr_without_inside", "psnr_without_mask")


def score(renderer: Any, decoder: Any, code: Any, ref: Any, reader: Any, gauge: Gauge, surface: Any) -> dict[str, float]:
    """Held-out view scores and surface scores of one scene code, and where its squared error lies."""
    import numpy as np

    from bench.fit.decompose import code_parts, texel_limited_psnr, texel_pixels
    from tk.contracts.renders import decode_rgba

    held = [i for i, v in enumerate(ref.views) if v.view in HELD_OUT]
    row = score_code(renderer, decoder, code, ref, reader, gauge, held, surface)
    parts = code_parts(renderer, decoder, code, ref, reader, gauge, held)
    row.update({k: parts[k] for k in PART_KEYS})
    texels = code.shape[-1]
    row["texel_psnr"] = float(np.mean([texel_limited_psnr(decode_rgba(reader.rgba_bytes(ref, ref.views[i])),
                                                          texel_pixels(ref.views[i], texels, renderer.cfg.radius))
                                       for i in held]))
    return row


def run_lighting(out: Path, per: str, config: str, max_steps: int | None, oracle_steps: int,
                 framing: str = "default", resolution: int = 64, upsample_factor: int | None = None) -> dict[str, Any]:
    """Render, fit the oracle, train, and score both for one lighting setting."""
    import torch

    from tk.model import TripoSR, load_model_config
    from tk.train.config import load_config, with_overrides
    from tk.contracts.renders import decode_rgba
    from tk.train.data import input_image
    from tk.train.meshes import stored_surfaces
    from tk.train import loop
    from tk.train.config import TrainRun
    from tk.train.shards import RowReader, ShardIndex
    from bench.fit.oracle import fit_triplane

    tag = per if (framing, resolution) == ("default", 64) else f"{per}-{framing}-{resolution}"
    data = out / f"renders-{tag}"
    render_set(data, per, resolution=resolution, framing=framing)
    index = ShardIndex(str(data), "all")
    reader = RowReader(index)
    surfaces = stored_surfaces(index, index.objects)  # the geometry Blender rendered, normalised frame
    g = gauges(index, reader)
    cfg = load_config(config)
    cfg = with_overrides(cfg, data={"split": "all", "exclude_views": list(HELD_OUT)})
    model_cfg = load_model_config(cfg.model) if isinstance(cfg.model, str) else cfg.model_config()
    name = Path(config).stem  # a preset name, or a config file's name (readable part of the folder names)
    if upsample_factor is not None and upsample_factor != model_cfg.post_processor.upsample_factor:
        # finer planes from the same tokens: both the oracle and the trained model get them
        model_cfg = replace(model_cfg, post_processor=replace(model_cfg.post_processor, upsample_factor=upsample_factor))
        cfg = replace(cfg, model={**model_cfg.to_official_dict(), "vit": asdict(model_cfg.vit)})
        name += f"-x{upsample_factor}"
    # results are keyed by what they depend on, not by a file name: editing configs/train/cpu.yaml, the model
    # preset, the renders or the code (training, model, core and bench.fit's own oracle) starts new ones instead of
    # returning old ones
    renders_key = renders_fingerprint(data) + code_fingerprint([*code_roots(), Path(__file__).parent])
    model_key = {**model_cfg.to_official_dict(), "vit": asdict(model_cfg.vit)}
    rows: dict[str, dict[str, Any]] = {ref.uid: {} for ref in index.objects if ref.uid in g}
    # the oracle's scores are kept per (lighting, model, steps, renders): a rerun only trains and scores what is new
    cache = out / f"oracle-{tag}-{name}-{oracle_steps}-{result_key('oracle-v3', model_key, oracle_steps, renders_key)}.json"
    cached = json.loads(cache.read_text()) if cache.is_file() else {}
    t0 = time.perf_counter()
    for ref in index.objects:
        if ref.uid not in g:
            continue
        if ref.uid not in cached:
            train_pos = [i for i, v in enumerate(ref.views) if v.view not in HELD_OUT]
            code, renderer, decoder = fit_triplane(model_cfg, ref, reader, g[ref.uid], train_pos, steps=oracle_steps)
            cached[ref.uid] = score(renderer, decoder, code, ref, reader, g[ref.uid],
                                    surfaces.get(ref.uid))
            cache.write_text(json.dumps(cached, indent=1))
        rows[ref.uid]["oracle"] = cached[ref.uid]
        print(f"  oracle {per} {ref.uid[:10]}: " + _fmt(rows[ref.uid]["oracle"]), flush=True)
    oracle_s = time.perf_counter() - t0
    run = out / f"run-{tag}-{name}-{result_key(cfg.to_dict(), model_key, max_steps, renders_key)}"
    t0 = time.perf_counter()
    last = Path(loop.run(TrainRun(config=cfg, data=str(data), out=run, max_steps=max_steps, resume=True))["checkpoint"])
    timing = run / "bench-seconds.json"  # a rerun reuses a finished run: keep the time of the run that trained it
    if not timing.is_file() or time.perf_counter() - t0 > 60:
        timing.write_text(json.dumps({"train_seconds": time.perf_counter() - t0}))
    train_s = json.loads(timing.read_text())["train_seconds"]
    model = TripoSR.from_pretrained(last).eval()
    with torch.no_grad():
        for ref in index.objects:
            if ref.uid not in g:
                continue
            gauge = g[ref.uid]
            rgba = decode_rgba(reader.rgba_bytes(ref, ref.views[gauge.input_pos]))
            code = model.encode(input_image(rgba, model.cfg.cond_image_size)[None])[0]
            rows[ref.uid]["trained"] = score(model.renderer, model.decoder, code, ref, reader, gauge,
                                             surfaces.get(ref.uid))
            # fitting or generalising? the same code on 4 of the views it was trained on (not the input)
            seen = [i for i, v in enumerate(ref.views) if v.view not in HELD_OUT and i != gauge.input_pos][:4]
            row = score_code(model.renderer, model.decoder, code, ref, reader, gauge, seen, None)
            rows[ref.uid]["trained"].update(seen_psnr=row["psnr"], seen_iou=row["iou"])
    means = {side: mean_scores([r[side] for r in rows.values()]) for side in ("oracle", "trained")}
    return {"lighting_per": per, "framing": framing, "resolution": resolution, "planes": model_cfg.plane_resolution,
            "objects": rows, "mean": means, "oracle_seconds": oracle_s,
            "train_seconds": train_s, "checkpoint": str(last), "steps": int(Path(last).name.split("-")[-1])}


def _fmt(row: dict[str, float]) -> str:
    return " ".join(f"{k} {row[k]:.3f}" for k in KEYS if k in row)


def markdown(results: list[dict[str, Any]], config: str) -> str:
    """The table docs/train.md keeps: per lighting, per object and mean, oracle vs trained."""
    lines = [f"Held-out views 12-15 of the training objects; trained: `--config {config}`.", ""]
    head = "| lighting | object | oracle IoU | trained IoU | IoU ratio | oracle PSNR | trained PSNR | white PSNR | oracle F@0.1 | trained F@0.1 |"
    lines += [head, "|" + " --- |" * (head.count("|") - 1)]
    for res in results:
        items = list(res["objects"].items()) + [("**mean**", res["mean"])]
        for uid, r in items:
            o, t = r["oracle"], r["trained"]
            lines.append(f"| {res['lighting_per']} | {uid[:10]} | {o['iou']:.3f} | {t['iou']:.3f} | "
                         f"{t['iou'] / max(o['iou'], 1e-9):.2f} | {o['psnr']:.2f} | {t['psnr']:.2f} | "
                         f"{t['white_psnr']:.2f} | {o.get('fscore@0.1', float('nan')):.3f} | "
                         f"{t.get('fscore@0.1', float('nan')):.3f} |")
    lines += ["", "Where the squared error lies (mean over objects; bench/fit/decompose.py): share in the object's interior "
              "(both masks on) and on the silhouette (masks disagree), the PSNR with that part perfect, and the "
              "texel-limited PSNR (the targets at the triplane's resolution).", "",
              "| lighting | code | PSNR | interior share | silhouette share | PSNR, interior perfect | "
              "PSNR, silhouette perfect | texel-limited PSNR | white PSNR |", "|" + " --- |" * 9]
    for res in results:
        for side in ("oracle", "trained"):
            m = res["mean"][side]
            lines.append(f"| {res['lighting_per']} | {side} | {m['psnr']:.2f} | {m.get('inside_error', float('nan')):.2f} | "
                         f"{m.get('mask_error', float('nan')):.2f} | {m.get('psnr_without_inside', float('nan')):.2f} | "
                         f"{m.get('psnr_without_mask', float('nan')):.2f} | {m.get('texel_psnr', float('nan')):.2f} | "
                         f"{m['white_psnr']:.2f} |")
    lines += ["", ("The trained model on 4 of the views it was trained on (not its input) against the held-out views: "
                   "a small difference means it is short of fitting, not of generalising."), "",
              "| lighting | seen PSNR | held-out PSNR | seen IoU | held-out IoU |", "|" + " --- |" * 5]
    for res in results:
        t = res["mean"]["trained"]
        lines.append(f"| {res['lighting_per']} | {t.get('seen_psnr', float('nan')):.2f} | {t['psnr']:.2f} | "
                     f"{t.get('seen_iou', float('nan')):.3f} | {t['iou']:.3f} |")
    for res in results:
        lines.append("")
        lines.append(f"{res['lighting_per']}, framing {res.get('framing', 'default')}, {res.get('resolution', 64)}², "
                     f"{res.get('planes', 16)}-texel planes: trained {res['steps']} steps in {res['train_seconds'] / 60:.1f} min; "
                     f"oracle {res['oracle_seconds'] / 60:.1f} min")
    return "\n".join(lines) + "\n"


def main() -> None:
    """Parse the options, run every lighting setting, print and write the table."""
    import torch

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="bench-out/fit")
    p.add_argument("--lighting", default="object,view")
    p.add_argument("--config", default="cpu")
    p.add_argument("--max-steps", type=int, default=None)
    p.add_argument("--oracle-steps", type=int, default=300)
    p.add_argument("--framing", default="default", choices=("default", "object"),
                   help="default: the render defaults' distances (any normalised object fits); object: each object's "
                        "own bounding sphere fills the frame as the unit cube's does by default (bench/fit/data.py)")
    p.add_argument("--resolution", type=int, default=64)
    p.add_argument("--upsample-factor", type=int, default=None,
                   help="the post-processor's upsampling (the model's own by default; 4 gives the cpu model 32-texel "
                        "planes from the same tokens)")
    args = p.parse_args()
    from tk.train import cpu_process

    # the bench owns its process, as `tk train` does: the same CPU tuning its figures in docs/train.md were measured
    # with (train() called as a library no longer applies it)
    cpu_process.tune()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    out = Path(args.out)
    results = [run_lighting(out, per, args.config, args.max_steps, args.oracle_steps, args.framing, args.resolution,
                            args.upsample_factor)
               for per in args.lighting.split(",")]
    table = markdown(results, args.config)
    out.mkdir(parents=True, exist_ok=True)
    (out / "fit.json").write_text(json.dumps(results, indent=2, default=float) + "\n")
    (out / "fit.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
