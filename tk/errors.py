"""Errors a user can act on: the CLI prints them as one line, without a traceback."""

import re

# Line breaks and other control characters a message may quote from user input (a YAML key, a path).
_CONTROL = re.compile("[\x00-\x1f\x7f\x85\u2028\u2029]")


class TkError(Exception):
    """A problem with the user's input or environment, with a message that says what to do.

    The message stays one line whatever text it quotes: control characters are shown escaped (\\n).
    """

    def __init__(self, *args: object) -> None:
        if len(args) == 1 and isinstance(args[0], str):
            args = (_CONTROL.sub(lambda m: repr(m.group())[1:-1], args[0]),)
        super().__init__(*args)


class ContractError(TkError):
    """A file on disk does not match one of tk's data contracts (manifest, shards, checkpoints)."""


class MissingDependencyError(TkError):
    """An optional package or file is missing; the message names the command that installs it."""


def require(module: str, extra: str) -> None:
    """Fail with an install hint when `module` cannot be imported."""
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise MissingDependencyError(
            f"this command needs the '{module}' package: run `pip install -e '.[{extra}]'` (or `make install`)"
        )
