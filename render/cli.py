"""`tk render` (options generated from RenderConfig) and `tk preview` (options mapped onto contact_sheet)."""

from __future__ import annotations

import typer

from tk.render import pipeline
from tk.render.config import RenderConfig
from tk.render.preview import contact_sheet
from tk.sections import command

RENDER_HELP = """Render objects into Parquet shards (RGBA, depth, normals, cameras, lighting); resumable.

    Example: tk render runs/curated --out runs/renders --views 12 --workers 2
    """


def render_run(cfg: RenderConfig) -> None:
    """Run the render job of `cfg` and print its summary."""
    s = pipeline.run(cfg)
    out = cfg.out
    typer.echo(f"{s['ok_total']} objects rendered ({s['ok']} now, {s['skipped']} already done), "
               f"{s['failed_total']} failed, {s['views_per_object']} views each, {s['seconds']:.0f} s → {out}")
    if s["node_loss_retries"] or s["actor_loss_retries"]:
        typer.echo(f"{s['node_loss_retries']} object(s) rendered again because their Ray node was lost, "
                   f"{s['actor_loss_retries']} because their actor died (not counted in --retries)")
    if s["failed_total"]:
        typer.echo(f"failed objects and their errors: {out}/objects.parquet (status = 'failed')")


# One option per RenderConfig field: name, default and help come from the field (tk.sections.command).
render_cmd = command(RenderConfig, render_run, RENDER_HELP)


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
    s = contact_sheet(renders_dir, out, max_objects=objects, max_views=views, cell=cell, masks=masks)
    typer.echo(f"{s['objects']} objects x {s['views']} views → {out}")


def register(app: typer.Typer) -> None:
    """Add `tk render` and `tk preview` to the tk app."""
    app.command("render")(render_cmd)
    app.command("preview")(preview_cmd)
