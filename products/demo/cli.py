"""`tk demo [--out DIR] [--quick]`: the whole pipeline on sample objects shipped in the repo."""

from __future__ import annotations

from pathlib import Path

import typer


def demo_cmd(
    out: Path = typer.Option(Path("demo-out"), "--out", help="Folder for the pictures, the mesh and the work files."),
    quick: bool = typer.Option(False, "--quick", help="Same path, smaller: 4 objects, 6 views, 60 steps (~2-3 min)."),
) -> None:
    """Curate, render, train `tiny` and infer a mesh on sample objects; writes a contact sheet, a loss plot and the mesh.

    About 10 minutes on 2 CPU cores (--quick: 2-3 minutes). Example: tk demo --out demo-out
    """
    from rich.table import Table

    from tk.demo import config
    from tk.demo.pipeline import run_demo
    from tk.progress import console

    cfg = (config.quick if quick else config.full)(out)
    result = run_demo(cfg)
    table = Table(title=f"tk demo finished in {result.numbers['seconds']:.0f} s: {result.out}")
    table.add_column("output")
    table.add_column("file")
    for name, path in result.files.items():
        table.add_row(name, str(path.relative_to(result.out)) if path.is_relative_to(result.out) else str(path))
    console.print(table)
    loss, mesh = result.numbers["loss"], result.numbers["mesh of the held-out object"]
    fit = result.numbers["training objects, novel views"]["mean"]
    console.print(f"loss {loss['first']:.4f} -> {loss['last']:.4f} over {loss['steps']} steps; training objects on "
                  f"views never trained on: mask IoU {fit['iou']:.2f}, PSNR {fit['psnr']:.1f} dB "
                  f"(all-white {fit['white_psnr']:.1f} dB) in training_fit.png")
    console.print(f"mesh of held-out '{mesh['object']}' ({mesh['split']} split, never seen in training): "
                  f"{mesh['vertices']} vertices, {mesh['faces']} faces")
    if "warning" in mesh:
        console.print(f"[yellow]warning: {mesh['warning']}[/]")


def register(app: typer.Typer) -> None:
    """Add `tk demo` to the tk app."""
    app.command("demo")(demo_cmd)
