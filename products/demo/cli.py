"""`tk demo`: the whole pipeline on sample objects shipped in the repo (options generated from DemoConfig)."""

from __future__ import annotations

import typer

from tk.demo import pipeline
from tk.demo.config import DemoConfig
from tk.progress import console
from tk.sections import command

DEMO_HELP = """Curate, render, train and infer a mesh on sample objects; writes a contact sheet, a loss plot and the mesh.

    About 10 minutes on 2 CPU cores (--quick: 2-3 minutes). Example: tk demo --out demo-out
    """


def demo_run(cfg: DemoConfig) -> None:
    """Run the demo and print what it wrote and measured."""
    from rich.table import Table

    result = pipeline.run(cfg)
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


# One option per DemoConfig field: name, default and help come from the field (tk.sections.command).
demo_cmd = command(DemoConfig, demo_run, DEMO_HELP)


def register(app: typer.Typer) -> None:
    """Add `tk demo` to the tk app."""
    app.command("demo")(demo_cmd)
