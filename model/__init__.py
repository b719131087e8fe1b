"""tk.model: TripoSR (weight-compatible with the official release), its renderer, meshes and `tk infer`.

`from tk.model import TripoSR` imports torch; importing the package alone (as `tk --help` does, through
`tk.model.cli`) does not, so the CLI starts fast.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["TripoSR", "TripoSRConfig", "load_model_config"]
_WHERE = {"TripoSR": "tk.model.tsr", "TripoSRConfig": "tk.model.config", "load_model_config": "tk.model.config"}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'tk.model' has no attribute {name!r}")
