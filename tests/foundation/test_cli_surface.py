"""The CLI's commands and options are frozen in cli_surface.json, so the CLI changes on purpose only.

Release specs and user scripts call the CLI; when a change is intended, regenerate the file with
`python tests/foundation/cli_surface.py > tests/foundation/cli_surface.json` and commit it.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.foundation.cli_surface import surface

FROZEN = Path(__file__).with_name("cli_surface.json")


def test_cli_surface_is_frozen():
    live = surface()
    frozen = json.loads(FROZEN.read_text())
    added = sorted(set(live) - set(frozen))
    removed = sorted(set(frozen) - set(live))
    assert not added and not removed, f"commands added {added}, removed {removed}: regenerate cli_surface.json"
    changed = {k: (frozen[k], live[k]) for k in live if live[k] != frozen[k]}
    assert not changed, f"options changed (frozen, live): {changed}; regenerate cli_surface.json if intended"


def test_design_commands_exist():
    live = surface()
    for cmd in ("tk curate", "tk render", "tk preview", "tk train", "tk eval", "tk infer",
                "tk release build", "tk release verify", "tk release rebuild", "tk demo", "tk weights lpips"):
        assert cmd in live, f"{cmd} is part of the CLI contract (docs/design.md)"
    assert {"--source", "--out", "--no-download", "--license", "--workers", "--limit", "--dry-run"} <= set(live["tk curate"])
    assert {"--views", "--resolution", "--engine", "--samples", "--lighting", "--hdri-dir", "--workers",
            "--seed", "--timeout", "--retries", "--address", "--input", "--out"} <= set(live["tk render"])
    assert {"--config", "--data", "--out", "--max-steps", "--resume"} <= set(live["tk train"])
