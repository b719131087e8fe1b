"""`tk release build | verify | rebuild`: reproducible dataset releases."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

if TYPE_CHECKING:
    from tk.release.rebuild import RebuildResult

release_app = typer.Typer(
    name="release",
    help="Package a curated, rendered dataset with its licenses, hashes and spec, and check or rebuild it.\n\n"
    "Example: tk release build manifests/sample-release.yaml --out releases/sample",
    no_args_is_help=True,
)


@release_app.command("build")
def build_cmd(
    spec: Path = typer.Argument(..., help="Release spec (YAML), e.g. manifests/sample-release.yaml."),
    out: Path = typer.Option(..., "--out", help="Release folder to create (must not exist or be empty)."),
    source_root: Optional[Path] = typer.Option(None, "--source-root", help="Resolve relative source paths here instead of the spec's folder."),
    workers: Optional[int] = typer.Option(None, "--workers", help="Parallel workers for curate and render (does not change the data)."),
) -> None:
    """Curate and render from SPEC into a release folder with RELEASE.json, SHA256SUMS, ATTRIBUTION.md and a card.

    Example: tk release build manifests/sample-release.yaml --out releases/sample
    """
    from tk.progress import console
    from tk.release.build import build_release

    result = build_release(spec, out, source_root, workers)
    s = result.record["stats"]
    console.print(
        f"[green]release {result.record['name']} {result.record['version']}[/] -> {result.root}: "
        f"{s['rendered']} objects x {s['views_per_object']} views, {result.files} files hashed; "
        f"check it with: tk release verify {result.root}"
    )


@release_app.command("verify")
def verify_cmd(root: Path = typer.Argument(..., help="Release folder.")) -> None:
    """Check a release's hashes, schemas, counts and licenses; exits non-zero naming the first bad file.

    Example: tk release verify releases/sample
    """
    from tk.progress import console
    from tk.release.verify import verify_release

    report = verify_release(root)
    for name, detail in report.checks:
        console.print(f"[green]ok[/] {name:9s} {detail}")
    console.print(f"[green]release {root} verifies[/]")


@release_app.command("rebuild")
def rebuild_cmd(
    root: Path = typer.Argument(..., help="Release folder to rebuild."),
    out: Path = typer.Option(..., "--out", help="Folder for the rebuilt release."),
    source_root: Optional[Path] = typer.Option(None, "--source-root", help="Where the sources lie now, if not at the recorded folder."),
    workers: Optional[int] = typer.Option(None, "--workers", help="Parallel workers for curate and render."),
) -> None:
    """Rebuild a release from its own spec.yaml into DIR2 and compare manifests, cameras, lights and images.

    Example: tk release rebuild releases/sample --out releases/sample-again
    """
    from tk.release.rebuild import rebuild_release

    print_rebuild(rebuild_release(root, out, source_root, workers), root)


def print_rebuild(result: "RebuildResult", root: Path) -> None:
    """Print the comparison table of a rebuild; exit 1 when any check differs."""
    from rich.table import Table

    from tk.progress import console

    table = Table(title=f"rebuild of {root} -> {result.build.root}")
    for col in ("check", "rows", "equal", "worst", "result", "note"):
        table.add_column(col)
    for r in result.rows:
        table.add_row(r.what, str(r.compared), str(r.equal), r.worst, "[green]ok" if r.ok else "[red]MISMATCH", r.note)
    for name, then, now in result.versions:
        table.add_row(name, "", "", f"{then} -> {now}", "same" if then == now else "[yellow]differs", "version")
    console.print(table)
    if not result.ok:
        bad = ", ".join(r.what for r in result.rows if not r.ok)
        console.print(f"[red]rebuild differs from the release: {bad}[/]")
        raise typer.Exit(1)
    console.print("[green]rebuild matches the release[/]")


def register(app: typer.Typer) -> None:
    """Add `tk release` to the tk app."""
    app.add_typer(release_app, name="release")
