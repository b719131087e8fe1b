"""`tk curate`: the options map one to one onto tk.curate.pipeline.CurateConfig."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

HELP = """Curate 3D objects into a manifest (manifest.parquet + manifest.duckdb) and a report.

Every candidate gets a row: kept, or rejected with the first rule it failed (license, file type,
size, download failed, unreadable, faces/vertices, animated, degenerate, duplicate sha256, score, --where, category cap).

Examples:

  tk curate --source local --input my_models/ --out cur/

  tk curate --source local --input manifests/sample --licenses manifests/sample/SOURCES.csv --out cur/

  tk curate --source objaverse-xl --xl-dir ~/.objaverse --xl-sources sketchfab,smithsonian --out xl/ --no-download

  tk curate --source objaverse --no-download --max-per-category 100 --out ov/ --dry-run
"""


def register(app: typer.Typer) -> None:
    """Add `tk curate` to the tk app."""

    @app.command("curate", help=HELP, no_args_is_help=True)
    def curate_cmd(
        source: str = typer.Option(..., "--source", help="objaverse, objaverse-xl or local."),
        out: Optional[Path] = typer.Option(None, "--out", help="Output folder for manifest.parquet, manifest.duckdb, report.md/json."),
        input: Optional[Path] = typer.Option(None, "--input", help="Folder of 3D files (--source local)."),
        xl_dir: Optional[Path] = typer.Option(None, "--xl-dir", help="Objaverse-XL annotations: DIR/<source>/<source>.parquet."),
        xl_sources: Optional[str] = typer.Option(None, "--xl-sources", help="Comma list of github,sketchfab,thingiverse,smithsonian (default all)."),
        objaverse_dir: Optional[Path] = typer.Option(None, "--objaverse-dir", help="objaverse package cache (default ~/.objaverse)."),
        objaverse_url: Optional[str] = typer.Option(None, "--objaverse-url", help="Mirror of the objaverse Hugging Face files (base URL)."),
        download_dir: Optional[Path] = typer.Option(None, "--download-dir", help="Where downloaded XL files go (default OUT/objects)."),
        no_download: bool = typer.Option(False, "--no-download", help="Curate on annotation metadata alone (no download, no probe)."),
        license: str = typer.Option("cc-by", "--license", help="cc-by (CC0 + CC-BY), commercial, all, or a comma list of ids."),
        licenses: Optional[Path] = typer.Option(None, "--licenses", help="CSV/JSON mapping path -> license (+author,title,url) for local files."),
        workers: int = typer.Option(2, "--workers", help="Concurrent download/probe tasks (Ray)."),
        limit: Optional[int] = typer.Option(None, "--limit", help="Only the first N candidates."),
        dry_run: bool = typer.Option(False, "--dry-run", help="Print the counts the rules give; write nothing."),
        split: str = typer.Option("0.98,0.01,0.01", "--split", help="train,val,test fractions."),
        split_seed: int = typer.Option(0, "--split-seed", help="Seed of the split hash."),
        max_size_mb: float = typer.Option(200.0, "--max-size-mb", help="Reject (and never download past) files larger than this."),
        min_faces: Optional[int] = typer.Option(None, "--min-faces"),
        max_faces: Optional[int] = typer.Option(1_000_000, "--max-faces"),
        min_vertices: Optional[int] = typer.Option(None, "--min-vertices"),
        max_vertices: Optional[int] = typer.Option(None, "--max-vertices"),
        animated: bool = typer.Option(False, "--animated/--no-animated", help="Keep animated objects (default: reject)."),
        require_textures: bool = typer.Option(False, "--require-textures", help="Reject objects without a texture."),
        scores: Optional[Path] = typer.Option(None, "--scores", help="Parquet/CSV with uid or sha256 and score."),
        min_score: Optional[float] = typer.Option(None, "--min-score", help="Reject rows scoring below this (with --scores)."),
        max_per_category: Optional[int] = typer.Option(None, "--max-per-category", help="Keep at most N per category (best score first)."),
        where: Optional[str] = typer.Option(None, "--where", help="Your own rule: a DuckDB predicate rows must satisfy."),
        timeout: float = typer.Option(120.0, "--timeout", help="Seconds per object (download + probe)."),
        retries: int = typer.Option(1, "--retries", help="Retries of a crashed or timed-out object."),
        address: Optional[str] = typer.Option(None, "--address", help="Ray cluster address (default: a local Ray)."),
    ) -> None:
        from tk.curate import report
        from tk.curate.pipeline import CurateConfig, curate

        cfg = CurateConfig(
            source=source, out=out, input=input, xl_dir=xl_dir, xl_sources=xl_sources, objaverse_dir=objaverse_dir,
            objaverse_url=objaverse_url, download_dir=download_dir,
            no_download=no_download, license=license, licenses=licenses, workers=workers, limit=limit,
            dry_run=dry_run, split=split, split_seed=split_seed, max_size_mb=max_size_mb, min_faces=min_faces,
            max_faces=max_faces, min_vertices=min_vertices, max_vertices=max_vertices, animated=animated,
            require_textures=require_textures, scores=scores, min_score=min_score,
            max_per_category=max_per_category, where=where, timeout=timeout, retries=retries, ray_address=address,
        )
        summary = curate(cfg)
        report.print_table(summary)
        if dry_run:
            typer.echo(f"dry run: {summary['kept']} of {summary['rows']} would be kept; nothing written")
        else:
            typer.echo(f"{summary['kept']} of {summary['rows']} kept -> {out / 'manifest.parquet'}")  # type: ignore[operator]
