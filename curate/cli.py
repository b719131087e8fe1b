"""`tk curate`: its options are generated from tk.curate.config.CurateConfig (tk.sections.command)."""

from __future__ import annotations

import typer

from tk.curate.config import CurateConfig
from tk.sections import command

HELP = """Curate 3D objects into a manifest (manifest.parquet + manifest.duckdb) and a report.

Every candidate gets a row: kept, or rejected with the first rule it failed (license, file type,
size, download failed, unreadable, faces/vertices, animated, degenerate, duplicate sha256, score, --where, category cap).

Examples:

  tk curate --source local --input my_models/ --out cur/

  tk curate --source local --input manifests/sample --licenses manifests/sample/SOURCES.csv --out cur/

  tk curate --source objaverse-xl --xl-dir ~/.objaverse --xl-sources sketchfab,smithsonian --out xl/ --no-download

  tk curate --source objaverse --no-download --max-per-category 100 --out ov/ --dry-run
"""


def curate_run(cfg: CurateConfig) -> None:
    """Run the curation of `cfg` and print its table and summary."""
    from tk.curate import report
    from tk.curate.pipeline import run

    summary = run(cfg)
    report.print_table(summary)
    if cfg.dry_run:
        typer.echo(f"dry run: {summary['kept']} of {summary['rows']} would be kept; nothing written")
    else:
        typer.echo(f"{summary['kept']} of {summary['rows']} kept -> {cfg.out / 'manifest.parquet'}")  # type: ignore[operator]


# One option per CurateConfig field that has a help text: name, default and help come from the field.
curate_cmd = command(CurateConfig, curate_run, HELP)


def register(app: typer.Typer) -> None:
    """Add `tk curate` to the tk app."""
    app.command("curate", no_args_is_help=True)(curate_cmd)
