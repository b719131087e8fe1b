"""`tk infer`: images with an alpha mask -> textured meshes and turntables with a TripoSR checkpoint."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

# the collection-trained model shipped in the repo (bench/generalise made it; its README.md says how)
SHIPPED_MODEL = Path(__file__).resolve().parents[1] / "models" / "sweethome3d-cpu"


def infer_command(
    images: List[Path] = typer.Argument(..., help="RGBA images (alpha = object mask); any size, mode or bit depth."),
    model: Optional[Path] = typer.Option(
        None, "--model", help="Checkpoint folder: config.yaml + model.safetensors or model.ckpt (default: the model "
        "trained on the Sweet Home 3D collection shipped in the repo, models/sweethome3d-cpu)."),
    out: Path = typer.Option(..., "--out", help="Output folder; one subfolder per image."),
    resolution: int = typer.Option(256, help="Marching-cubes grid resolution."),
    threshold: float = typer.Option(25.0, help="Density isosurface level."),
    foreground_ratio: Optional[float] = typer.Option(
        None, help="Share of the frame the object spans after cropping; default: the median of the model's training "
        "inputs (framing.json in the checkpoint), or 0.85 (the official value) for checkpoints without it."),
    format: str = typer.Option("glb,obj", "--format", help="Mesh formats, comma-separated: glb, obj, ply."),
    turntable_views: int = typer.Option(8, help="Turntable frames (0: none)."),
    turntable_size: int = typer.Option(128, help="Turntable frame size in pixels."),
    chunk_size: int = typer.Option(8192, help="Renderer points per decoder call (0: no chunking)."),
    prepared: bool = typer.Option(False, "--prepared", help="Inputs are RGB already on grey 0.5 and framed; use as is."),
    save_density: bool = typer.Option(False, "--save-density", help="Also write density.npy (the isosurface grid)."),
    device: str = typer.Option("cpu", help="torch device, e.g. cpu or cuda."),
) -> None:
    """Reconstruct a textured mesh from each image (official TripoSR preprocessing).

    Writes OUT/<image name>/input.png, mesh.glb, mesh.obj (vertex colours), turntable.gif and turntable.png.

    Example: tk infer chair.png mug.png --model checkpoints/triposr --out recon/

    Without --model, the 1.6M-parameter cpu model trained on 639 Sweet Home 3D objects shipped in the repo
    (models/sweethome3d-cpu/README.md says how it was made and what it scores on unseen objects).
    """
    from tk.errors import TkError
    from tk.model.infer import InferConfig, infer

    if model is None:
        model = SHIPPED_MODEL
        if not (model / "model.safetensors").is_file():
            raise TkError(f"no --model given and the shipped model {model} is missing (a tk installed without the "
                          "repo's models/ folder): pass --model CHECKPOINT_DIR")

    cfg = InferConfig(resolution=resolution, threshold=threshold, foreground_ratio=foreground_ratio,
                      formats=tuple(f.strip().lower() for f in format.split(",") if f.strip()),
                      turntable_views=turntable_views, turntable_size=turntable_size, chunk_size=chunk_size,
                      prepared=prepared, save_density=save_density, device=device)
    results = infer(images, model, out, cfg)
    if results:
        typer.echo(f"object framed to {results[0]['foreground_ratio']:.2f} of the image ({results[0]['foreground_ratio_from']})")
    for r in results:
        note = f"  ({r['warning']})" if "warning" in r else ""
        typer.echo(f"{r['image']} -> {r['dir']}  {r['vertices']} vertices, {r['faces']} faces{note}")


def register(app: typer.Typer) -> None:
    """Add this stage's commands to the tk app."""
    app.command("infer")(infer_command)
