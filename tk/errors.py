"""Errors a user can act on: the CLI prints them as one line, without a traceback."""


class TkError(Exception):
    """A problem with the user's input or environment, with a message that says what to do."""


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
