"""`tk eval`: novel-view PSNR/SSIM/LPIPS and mesh CD/F-score of a checkpoint on one split of a renders folder.

Per object, the input is its first view usable as input (fovy 40 deg, d >= 1.9); every other view is
a novel view, rendered at full resolution from the same canonical gauge as in training and compared
with the render on white. The mesh (marching cubes at threshold 25) is compared with the
ground-truth mesh moved into that gauge, by the protocol in train/metrics.py.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tk import atomic
from tk.errors import TkError
from tk.progress import progress
from tk.train import geometry, metrics
from tk.train.data import composite, decode_rgba, input_image
from tk.train.meshes import load_normalised_mesh
from tk.train.shards import ObjectRef, RowReader, ShardIndex

MESH_EXTS = (".glb", ".gltf", ".obj", ".ply", ".stl", ".off")


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


def _objects_table(data: str) -> dict[str, dict[str, Any]]:
    from tk.contracts import read_table

    path = Path(data) / "objects.parquet"
    if not path.is_file():
        return {}
    return {row["uid"]: row for row in read_table(path, "objects").to_pylist()}


def gt_mesh(uid: str, gt_meshes: str | Path | None, objects: dict[str, dict[str, Any]], data: str) -> Any:
    """The ground-truth mesh of `uid` in the renders' normalised frame, or None when there is none."""
    import trimesh

    if gt_meshes is not None:
        for ext in MESH_EXTS:
            path = Path(gt_meshes) / f"{uid}{ext}"
            if path.is_file():
                return trimesh.load(path, force="mesh", process=False)
        return None
    row = objects.get(uid)
    if not row or not row.get("local_path") or row.get("center") is None or row.get("scale") is None:
        return None
    local = Path(row["local_path"])
    candidates = [local] if local.is_absolute() else [Path.cwd() / local, Path(data) / local, Path(data).parent / local]
    for path in candidates:
        if path.is_file():
            return load_normalised_mesh(path, row["center"], row["scale"])
    return None


@torch.no_grad()
def evaluate_object(model: Any, ref: ObjectRef, reader: RowReader, lpips_model: Any, mesh_gt: Any,
                    mesh_resolution: int) -> tuple[dict[str, Any], list[np.ndarray]]:
    """Metrics of one object and the pictures for the grid: [input, pred_1, gt_1, pred_2, gt_2]."""
    device = next(model.parameters()).device
    first = ref.input_views[0]
    rgba = {i: decode_rgba(reader.rgba_bytes(ref, v)) for i, v in enumerate(ref.views)}
    q, s = geometry.canonical_similarity(ref.views[first].c2w)
    inp = input_image(rgba[first], model.cfg.cond_image_size)
    code = model.encode(inp[None].to(device))[0]
    rows, pictures = [], [inp.permute(1, 2, 0).numpy()]
    for i, view in enumerate(ref.views):
        if i == first:
            continue
        u, v = np.meshgrid(np.arange(view.width), np.arange(view.height))
        o, d = geometry.pixel_rays(geometry.transform_c2w(view.c2w, q, s), view.fx, view.fy, view.cx, view.cy, u, v)
        out = model.renderer.render_rays(model.decoder, code, torch.from_numpy(o).to(device), torch.from_numpy(d).to(device))
        pred = out["rgb"].float().cpu().numpy().reshape(view.height, view.width, 3).clip(0, 1)
        target = composite(rgba[i], 1.0)
        rows.append((metrics.psnr(pred, target), metrics.ssim(pred, target),
                     metrics.lpips_distance(lpips_model, pred, target)))
        if len(pictures) < 5:
            pictures += [pred, target]
    psnr, ssim, lp = (float(np.mean(c)) for c in zip(*rows)) if rows else (math.nan,) * 3
    result: dict[str, Any] = {"uid": ref.uid, "input_view": ref.views[first].view, "novel_views": len(rows),
                              "psnr": psnr, "ssim": ssim, "lpips": lp}
    if mesh_gt is not None:
        mesh_gt = mesh_gt.copy()
        mesh_gt.vertices = geometry.transform_points(mesh_gt.vertices, q, s)
        try:
            pred_mesh = model.extract_mesh(code[None], has_vertex_color=False, resolution=mesh_resolution)[0]
        except (ValueError, RuntimeError):  # marching cubes finds no level set: an empty prediction
            pred_mesh = None
        if pred_mesh is None or len(pred_mesh.faces) == 0:
            result.update({"chamfer": math.nan, **{f"fscore@{t:g}": 0.0 for t in metrics.F_THRESHOLDS},
                           "note": "no surface predicted"})
        else:
            result.update(metrics.mesh_metrics(pred_mesh, mesh_gt))
    return result, pictures


def evaluate(checkpoint_dir: str | Path, data: str | Path, out: str | Path, split: str = "test",
             gt_meshes: str | Path | None = None, mesh_resolution: int = 128, limit: int | None = None) -> dict:
    """Evaluate a checkpoint on `split` of `data`; writes report.json, report.md and grid.png into `out`."""
    from tk.model import TripoSR
    from tk.train.lpips_weights import load_lpips

    folder = resolve_checkpoint(checkpoint_dir)
    if gt_meshes is not None and not Path(gt_meshes).is_dir():
        raise TkError(f"--gt-meshes {gt_meshes}: no such folder (it holds <uid>.glb/.obj/.ply/.stl meshes)")
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model = TripoSR.from_pretrained(folder).to(device).eval()
    index = ShardIndex(str(data), split)
    objects = _objects_table(str(data))
    reader = RowReader(index)
    lpips_model = load_lpips("vgg").to(device)
    results, grid = [], []
    refs = index.objects[:limit] if limit else index.objects
    with progress() as bar:
        task = bar.add_task("eval", total=len(refs))
        for ref in refs:
            mesh = gt_mesh(ref.uid, gt_meshes, objects, str(data))
            row, pictures = evaluate_object(model, ref, reader, lpips_model, mesh, mesh_resolution)
            if mesh is None:
                row["note"] = "no ground-truth mesh"
            results.append(row)
            grid.append(pictures)
            bar.advance(task)
    report = _report(folder, str(data), split, results)
    out = Path(out)
    atomic.write_text(out / "report.json", json.dumps(report, indent=2, allow_nan=True) + "\n")
    atomic.write_text(out / "report.md", _markdown(report))
    _write_grid(out / "grid.png", grid)
    return report


def _report(folder: Path, data: str, split: str, results: list[dict[str, Any]]) -> dict[str, Any]:
    keys = ["psnr", "ssim", "lpips", "chamfer", *(f"fscore@{t:g}" for t in metrics.F_THRESHOLDS)]
    summary = {}
    for k in keys:
        vals = [r[k] for r in results if k in r and not (isinstance(r[k], float) and math.isnan(r[k]))]
        summary[k] = float(np.mean(vals)) if vals else None
    summary["objects"] = len(results)
    summary["meshes_compared"] = sum(1 for r in results if "chamfer" in r and not math.isnan(r["chamfer"]))
    protocol = {
        "novel_views": "every view but the input, full resolution, on white",
        "lpips": "VGG, lpips 0.1.4 heads, backbone built by `tk weights lpips`",
        "mesh": f"marching cubes at density 25; {metrics.N_POINTS} surface points; rotation search + ICP "
                "(no reflection, no scale); chamfer = plain symmetric mean NN distance, units of the normalised "
                f"object (longest side 1); F-score thresholds {list(metrics.F_THRESHOLDS)}",
    }
    return {"checkpoint": os.fspath(folder), "data": data, "split": split, "summary": summary,
            "protocol": protocol, "objects": results}


def _fmt(v: Any) -> str:
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else (f"{v:.4f}" if isinstance(v, float) else str(v))


def _markdown(report: dict[str, Any]) -> str:
    keys = ["psnr", "ssim", "lpips", "chamfer", *(f"fscore@{t:g}" for t in metrics.F_THRESHOLDS)]
    lines = [f"# tk eval: {report['checkpoint']}", "", f"Data `{report['data']}`, split `{report['split']}`, "
             f"{report['summary']['objects']} object(s).", "", "## Summary", "",
             "| " + " | ".join(keys) + " |", "|" + " --- |" * len(keys),
             "| " + " | ".join(_fmt(report["summary"][k]) for k in keys) + " |", "", "## Per object", "",
             "| uid | " + " | ".join(keys) + " | note |", "|" + " --- |" * (len(keys) + 2)]
    for r in report["objects"]:
        lines.append(f"| {r['uid'][:12]} | " + " | ".join(_fmt(r.get(k)) for k in keys) + f" | {r.get('note', '')} |")
    lines += ["", "## Protocol", ""] + [f"- {k}: {v}" for k, v in report["protocol"].items()]
    lines += ["", "`grid.png`: per object, the input, then (prediction, ground truth) for two novel views.", ""]
    return "\n".join(lines)


def _write_grid(path: Path, rows: list[list[np.ndarray]]) -> None:
    from PIL import Image

    if not rows:
        return
    size = max(p.shape[0] for r in rows for p in r)
    canvas = np.ones((len(rows) * size, 5 * size, 3), dtype=np.float32)
    for i, row in enumerate(rows):
        for j, pic in enumerate(row):
            im = Image.fromarray((pic.clip(0, 1) * 255).astype(np.uint8)).resize((size, size))
            canvas[i * size:(i + 1) * size, j * size:(j + 1) * size] = np.asarray(im, dtype=np.float32) / 255.0
    with atomic.atomic_path(path) as tmp:
        Image.fromarray((canvas * 255).astype(np.uint8)).save(tmp, format="PNG")
