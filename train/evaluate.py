"""`tk eval`: novel-view PSNR/SSIM/LPIPS/mask IoU and surface CD/F-score of a checkpoint on one split of a renders folder.

Per object, the input is its first view usable as input (the input camera's fovy, d >= its distance:
tk.geometry.INPUT_FOVY_DEG, INPUT_DISTANCE); every other view is
a novel view, rendered at full resolution from the same canonical gauge as in training and compared
with the render on white (and its alpha > 0.5 with the predicted opacity > 0.5). The mesh (marching
cubes at threshold 25) is taken back from the gauge (p -> s*Q@p, s = INPUT_DISTANCE/d) to the object's normalised
frame and compared there with the surface the render stage stored, by the protocol in train/metrics.py,
so its numbers are in normalised units whatever the input view's distance.

`evaluate_code` scores any scene code, not only an encoder's: a benchmark can score a triplane it
optimised directly with exactly the code `tk eval` runs.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tk import atomic
from tk.contracts import MANIFEST, read_table
from tk.contracts import manifest as manifest_contract
from tk.contracts import renders as renders_contract
from tk.contracts.renders import composite, decode_rgba
from tk.errors import TkError
from tk.geometry import pixel_rays
from tk.model import TripoSR
from tk.model.config import DENSITY_THRESHOLD, MESH_RESOLUTION, read_surface_level
from tk.progress import progress
from tk.train import geometry, metrics
from tk.train.config import EvalRun, config_from_dict, parse_views
from tk.train.data import input_image
from tk.train.lpips_weights import load_lpips
from tk.train.meshes import mesh_points, stored_surfaces
from tk.train.remote_read import ReadPolicy
from tk.train.shards import ObjectRef, RowReader, ShardIndex, ViewMeta

EVAL_CHUNK = 1 << 18  # decoder points per call: full-resolution views and a 256^3 grid would not fit at once
IMAGE_KEYS = ("psnr", "white_psnr", "ssim", "lpips", "iou")
SURFACE_KEYS = ("chamfer", *(f"fscore@{t:g}" for t in metrics.F_THRESHOLDS))


def resolve_checkpoint(path: str | Path) -> Path:
    """A checkpoint folder, or a run folder (its checkpoints/latest)."""
    from tk.train import checkpoint

    path = Path(path)
    if (path / "config.yaml").is_file() and any((path / n).is_file() for n in ("model.safetensors", "model.ckpt")):
        return path
    latest = checkpoint.latest(path) if (path / "checkpoints").is_dir() else None
    if latest is None:
        raise TkError(f"{path}: not a checkpoint folder (config.yaml + model.safetensors) nor a run folder with checkpoints")
    return latest


def load_model(folder: Path, raw_weights: bool = False) -> tuple[Any, str]:
    """(model in eval mode, "ema" or "raw"): the checkpoint's EMA weights when it has them, unless raw_weights."""
    from tk.train.checkpoint import load_ema

    model = TripoSR.from_pretrained(folder)
    ema = None if raw_weights else load_ema(folder)
    if ema is not None:
        model.load_state_dict(ema)
    return model.eval(), "raw" if ema is None else "ema"


def view_rays(view: ViewMeta, q: np.ndarray, s: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Rays (H*W, 3) of every pixel of `view`, moved into the gauge (q, s)."""
    u, v = np.meshgrid(np.arange(view.width), np.arange(view.height))
    o, d = pixel_rays(geometry.transform_c2w(view.c2w, q, s), view.fx, view.fy, view.cx, view.cy, u, v)
    return torch.from_numpy(o), torch.from_numpy(d)


def render_view(renderer: Any, decoder: Any, code: torch.Tensor, view: ViewMeta, q: np.ndarray, s: float
                ) -> tuple[np.ndarray, np.ndarray]:
    """(RGB on white (H,W,3), opacity (H,W)) of `code` seen from `view` moved into the gauge (q, s)."""
    o, d = view_rays(view, q, s)
    out = renderer.render_rays(decoder, code, o.to(code.device), d.to(code.device))
    rgb = out["rgb"].float().cpu().numpy().reshape(view.height, view.width, 3).clip(0, 1)
    return rgb, out["opacity"].float().cpu().numpy().reshape(view.height, view.width)


def image_metrics(pred: np.ndarray, opacity: np.ndarray, rgba: np.ndarray, lpips_model: Any) -> dict[str, float]:
    """One view's scores against its render: PSNR/SSIM/LPIPS on white, the all-white PSNR, mask IoU at 0.5.

    `lpips_model` None skips LPIPS (NaN): benchmarks that score many codes on a CPU do without it."""
    target = composite(rgba, 1.0)
    return {"psnr": metrics.psnr(pred, target), "white_psnr": metrics.psnr(np.ones_like(target), target),
            "ssim": metrics.ssim(pred, target),
            "lpips": math.nan if lpips_model is None else metrics.lpips_distance(lpips_model, pred, target),
            "iou": metrics.mask_iou(opacity > 0.5, rgba[..., 3] > 0.5)}


def shape_metrics(renderer: Any, decoder: Any, code: torch.Tensor, q: np.ndarray, s: float, surface: np.ndarray,
                  resolution: int = MESH_RESOLUTION, seed: int = 0, search: bool = True,
                  threshold: float = DENSITY_THRESHOLD, sweep: Sequence[float] = ()) -> dict[str, Any]:
    """CD and F-scores of the code's isosurface at density `threshold` against `surface` (N,3), both in the object's
    normalised frame; with `sweep`, also (row["sweep"][level]) those of the isosurface at each of those levels, from
    the same density grid: how a level is chosen on validation objects."""
    from tk.model.mesh import density_grid

    field = density_grid(renderer, decoder, code, resolution).float().cpu().numpy()
    row = _surface_at(renderer, decoder, code, field, threshold, q, s, surface, seed, search)
    if sweep:
        row["sweep"] = {f"{level:g}": _surface_at(renderer, decoder, code, field, level, q, s, surface, seed, search)
                        for level in sweep}
    return row


def _surface_at(renderer: Any, decoder: Any, code: torch.Tensor, field: np.ndarray, level: float, q: np.ndarray,
                s: float, surface: np.ndarray, seed: int, search: bool) -> dict[str, Any]:
    from tk.model.mesh import mesh_from_density

    try:
        mesh = mesh_from_density(renderer, decoder, code, field, level, has_vertex_color=False)
    except (ValueError, RuntimeError):  # marching cubes finds no level set: an empty prediction
        mesh = None
    if mesh is None or len(mesh.faces) == 0:
        return {"chamfer": math.nan, **{k: 0.0 for k in SURFACE_KEYS[1:]}, "note": "no surface predicted"}
    # the code lives in the gauge p_g = s*Q@p; undo it so distances are in normalised units for every input view
    pred = geometry.transform_points(metrics.sample_points(mesh, metrics.N_POINTS, seed), q.T, 1.0 / s)
    return metrics.surface_metrics(pred, surface, seed=seed, search=search)


@torch.no_grad()
def evaluate_code(renderer: Any, decoder: Any, code: torch.Tensor, ref: ObjectRef, reader: RowReader,
                  lpips_model: Any, gauge_view: int, views: Sequence[int] | None = None,
                  surface: np.ndarray | None = None, mesh_resolution: int = MESH_RESOLUTION, pictures: int = 2,
                  search: bool = True, threshold: float = DENSITY_THRESHOLD, sweep: Sequence[float] = ()
                  ) -> tuple[dict[str, Any], list[np.ndarray]]:
    """Metrics of one scene code (3,C,H,W) expressed in the gauge of `ref.views[gauge_view]`.

    `views` are positions in ref.views to score (default: all but gauge_view); `surface` (N,3) the
    ground truth in the normalised frame (None: no surface metrics); `search` False scores the surface in the
    known pose, with no rotation search (pose errors then count); `threshold` and `sweep` as in shape_metrics.
    Returns the object's row (means
    over views, plus a `views` list) and [pred, target] images of the first `pictures` views.
    """
    q, s = geometry.canonical_similarity(ref.views[gauge_view].c2w)
    chosen = [i for i in range(len(ref.views)) if i != gauge_view] if views is None else list(views)
    per_view, images = [], []
    for i in chosen:
        rgba = decode_rgba(reader.rgba_bytes(ref, ref.views[i]))
        pred, opacity = render_view(renderer, decoder, code, ref.views[i], q, s)
        per_view.append({"view": ref.views[i].view, **image_metrics(pred, opacity, rgba, lpips_model)})
        if len(images) < 2 * pictures:
            images += [pred, composite(rgba, 1.0)]
    row: dict[str, Any] = {"uid": ref.uid, "input_view": ref.views[gauge_view].view, "novel_views": len(per_view),
                           **{k: float(np.mean([r[k] for r in per_view])) if per_view else math.nan for k in IMAGE_KEYS}}
    if surface is not None:
        row.update(shape_metrics(renderer, decoder, code, q, s, surface, mesh_resolution, search=search,
                                 threshold=threshold, sweep=sweep))
    row["views"] = per_view
    return row, images


def training_config(folder: Path) -> Any:
    """The TrainConfig of the run a checkpoint folder belongs to (RUN/config.yaml), or None when it is not in a run."""
    import yaml

    run_config = folder.parent.parent / "config.yaml" if folder.parent.name == "checkpoints" else None
    if run_config is None or not run_config.is_file():
        return None
    try:
        return config_from_dict(yaml.safe_load(run_config.read_text()))
    except (TkError, yaml.YAMLError):
        return None


def scored_views(spec: str, held_out: Sequence[int]) -> list[int] | None:
    """The view indices `--views` names: None for every view but the input.

    auto: the views the run held out of training (its data.exclude_views), else every view but the input;
    all: every view but the input; "12,13,14": those views.
    """
    if spec == "all" or (spec == "auto" and not held_out):
        return None
    if spec == "auto":
        return sorted(held_out)
    return parse_views(spec)


@torch.no_grad()
def evaluate_object(model: Any, ref: ObjectRef, reader: RowReader, lpips_model: Any, surface: np.ndarray | None,
                    mesh_resolution: int = MESH_RESOLUTION, views: Sequence[int] | None = None,
                    retrieval: "Retrieval | None" = None, threshold: float = DENSITY_THRESHOLD,
                    sweep: Sequence[float] = ()) -> tuple[dict[str, Any] | None, list[np.ndarray]]:
    """Metrics of one object from its first uncut input view among those not scored, and the grid's pictures:
    [input, pred_1, gt_1, ...]. `views` are view indices to score (None: all but the input). With `retrieval`,
    the row's `retrieval` holds the same metrics for the code of the nearest training object's input view.
    None when the object has none of the views to score or no input view outside them."""
    from tk.train.data import first_uncut_input

    device = next(model.parameters()).device
    exclude = list(views) if views is not None else []
    chosen = first_uncut_input(ref, reader, exclude)  # never an input the border cuts (tk.framing), as in training
    if chosen is None:
        usable = [p for p in ref.input_views if ref.views[p].view not in exclude]
        if not usable:
            return None, []
        chosen = (usable[0], decode_rgba(reader.rgba_bytes(ref, ref.views[usable[0]])))
    first, rgba = chosen
    positions = None if views is None else [i for i, v in enumerate(ref.views) if v.view in set(views)]
    if positions is not None and not positions:
        return None, []
    inp = input_image(rgba, model.cfg.cond_image_size)
    code = model.encode(inp[None].to(device))[0]
    row, images = evaluate_code(model.renderer, model.decoder, code, ref, reader, lpips_model, first, positions,
                                surface=surface, mesh_resolution=mesh_resolution, threshold=threshold, sweep=sweep)
    if retrieval is not None:
        match = retrieval.nearest(inp, exclude_uid=ref.uid)
        other = model.encode(match.image[None].to(device))[0]
        base, base_images = evaluate_code(model.renderer, model.decoder, other, ref, reader, None, first, positions,
                                          surface=surface, mesh_resolution=mesh_resolution, pictures=1,
                                          threshold=threshold, sweep=sweep)
        base.pop("views")
        row["retrieval"] = {**{k: v for k, v in base.items() if k not in ("uid", "input_view", "novel_views")},
                            "match_uid": match.uid, "match_view": match.view, "distance": match.distance}
        images = [*images[:2], base_images[0], *images[2:]]
    return row, [inp.permute(1, 2, 0).numpy(), *images]


class Match:
    """The nearest training input to a query: which object and view, its model input, the image distance."""

    def __init__(self, uid: str, view: int, image: torch.Tensor, distance: float) -> None:
        self.uid, self.view, self.image, self.distance = uid, view, image, distance


class Retrieval:
    """The retrieval baseline's library: every usable input view of the training objects, as the model sees it.

    Distance: mean squared difference of the model inputs (RGB composited on grey, cond_image_size), both
    area-downsampled to 32x32; the nearest (object, view) pair wins. The baseline's prediction is the model's own
    reconstruction of that training view, rendered from the query object's cameras in the query's input gauge:
    what a model that only looked up the closest training shape would output.
    """

    SIZE = 32

    def __init__(self, index: ShardIndex, size: int, held_out: Sequence[int] = ()) -> None:
        reader = RowReader(index)
        self.keys: list[tuple[str, int]] = []
        self.images: list[torch.Tensor] = []
        with progress() as bar:
            task = bar.add_task("retrieval library", total=len(index.objects))
            for ref in index.objects:
                for pos in ref.input_views:
                    if ref.views[pos].view in held_out:
                        continue  # the run never trained on these views: not part of what it learned
                    rgba = decode_rgba(reader.rgba_bytes(ref, ref.views[pos]))
                    self.keys.append((ref.uid, ref.views[pos].view))
                    self.images.append(input_image(rgba, size))
                bar.advance(task)
        if not self.images:
            raise TkError(f"{index.data}: no training objects with an input view for the retrieval baseline")
        self.codes = torch.stack([self._descriptor(im) for im in self.images])

    def _descriptor(self, image: torch.Tensor) -> torch.Tensor:
        import torch.nn.functional as F

        return F.adaptive_avg_pool2d(image[None], self.SIZE)[0].flatten()

    def nearest(self, image: torch.Tensor, exclude_uid: str | None = None) -> Match:
        """The library entry closest to `image` (a model input), skipping the object `exclude_uid`."""
        dist = ((self.codes - self._descriptor(image)[None]) ** 2).mean(dim=1)
        if exclude_uid is not None:
            dist[[i for i, (uid, _) in enumerate(self.keys) if uid == exclude_uid]] = math.inf
        best = int(torch.argmin(dist))
        return Match(self.keys[best][0], self.keys[best][1], self.images[best], float(dist[best]))


def object_categories(data: str, manifest: str | Path | None) -> dict[str, str]:
    """Category by uid: the renders' objects.parquet `category` column, else a `tk curate` folder's manifest."""
    import pyarrow.parquet as pq

    if manifest is not None:
        path = manifest_contract.parquet_path(manifest) if Path(manifest).is_dir() else Path(manifest)
        if not path.is_file():
            raise TkError(f"--manifest {manifest}: no manifest.parquet (give a `tk curate` output folder)")
        table = read_table(path, MANIFEST, columns=["uid", "category"])
    else:
        objects = renders_contract.objects_path(str(data))
        if "://" in str(data) or not objects.is_file() or "category" not in pq.read_schema(objects).names:
            return {}
        table = pq.read_table(objects, columns=["uid", "category"])
    return {u: c for u, c in zip(table.column("uid").to_pylist(), table.column("category").to_pylist()) if c}


def run(job: EvalRun) -> dict[str, Any]:
    """Evaluate `job.checkpoint` on `job.split` of `job.data` (tk eval's one entry point); writes report.json,
    report.md and grid.png into `job.out` and returns the report (its `summary` holds the means over objects).

    `views`: auto | all | a comma list (scored_views); `baseline` "retrieval" adds the retrieval baseline, whose
    library is the `train` split of `data`; `manifest` gives categories when the renders carry none; the surface is
    the isosurface at `density_threshold`, and `density_sweep` levels are scored beside it (report's surface_sweep).
    Reads of remote `data` are retried `read_tries` times within `read_budget_s` (train/remote_read.py); report.json
    counts them.
    """
    checkpoint_dir, data, split, gt_meshes, manifest = job.checkpoint, job.data, job.split, job.gt_meshes, job.manifest
    mesh_resolution, views, baseline, limit = job.mesh_resolution, job.views, job.baseline, job.limit
    folder = resolve_checkpoint(checkpoint_dir)
    if gt_meshes is not None and not Path(gt_meshes).is_dir():
        raise TkError(f"--gt-meshes {gt_meshes}: no such folder (it holds <uid>.glb/.obj/.ply/.stl meshes)")
    if manifest is not None and not manifest_contract.parquet_path(manifest).is_file() and not Path(manifest).is_file():
        raise TkError(f"--manifest {manifest}: no manifest.parquet (give a `tk curate` output folder)")
    if job.density_threshold is not None:
        level, level_from = job.density_threshold, "--density-threshold"
    else:  # the level chosen for this checkpoint (surface.json), else the official one
        level, level_from = read_surface_level(folder)
    run_cfg = training_config(folder)
    held_out = list(run_cfg.data.exclude_views) if run_cfg is not None else []
    chosen_views = scored_views(views, held_out)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model, weights = load_model(folder, job.raw_weights)
    model = model.to(device)
    model.renderer.set_chunk_size(EVAL_CHUNK)
    reads = ReadPolicy(job.read_tries, job.read_budget_s, "--read-tries, --read-budget-s")
    index = ShardIndex(str(data), split, reads=reads)
    reader = RowReader(index)
    categories = object_categories(str(data), manifest)
    retrieval, library = None, None
    if baseline == "retrieval":
        # the objects the run trained on: the train split, cut to its data.max_objects by the index's own rule
        library = ShardIndex(str(data), "train", max_objects=run_cfg.data.max_objects if run_cfg is not None else None,
                             reads=reads)
        retrieval = Retrieval(library, model.cfg.cond_image_size, held_out)
    lpips_model = load_lpips("vgg").to(device)
    refs = index.objects[:limit] if limit else index.objects
    stored = stored_surfaces(index, refs) if gt_meshes is None else {}
    results, grid, skipped = [], [], []
    with progress() as bar:
        task = bar.add_task("eval", total=len(refs))
        for ref in refs:
            surface = stored.get(ref.uid) if gt_meshes is None else mesh_points(gt_meshes, ref.uid, metrics.N_POINTS)
            row, pictures = evaluate_object(model, ref, reader, lpips_model, surface, mesh_resolution, chosen_views,
                                            retrieval, level, job.sweep_levels)
            bar.advance(task)
            if row is None:
                skipped.append(ref.uid)
                continue
            row["split"], row["category"] = ref.split, categories.get(ref.uid)
            if surface is None:
                row["note"] = "no ground-truth surface" + (f" in {gt_meshes}" if gt_meshes is not None else "")
            results.append(row)
            grid.append(pictures)
    if not results:
        raise TkError(f"{data}: none of the {len(refs)} '{split}' object(s) has the views to score ({views}) and an "
                      "input view besides them; choose other --views")
    selection = {"views": views, "scored": chosen_views, "held_out_in_training": held_out,
                 "baseline": baseline, "skipped": skipped}
    report = _report(folder, str(data), split, results, weights, mesh_resolution,
                     "--gt-meshes" if gt_meshes is not None else "render", selection, level, level_from)
    report["read_retries"] = sum(i.retried for i in (index, library) if i is not None)  # remote reads tried again
    out = Path(job.out)
    # report.json marks a finished report (bench.generalise reads it): removed first and written last, it is there
    # only beside the report.md and grid.png of its own evaluation, whatever stops this one midway (a full disk)
    (out / "report.json").unlink(missing_ok=True)
    atomic.write_text(out / "report.md", _markdown(report))
    _write_grid(out / "grid.png", grid)
    atomic.write_text(out / "report.json", json.dumps(report, indent=2, allow_nan=True) + "\n")
    return report


def _means(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Means over rows of every image and surface metric (NaN values left out), and the row count."""
    out: dict[str, Any] = {}
    for k in (*IMAGE_KEYS, *SURFACE_KEYS):
        vals = [r[k] for r in rows if k in r and not (isinstance(r[k], float) and math.isnan(r[k]))]
        out[k] = float(np.mean(vals)) if vals else None
    out["objects"] = len(rows)
    return out


def _surfaces(rows: list[dict[str, Any]]) -> int:
    """How many rows have a predicted surface (a finite Chamfer distance)."""
    return sum(1 for r in rows if "chamfer" in r and not math.isnan(r["chamfer"]))


def _sweep(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Per swept density level, the surface means over `rows` and how many rows had a surface there."""
    levels = next((list(r["sweep"]) for r in rows if "sweep" in r), [])
    out = {}
    for level in levels:
        at = [r["sweep"][level] for r in rows if "sweep" in r]
        means = _means(at)
        out[level] = {**{k: means[k] for k in SURFACE_KEYS}, "meshes_compared": _surfaces(at), "objects": len(at)}
    return out


def _report(folder: Path, data: str, split: str, results: list[dict[str, Any]], weights: str, resolution: int,
            truth: str, selection: dict[str, Any], threshold: float = DENSITY_THRESHOLD,
            threshold_from: str = "the official level") -> dict[str, Any]:
    summary = _means(results)
    summary["meshes_compared"] = _surfaces(results)
    baselines: dict[str, Any] = {"white": {"psnr": summary["white_psnr"]}}
    if selection["baseline"] == "retrieval":
        baselines["retrieval"] = _means([r["retrieval"] for r in results])
        baselines["retrieval"]["meshes_compared"] = _surfaces([r["retrieval"] for r in results])
    sweep = _sweep(results)
    groups: dict[str, dict[str, Any]] = {}
    for key in ("category", "split"):
        names = sorted({r[key] for r in results if r.get(key)})
        if len(names) > 1 or key == "category" and names:
            groups[key] = {n: _group(results, key, n, selection["baseline"]) for n in names}
    gt = ("the surface points the render stage stored (Blender's evaluated geometry, "
          "docs/render.md)" if truth == "render" else f"{metrics.N_POINTS} points sampled on the --gt-meshes files")
    scored = selection["scored"]
    protocol = {
        "weights": "EMA (ema.safetensors)" if weights == "ema" else "raw (model.safetensors)",
        "novel_views": ("every view but the input" if scored is None else f"views {scored}") + (
            f" (--views {selection['views']}; the run held views {selection['held_out_in_training']} out of training)"
            if selection["held_out_in_training"] else f" (--views {selection['views']})") +
            "; the input is the first uncut input view outside them; full resolution, on white; per object the mean "
            "over its views",
        "white_psnr": "PSNR of an all-white image against the same targets (the floor a prediction must beat); "
                      f"every PSNR is capped at {metrics.PSNR_CAP:g} dB (an exact match)",
        "iou": "mask IoU of predicted opacity > 0.5 against render alpha > 0.5",
        "lpips": "VGG, lpips 0.1.4 heads, backbone built by `tk weights lpips`",
        "mesh": f"marching cubes at {resolution}^3 over the model's box, density {threshold:g} ({threshold_from}"
                + ("" if threshold == DENSITY_THRESHOLD else f"; official {DENSITY_THRESHOLD:g}") + ")"
                + "; an object whose density never reaches it has no surface (Chamfer n/a, F-scores 0); "
                f"{metrics.N_POINTS} points on it, moved out of the input gauge into the object's normalised frame",
        "ground_truth": gt,
        "surface": "rotation search + ICP (no reflection, no scale); chamfer = plain symmetric mean NN distance in "
                   "units of the normalised object (longest bbox side 1), independent of the input view's distance; "
                   f"F-score thresholds {list(metrics.F_THRESHOLDS)} in the same units",
    }
    if selection["baseline"] == "retrieval":
        protocol["retrieval"] = (Retrieval.__doc__ or "").split("\n\n")[1].strip().replace("\n    ", " ") + (
            " Library: every input view of the run's training objects (the train split of the same renders, its "
            "data.max_objects when it set one; views held out of training excluded), "
            "never the scored object itself. No LPIPS.")
    if selection["skipped"]:
        protocol["skipped"] = f"{len(selection['skipped'])} object(s) without the scored views or another input view"
    report = {"checkpoint": os.fspath(folder), "data": data, "split": split, "weights": weights,
              "density_threshold": threshold, "density_threshold_from": threshold_from, "summary": summary, "baselines": baselines, "groups": groups,
              "protocol": protocol, "objects": results}
    if sweep:
        report["surface_sweep"] = {"model": sweep}
        if selection["baseline"] == "retrieval":
            report["surface_sweep"]["retrieval"] = _sweep([r["retrieval"] for r in results])
        protocol["surface_sweep"] = ("surface metrics of the isosurfaces at the --density-sweep levels from the same "
                                     "density grid (choose a level on a validation split, then score test at it)")
    return report


def _group(results: list[dict[str, Any]], key: str, name: str, baseline: str) -> dict[str, Any]:
    rows = [r for r in results if r.get(key) == name]
    out = {"model": _means(rows)}
    if baseline == "retrieval":
        out["retrieval"] = _means([r["retrieval"] for r in rows])
    return out


def _fmt(v: Any) -> str:
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else (f"{v:.4f}" if isinstance(v, float) else str(v))


def _markdown(report: dict[str, Any]) -> str:
    keys = [*IMAGE_KEYS, *SURFACE_KEYS]
    head = ["| rows | objects | " + " | ".join(keys) + " |", "|" + " --- |" * (len(keys) + 2)]

    def line(label: str, m: dict[str, Any]) -> str:
        return f"| {label} | {m.get('objects', '')} | " + " | ".join(_fmt(m.get(k)) for k in keys) + " |"

    lines = [f"# tk eval: {report['checkpoint']}", "", f"Data `{report['data']}`, split `{report['split']}`, "
             f"{report['summary']['objects']} object(s), {report['weights']} weights.", "", "## Summary", "", *head,
             line("model", report["summary"])]
    if "retrieval" in report["baselines"]:
        lines.append(line("retrieval baseline", report["baselines"]["retrieval"]))
    lines.append(f"| all-white baseline | | white PSNR {_fmt(report['baselines']['white']['psnr'])} |" + " |" * (len(keys) - 1))
    for key, groups in report.get("groups", {}).items():
        lines += ["", f"## By {key}", "", *head]
        for name, g in groups.items():
            lines.append(line(f"{name}: model", g["model"]))
            if "retrieval" in g:
                lines.append(line(f"{name}: retrieval", g["retrieval"]))
    for name, levels in report.get("surface_sweep", {}).items():
        lines += ["", f"## Surface by density level: {name}", "", "| level | surfaces | " + " | ".join(SURFACE_KEYS)
                  + " |", "|" + " --- |" * (len(SURFACE_KEYS) + 2)]
        lines += [f"| {level} | {m['meshes_compared']}/{m['objects']} | " + " | ".join(_fmt(m[k]) for k in SURFACE_KEYS)
                  + " |" for level, m in levels.items()]
    lines += ["", "## Per object", "", "| uid | split | category | " + " | ".join(keys) + " | note |",
              "|" + " --- |" * (len(keys) + 4)]
    for r in report["objects"]:
        lines.append(f"| {r['uid'][:12]} | {r.get('split', '')} | {r.get('category') or ''} | "
                     + " | ".join(_fmt(r.get(k)) for k in keys) + f" | {r.get('note', '')} |")
    lines += ["", "Per-view scores are in report.json (`objects[].views`); the retrieval baseline's per object in "
              "`objects[].retrieval`.", "", "## Protocol", ""]
    lines += [f"- {k}: {v}" for k, v in report["protocol"].items()]
    lines += ["", "`grid.png`: per object, the input, then (prediction, ground truth) for two novel views"
              + (", the retrieval baseline's prediction after the first pair" if "retrieval" in report["baselines"]
                 else "") + ".", ""]
    return "\n".join(lines)


def _write_grid(path: Path, rows: list[list[np.ndarray]]) -> None:
    from PIL import Image

    if not rows:
        return
    size = max(p.shape[0] for r in rows for p in r)
    canvas = np.ones((len(rows) * size, max(len(r) for r in rows) * size, 3), dtype=np.float32)
    for i, row in enumerate(rows):
        for j, pic in enumerate(row):
            im = Image.fromarray((pic.clip(0, 1) * 255).astype(np.uint8)).resize((size, size))
            canvas[i * size:(i + 1) * size, j * size:(j + 1) * size] = np.asarray(im, dtype=np.float32) / 255.0
    with atomic.atomic_path(path) as tmp:
        Image.fromarray((canvas * 255).astype(np.uint8)).save(tmp, format="PNG")

