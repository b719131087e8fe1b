"""YAML from users (configs, release specs): parsed safely, any failure one TkError line naming the file.

PyYAML's safe loader raises more than YAMLError on hostile text: ValueError for a date such as 2001-02-30,
RecursionError for deep nesting; the file may not be UTF-8. All of them mean "fix the file".
"""

from __future__ import annotations

import os
from typing import Any

from tk.errors import TkError


def parse(text: str, label: str) -> Any:
    """The data of YAML `text`; `label` names it in the error ("train config FILE")."""
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        why = " ".join(str(getattr(e, "problem", None) or e).split())
        raise TkError(f"{label}: not valid YAML{where} ({why}); fix the file") from None
    except (ValueError, TypeError, OverflowError, RecursionError) as e:
        why = " ".join(str(e).split()) or type(e).__name__
        raise TkError(f"{label}: not valid YAML ({why[:200]}); fix the file") from None


def read(path: str | os.PathLike[str], label: str) -> Any:
    """The data of the YAML file at `path` (UTF-8, a byte-order mark allowed)."""
    try:
        with open(path, "rb") as fh:
            text = fh.read().decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise TkError(f"{label}: not UTF-8 text (byte {e.start}); save it as UTF-8") from None
    return parse(text, label)
