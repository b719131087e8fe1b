"""`tk demo` (placeholder until issue 7 lands)."""

import typer


def register(app: typer.Typer) -> None:
    """Add `tk demo` to the tk app."""
