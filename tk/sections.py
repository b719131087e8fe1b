"""Strict construction of config dataclasses from YAML mappings (model and training configs)."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from tk.errors import TkError


def build_section(what: str, name: str, cls: type, values: Any) -> Any:
    """Build dataclass `cls` from mapping `values`; unknown keys or bad values are one-line TkErrors.

    `what` names the config in messages ("model config", "train config"), `name` the section.
    """
    values = values or {}
    if not isinstance(values, dict):
        raise TkError(f"{what}: section {name!r} must be a mapping")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise TkError(f"{what}: unknown key(s) {unknown} in section {name!r}; allowed: {sorted(known)}")
    try:
        return cls(**values)
    except TypeError as e:
        raise TkError(f"{what}: section {name!r}: {e}") from None
