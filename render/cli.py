"""`tk render` and `tk preview`: typer commands mapping options onto RenderConfig / contact_sheet."""

from __future__ import annotations

from typing import Optional

import typer


def _pair(text: str, option: str) -> tuple[float, float]:
    from tk.errors import TkError

    try:
        parts = [float(p) for p in text.split(",")]
    except ValueError:
        raise TkError(f"{option} {text!r}: expected MIN,MAX (or one number), e.g. 1.9,2.5") from None
    if len(parts) == 1:
        parts = parts * 2
    if len(parts) != 2 or parts[0] > parts[1]:
        raise TkError(f"{option} {text!r}: expected MIN,MAX with MIN <= MAX, e.g. 1.9,2.5")
    return parts[0], parts[1]


def _workers(text: str) -> int | str:
    from tk.errors import TkError

    if text == "auto":
        return text
    try:
        return int(text)
    except ValueError:
        raise TkError(f"--workers {text!r}: expected a number of workers or auto") from None


def render_cmd(
    manifest: Optional[str] = typer.Argument(None, help="a `tk curate` output folder (kept rows with a local_path)"),
    input_dir: Optional[str] = typer.Option(None, "--input", help="render the 3D files of this folder instead"),
    out: str = typer.Option(..., "--out", help="output folder: shards/, objects.parquet, render.json"),
    views: int = typer.Option(12, help="views per object"),
    resolution: int = typer.Option(512, help="image width and height in pixels"),
    engine: str = typer.Option("cycles", help="cycles | eevee | workbench"),
    samples: int = typer.Option(64, help="samples per pixel (Cycles, EEVEE)"),
    denoise: bool = typer.Option(True, help="Cycles denoising (OpenImageDenoise)"),
    device: str = typer.Option("cpu", help="cpu | gpu (Cycles with CUDA/OptiX/HIP when present)"),
    lighting: str = typer.Option("mixed", help="mixed | hdri | sky | studio | uniform"),
    lighting_per: str = typer.Option("object", help="draw lighting once per 'object' (for TripoSR) or per 'view' (view-dependent models only)"),
    hdri_dir: Optional[str] = typer.Option(None, help="folder of .exr/.hdr maps (default: Blender's bundled CC0 set)"),
    fovy: str = typer.Option("40", help="vertical field of view in degrees, or MIN,MAX"),
    distance: str = typer.Option("2.66,3.06", help="camera distance MIN,MAX (object's longest side is 1; the default never cuts it at fovy 40)"),
    elevation: str = typer.Option("-10,45", help="camera elevation MIN,MAX in degrees"),
    orbit: bool = typer.Option(False, help="evenly spaced orbit views instead of random ones (evaluation)"),
    depth: bool = typer.Option(True, help="store the depth pass"),
    normals: bool = typer.Option(True, help="store the world-normal pass"),
    workers: str = typer.Option("1", help="parallel Blender workers (Ray actors), or auto: as many as fit the cluster"),
    threads: int = typer.Option(0, help="CPUs each worker reserves and renders with (0: cores split between "
                                "workers; 1 with --workers auto)"),
    seed: int = typer.Option(0, help="seed of cameras and lighting"),
    split_seed: int = typer.Option(0, help="seed of the train/val/test split for --input files"),
    timeout: float = typer.Option(300.0, help="seconds per object before its worker is killed"),
    retries: int = typer.Option(2, help="retries of an object whose worker crashed or hung"),
    max_memory_gb: float = typer.Option(16.0, help="kill a worker above this resident memory (0: no limit)"),
    max_file_mb: float = typer.Option(1024.0, help="fail files bigger than this without importing them (0: no limit)"),
    address: Optional[str] = typer.Option(None, help="join this Ray cluster (e.g. auto or HOST:6379)"),
    objects_per_shard: int = typer.Option(64, help="objects per shard file"),
    limit: Optional[int] = typer.Option(None, help="render at most this many objects"),
) -> None:
    """Render objects into Parquet shards (RGBA, depth, normals, cameras, lighting); resumable.

    Example: tk render runs/curated --out runs/renders --views 12 --workers 2
    """
    from tk.render.config import RenderConfig
    from tk.render.pipeline import render

    cfg = RenderConfig(
        out=out, manifest=manifest, input_dir=input_dir, views=views, resolution=resolution, engine=engine,
        samples=samples, denoise=denoise, device=device, lighting=lighting, lighting_per=lighting_per,
        hdri_dir=hdri_dir, seed=seed, split_seed=split_seed, fovy_deg=_pair(fovy, "--fovy"),
        distance=_pair(distance, "--distance"), elevation_deg=_pair(elevation, "--elevation"), orbit=orbit,
        depth=depth, normals=normals, workers=_workers(workers), threads=threads, timeout=timeout, retries=retries,
        max_memory_gb=max_memory_gb, max_file_mb=max_file_mb, address=address, objects_per_shard=objects_per_shard, limit=limit,
    )
    s = render(cfg)
    typer.echo(f"{s['ok_total']} objects rendered ({s['ok']} now, {s['skipped']} already done), "
               f"{s['failed_total']} failed, {s['views_per_object']} views each, {s['seconds']:.0f} s → {out}")
    if s["node_loss_retries"] or s["actor_loss_retries"]:
        typer.echo(f"{s['node_loss_retries']} object(s) rendered again because their Ray node was lost, "
                   f"{s['actor_loss_retries']} because their actor died (not counted in --retries)")
    if s["failed_total"]:
        typer.echo(f"failed objects and their errors: {out}/objects.parquet (status = 'failed')")


def preview_cmd(
    renders_dir: str = typer.Argument(..., help="a `tk render` output folder"),
    out: str = typer.Option(..., "--out", help="PNG file to write"),
    objects: int = typer.Option(16, help="at most this many objects (rows)"),
    views: int = typer.Option(8, help="at most this many views per object (columns)"),
    cell: int = typer.Option(128, help="size of one image in pixels"),
    masks: bool = typer.Option(True, help="show each view's mask beside it"),
) -> None:
    """Write a contact sheet (objects x views, with masks) of a render folder.

    Example: tk preview runs/renders --out sheet.png
    """
    from tk.render.preview import contact_sheet

    s = contact_sheet(renders_dir, out, max_objects=objects, max_views=views, cell=cell, masks=masks)
    typer.echo(f"{s['objects']} objects x {s['views']} views → {out}")


def register(app: typer.Typer) -> None:
    """Add `tk render` and `tk preview` to the tk app."""
    app.command("render")(render_cmd)
    app.command("preview")(preview_cmd)
