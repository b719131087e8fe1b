"""`tk release build | verify | rebuild`: reproducible dataset releases."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from tk.progress import console
from tk.release.config import BuildConfig, RebuildConfig, VerifyConfig
from tk.release.build import build_release
from tk.release.rebuild import rebuild_release
from tk.release.verify import verify_release
from tk.sections import command

if TYPE_CHECKING:
    from tk.release.rebuild import RebuildResult

release_app = typer.Typer(
    name="release",
    help="Package a curated, rendered dataset with its licenses, hashes and spec, and check or rebuild it.\n\n"
    "Example: tk release build manifests/sample-release.yaml --out releases/sample",
    no_args_is_help=True,
)


def build_run(cfg: BuildConfig) -> None:
    """Build the release and say where it went."""
    result = build_release(cfg)
    s = result.record["stats"]
    console.print(
        f"[green]release {result.record['name']} {result.record['version']}[/] -> {result.root}: "
        f"{s['rendered']} objects x {s['views_per_object']} views, {result.files} files hashed; "
        f"check it with: tk release verify {result.root}"
    )


def verify_run(cfg: VerifyConfig) -> None:
    """Verify the release and list its checks."""
    report = verify_release(cfg.root)
    for name, detail in report.checks:
        console.print(f"[green]ok[/] {name:9s} {detail}")
    console.print(f"[green]release {cfg.root} verifies[/]")


def rebuild_run(cfg: RebuildConfig) -> None:
    """Rebuild the release and print the comparison."""
    print_rebuild(rebuild_release(cfg), cfg.root)


# One option per config field: name, default and help come from the field (tk.sections.command).
release_app.command("build")(command(BuildConfig, build_run, """Curate and render from SPEC into a release folder with RELEASE.json, SHA256SUMS, ATTRIBUTION.md and a card.

    Example: tk release build manifests/sample-release.yaml --out releases/sample
    """))
release_app.command("verify")(command(VerifyConfig, verify_run, """Check a release's hashes, schemas, counts and licenses; exits non-zero naming the first bad file.

    Example: tk release verify releases/sample
    """))
release_app.command("rebuild")(command(RebuildConfig, rebuild_run, """Rebuild a release from its own spec.yaml into DIR2 and compare manifests, cameras, lights and images.

    Example: tk release rebuild releases/sample --out releases/sample-again
    """))


def print_rebuild(result: "RebuildResult", root: Path) -> None:
    """Print the comparison table of a rebuild; exit 1 when any check differs."""
    from rich.table import Table

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
