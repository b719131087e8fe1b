"""The `tk` command line: one typer app; each stage registers its own commands.

Stage modules (`tk.<stage>.cli`) only declare options at import; they import bpy, torch or ray
inside the command body, so `tk --help` stays fast.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Optional

import typer

import tk
from tk import faults
from tk.errors import TkError

# Order is the order of `tk --help`: the pipeline's order.
STAGE_CLIS = ("tk.curate.cli", "tk.render.cli", "tk.train.cli", "tk.model.cli", "tk.release.cli", "tk.demo")

app = typer.Typer(
    name="tk",
    help="Curate 3D objects, render them with Blender, and train TripoSR on the renders.\n\n"
    "Pipeline: tk curate -> tk render -> tk train -> tk infer / tk eval; tk release packages a dataset.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"tk {tk.__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Optional[bool] = typer.Option(
        None, "--version", callback=_version, is_eager=True, help="Print the tk version and exit."
    ),
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks instead of one-line errors."),
) -> None:
    if debug:
        os.environ["TK_DEBUG"] = "1"


for _mod in STAGE_CLIS:
    importlib.import_module(_mod).register(app)


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the app, turning TkError into one line on stderr (tracebacks with --debug)."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args or os.environ.get("TK_DEBUG") == "1"
    try:
        app(args=args, prog_name="tk", standalone_mode=False)
    except TkError as e:
        if debug:
            raise
        stopped = isinstance(e, (faults.StorageError, faults.StoppedError))  # what was kept, how to continue
        typer.secho(f"error: {faults.message(e, args) if stopped else e}",
                    fg=typer.colors.RED, err=True)
        return 2
    except KeyboardInterrupt:
        typer.secho("interrupted; finished work is saved, run the same command again to resume", err=True)
        return 130
    except typer.Exit as e:
        return e.exit_code
    except typer.Abort:
        typer.secho("aborted", err=True)
        return 1
    except Exception as e:
        # Usage errors (typer's vendored click) arrive here in non-standalone mode: show them as click does.
        if hasattr(e, "show") and isinstance(getattr(e, "exit_code", None), int):
            e.show()
            return e.exit_code
        if debug:
            raise
        fault = faults.message(e, args)  # a full disk, a read-only or deleted folder, in any library's words
        if fault is not None:
            typer.secho(f"error: {TkError(fault)}", fg=typer.colors.RED, err=True)
            return 2
        typer.secho(
            f"error: unexpected {type(e).__name__}: {e} (run again with --debug for the traceback)",
            fg=typer.colors.RED,
            err=True,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
