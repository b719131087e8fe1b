"""Dump the CLI surface (commands and their options) as JSON: `python tests/foundation/cli_surface.py > tests/foundation/cli_surface.json`.

The frozen copy makes the CLI grow on purpose only: a test compares the live surface with it.
"""

from __future__ import annotations

import json
import sys
from typing import Any


def surface() -> dict[str, Any]:
    """Map 'tk sub cmd' → sorted option names (and argument names) for every command."""
    import typer.main

    from tk.cli import app

    out: dict[str, list[str]] = {}

    def walk(cmd: Any, path: str) -> None:
        names: list[str] = []
        for p in cmd.params:
            opts = list(getattr(p, "opts", [])) + list(getattr(p, "secondary_opts", []))
            names.extend(opts if p.param_type_name == "option" else [p.name.upper()])
        out[path] = sorted(names)
        for name, sub in sorted(getattr(cmd, "commands", {}).items()):
            walk(sub, f"{path} {name}")

    walk(typer.main.get_command(app), "tk")
    return out


if __name__ == "__main__":
    json.dump(surface(), sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")
