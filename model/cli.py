"""`tk infer`: images with an alpha mask -> textured meshes and turntables (options generated from InferConfig)."""

from __future__ import annotations

import typer

from tk.model.infer import InferConfig, run
from tk.sections import command

INFER_HELP = """Reconstruct a textured mesh from each image (official TripoSR preprocessing).

    Writes OUT/<image name>/input.png, mesh.glb, mesh.obj (vertex colours), turntable.gif and turntable.png.

    Example: tk infer chair.png mug.png --model checkpoints/triposr --out recon/

    Without --model, the 1.6M-parameter cpu model trained on 639 Sweet Home 3D objects shipped in the repo
    (models/sweethome3d-cpu/README.md says how it was made and what it scores on unseen objects).
    """


def infer_run(cfg: InferConfig) -> None:
    """Run `tk infer` with `cfg` and print where each mesh went."""
    s = run(cfg)
    typer.echo(f"object framed to {s['foreground_ratio']:.2f} of the image ({s['foreground_ratio_from']}); "
               f"surface at density {s['threshold']:g} ({s['threshold_from']})")
    for r in s["results"]:
        note = f"  ({r['warning']})" if "warning" in r else ""
        typer.echo(f"{r['image']} -> {r['dir']}  {r['vertices']} vertices, {r['faces']} faces{note}")


# One option per InferConfig field: name, default and help come from the field (tk.sections.command).
infer_command = command(InferConfig, infer_run, INFER_HELP)


def register(app: typer.Typer) -> None:
    """Add this stage's commands to the tk app."""
    app.command("infer")(infer_command)
