"""Config dataclasses defined once: strict construction from mappings (YAML, release specs, CLI values) and
the typer options generated from the same fields.

A field declared with `setting(default, help, ...)` is a CLI option: its name, default and help come from
the field, so the CLI cannot drift from the config. `build` turns a mapping into the dataclass, coercing
YAML lists and CLI text into the field's type (tuples, numbers, paths, nested sections); anything unknown
or malformed is one TkError line naming the key as the user wrote it.
"""

from __future__ import annotations

import dataclasses
import inspect
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import MISSING, fields
from pathlib import Path
from typing import Any

from tk.errors import TkError

_NoneType = type(None)


def setting(default: Any = MISSING, help: str = "", *, cli: str | None = None, argument: bool = False,
            run_only: bool = False, span: bool = False) -> Any:
    """A config field that is also a CLI option.

    `cli` overrides the option's declaration ("--fovy", "--animated/--no-animated"); `argument` makes it a
    positional argument; `run_only` marks settings that change how a job runs but not what it produces;
    `span` marks a (MIN, MAX) pair that may be given as one number and must have MIN <= MAX.
    """
    meta = {"help": help, "cli": cli, "argument": argument, "run_only": run_only, "span": span}
    return dataclasses.field(default=default, metadata=meta)


def check_known(values: Mapping[Any, Any], known: Iterable[str], where: str, what: str = "key",
                error: type[TkError] = TkError) -> None:
    """The one unknown-key check of every config, spec and section: `where: unknown key(s) [...]; allowed: [...]`."""
    allowed = sorted(known, key=str)
    unknown = sorted(set(values) - set(allowed), key=str)  # YAML keys may be numbers too
    if unknown:
        raise error(f"{where}: unknown {what}(s) {unknown}; allowed: {allowed}")


def option_name(f: dataclasses.Field) -> str:
    """How the CLI spells the field: its declared option, MANIFEST for an argument, else --the-name."""
    if f.metadata.get("argument"):
        return f.name.upper()
    cli = f.metadata.get("cli")
    return cli.split("/")[0] if cli else "--" + f.name.replace("_", "-")


def cli_fields(cls: type) -> list[dataclasses.Field]:
    """The fields of `cls` that are CLI options (declared with `setting`)."""
    return [f for f in fields(cls) if f.init and "help" in f.metadata]


def build(cls: type, values: Any, where: str, label: Callable[[dataclasses.Field], str] | None = None) -> Any:
    """Dataclass `cls` from mapping `values`, every value coerced to its field's type; one-line TkErrors.

    `where` starts each message ("spec: render"; empty for the CLI); `label` names a field as the user wrote it
    (the YAML key by default, `option_name` for the CLI). Nested dataclass fields take nested mappings.
    """
    label = label or (lambda f: f.name)
    values = values or {}
    if not isinstance(values, dict):
        raise TkError(f"{where or 'settings'}: expected a mapping, got {type(values).__name__}")
    known = {f.name: f for f in fields(cls) if f.init}
    check_known(values, known, where or "settings")
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for name, value in values.items():
        f = known[name]
        kwargs[name] = coerce(value, hints[name], _join(where, label(f)), span=f.metadata.get("span", False))
    try:
        return cls(**kwargs)
    except TypeError as e:
        raise TkError(_join(where, str(e))) from None


def _join(where: str, label: str) -> str:
    return f"{where}: {label}" if where else label


def build_section(what: str, name: str, cls: type, values: Any) -> Any:
    """Build dataclass `cls` from mapping `values` (section `name` of a YAML config); one-line TkErrors.

    `what` names the config in messages ("model config", "train config"), `name` the section.
    """
    values = values or {}
    if not isinstance(values, dict):
        raise TkError(f"{what}: section {name!r} must be a mapping")
    return build(cls, values, f"{what}: section {name!r}", lambda f: f.name)


def coerce(value: Any, tp: Any, label: str, span: bool = False) -> Any:
    """`value` as type `tp` (YAML lists and "a,b" text become tuples, ints become floats, str becomes Path)."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and _NoneType in args:
            return None
        options = [a for a in args if a is not _NoneType]
        for option in options[:-1]:
            try:
                return coerce(value, option, label, span)
            except TkError:
                pass
        return coerce(value, options[-1], label, span)
    if dataclasses.is_dataclass(tp):
        return value if isinstance(value, tp) else build(tp, value, label)
    if origin is tuple:
        return _sequence(value, args, label, span)
    if origin is list:
        return list(_sequence(value, (args[0], ...), label, False))
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise TkError(f"{label} {value!r}: expected true or false")
    if tp in (int, float):
        return _number(value, tp, label)
    if tp is str:
        if isinstance(value, str):
            return value
        raise TkError(f"{label} {value!r}: expected text")
    if tp is Path:
        if isinstance(value, (str, Path)):
            return Path(value)
        raise TkError(f"{label} {value!r}: expected a path")
    if origin is dict or tp is dict:
        if isinstance(value, dict):
            return value
        raise TkError(f"{label}: expected a mapping")
    return value


def _number(value: Any, tp: type, label: str) -> Any:
    kind = "a whole number" if tp is int else "a number"
    if isinstance(value, bool):
        raise TkError(f"{label} {value!r}: expected {kind}")
    if isinstance(value, str):
        try:
            value = tp(value.strip())
        except ValueError:
            raise TkError(f"{label} {value!r}: expected {kind}") from None
    if tp is float and isinstance(value, int):
        return float(value)
    if isinstance(value, tp):
        return value
    raise TkError(f"{label} {value!r}: expected {kind}")


def _sequence(value: Any, args: tuple, label: str, span: bool) -> tuple:
    variadic = len(args) == 2 and args[1] is Ellipsis
    what = "MIN,MAX (or one number), e.g. 1.9,2.5" if span else (
        "a list" if variadic else f"{len(args)} values, e.g. " + ",".join(["1"] * len(args)))
    items = value.split(",") if isinstance(value, str) else value
    if isinstance(items, (int, float)) and not isinstance(items, bool):
        items = [items]
    if not isinstance(items, (list, tuple)):
        raise TkError(f"{label} {value!r}: expected {what}")
    if span and len(items) == 1:
        items = list(items) * 2
    if not variadic and len(items) != len(args):
        raise TkError(f"{label} {value!r}: expected {what}")
    try:
        out = tuple(coerce(v, args[0] if variadic else a, label) for v, a in zip(items, args if not variadic else items))
    except TkError:
        raise TkError(f"{label} {value!r}: expected {what}") from None
    if span and out[0] > out[1]:
        raise TkError(f"{label} {value!r}: expected MIN,MAX with MIN <= MAX, e.g. 1.9,2.5")
    return out


def cli_text(value: Any, span: bool = False) -> Any:
    """A default as the CLI shows and parses it: tuples as "a,b" (a span with equal ends as one number)."""
    if isinstance(value, tuple):
        parts = [value[0]] if span and len(set(value)) == 1 else list(value)
        return ",".join(f"{v:g}" if isinstance(v, float) else str(v) for v in parts)
    return value


def command(cls: type, run: Callable[[Any], Any], doc: str, where: str = "") -> Callable[..., Any]:
    """A typer command whose options are the `setting` fields of `cls`; it builds the config and calls `run(cfg)`.

    Fields typed as a plain CLI type (int, float, bool, str, Path, or Optional of one) are typer options of
    that type; the others (tuples, unions) are text parsed by `build`, with the config default shown as text.
    """
    import typer

    hints = typing.get_type_hints(cls)
    params = []
    for f in cli_fields(cls):
        tp = hints[f.name]
        plain = _plain(tp)
        default = ... if f.default is MISSING else (f.default if plain else cli_text(f.default, f.metadata["span"]))
        if f.metadata["argument"]:
            info = typer.Argument(default, help=f.metadata["help"])
        else:
            decls = [f.metadata["cli"]] if f.metadata["cli"] else []
            info = typer.Option(default, *decls, help=f.metadata["help"])
        annotation = tp if plain else (typing.Optional[str] if f.default is None else str)
        if f.metadata["argument"] and _variadic(tp):  # IMAGES...: a list on the command line, a tuple in the config
            annotation = typing.List[str]
        params.append(inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=info, annotation=annotation))

    def cmd(**values: Any) -> Any:
        return run(build(cls, values, where, option_name))

    cmd.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    cmd.__annotations__ = {p.name: p.annotation for p in params}
    cmd.__doc__ = doc
    return cmd


def _variadic(tp: Any) -> bool:
    args = typing.get_args(tp)
    return typing.get_origin(tp) is tuple and len(args) == 2 and args[1] is Ellipsis


def _plain(tp: Any) -> bool:
    args = [a for a in typing.get_args(tp) if a is not _NoneType]
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return len(args) == 1 and _plain(args[0])
    return tp in (int, float, bool, str, Path)
