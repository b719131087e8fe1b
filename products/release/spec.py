"""The release spec: a YAML file that names the sources, curation rules and render settings of a dataset.

The `curation` and `render` sections are passed to the stages as their own config dataclasses
(`tk.curate.config.CurateConfig`, `tk.render.config.RenderConfig`), so a spec accepts exactly the
options the stages accept and fails on anything else with one line naming the key. Both sections are
built by `tk.sections.build`, the builder `tk curate`'s and `tk render`'s options go through (YAML lists
and "a,b" text become tuples).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tk
from tk import yamlfile
from tk.curate import predicate
from tk.errors import TkError
from tk.sections import check_known

SOURCE_KINDS = ("objaverse", "objaverse-xl", "local")
# Options the release itself decides: where stages write, and how many workers run (not part of the data).
CURATE_RESERVED = ("source", "input", "xl_dir", "out", "licenses", "dry_run", "workers", "no_download", "ray_address")
RENDER_RESERVED = ("manifest", "input_dir", "out", "workers", "threads", "address")
# Render options that name a folder: resolved like source paths, and recorded resolved.
RENDER_PATHS = ("hdri_dir",)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_TOP_KEYS = ("name", "version", "description", "tk_version", "sources", "curation", "render")


class SpecError(TkError):
    """A release spec that cannot be built; the message names the file and the key."""


@dataclass(frozen=True)
class SourceSpec:
    """One curate source: its kind and the folders it reads, resolved to absolute paths."""

    source: str
    input: Path | None = None
    xl_dir: Path | None = None
    licenses: Path | None = None
    no_download: bool = False

    def paths(self) -> dict[str, Path]:
        """The source's folders and files by option name (only those that are set)."""
        return {k: v for k, v in (("input", self.input), ("xl_dir", self.xl_dir), ("licenses", self.licenses)) if v}


@dataclass(frozen=True)
class ReleaseSpec:
    """A validated release spec; `raw` is the YAML mapping as written, kept for RELEASE.json."""

    name: str
    version: str
    sources: tuple[SourceSpec, ...]
    description: str = ""
    tk_version: str | None = None
    curation: dict[str, Any] = field(default_factory=dict)
    render: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)
    base: str = ""

    def to_record(self) -> dict[str, Any]:
        """The spec as JSON-able data, with the resolved source paths beside the written ones."""
        return {
            "spec": self.raw,
            "source_base": self.base,
            "resolved_sources": [
                {"source": s.source, "no_download": s.no_download, **{k: str(v) for k, v in s.paths().items()}}
                for s in self.sources
            ],
            "resolved_render": self.render,
        }


def load_spec(path: str | Path, source_root: str | Path | None = None) -> ReleaseSpec:
    """Read and validate a spec file; relative source paths resolve against `source_root` or the spec's folder."""
    path = Path(path)
    if not path.is_file():
        raise SpecError(f"release spec not found: {path}; pass the path of a YAML spec (see manifests/*.yaml)")
    try:
        raw = yamlfile.read(path, str(path))
    except TkError as e:
        raise SpecError(str(e)) from None
    base = Path(source_root) if source_root is not None else path.resolve().parent
    return parse_spec(raw, base, where=str(path))


def parse_spec(raw: Any, base: Path, where: str = "spec") -> ReleaseSpec:
    """Validate a spec mapping; `base` is the folder relative source paths are resolved against."""
    if not isinstance(raw, dict):
        raise SpecError(f"{where}: a release spec is a YAML mapping with keys {', '.join(_TOP_KEYS)}")
    check_known(raw, _TOP_KEYS, where, error=SpecError)
    for key in ("name", "version", "sources"):
        if key not in raw:
            raise SpecError(f"{where}: missing required key '{key}'")
    name = str(raw["name"])
    if not _NAME.match(name):
        raise SpecError(f"{where}: name '{name}' must be letters, digits, '.', '_' or '-' (it names the release)")
    sources = raw["sources"]
    if not isinstance(sources, list) or not sources:
        raise SpecError(f"{where}: 'sources' must be a non-empty list, e.g. [{{source: local, input: objects}}]")
    curation = _section(raw, "curation", where)
    check_where(curation, f"{where}: curation.where")
    spec = ReleaseSpec(
        name=name,
        version=str(raw["version"]),
        description=str(raw.get("description") or ""),
        tk_version=None if raw.get("tk_version") is None else str(raw["tk_version"]),
        sources=tuple(_parse_source(s, base, f"{where}: sources[{i}]") for i, s in enumerate(sources)),
        curation=curation,
        render=_resolve_render_paths(_section(raw, "render", where), base, f"{where}: render"),
        raw=raw,
        base=str(base.resolve()),
    )
    _check_tk_version(spec, where)
    return spec


def _parse_source(raw: Any, base: Path, where: str) -> SourceSpec:
    if not isinstance(raw, dict):
        raise SpecError(f"{where}: each source is a mapping like {{source: local, input: DIR}}")
    check_known(raw, ("source", "input", "xl_dir", "licenses", "no_download"), where, error=SpecError)
    kind = raw.get("source")
    if kind not in SOURCE_KINDS:
        raise SpecError(f"{where}: source '{kind}' is not one of {', '.join(SOURCE_KINDS)}")
    paths: dict[str, Path] = {}
    for key in ("input", "xl_dir", "licenses"):
        if raw.get(key) is None:
            continue
        paths[key] = existing_path(raw[key], base, f"{where}: {key}")
    if kind == "local" and "input" not in paths:
        raise SpecError(f"{where}: a local source needs 'input', the folder of object files")
    if kind == "objaverse-xl" and "xl_dir" not in paths and "input" not in paths:
        raise SpecError(f"{where}: an objaverse-xl source needs 'xl_dir' (the downloaded XL annotations)")
    return SourceSpec(source=kind, no_download=bool(raw.get("no_download", False)), **paths)


def check_where(curation: Any, label: str) -> None:
    """Fail with one line when the curation section's `where` is not one predicate tk would run (see
    tk.curate.predicate): a spec that appends SQL or reads files is refused before anything runs."""
    if isinstance(curation, dict) and curation.get("where") is not None:
        try:
            predicate.check(curation["where"], label)
        except TkError as e:
            raise SpecError(str(e)) from None


def spec_path(value: Any, base: Path) -> Path:
    """A path written in a spec, resolved against `base` (the spec's folder or --source-root) unless absolute."""
    p = Path(str(value)).expanduser()
    return (p if p.is_absolute() else base / p).resolve()


def existing_path(value: Any, base: Path, label: str) -> Path:
    """`spec_path`, which must exist: else one SpecError line naming where it looked."""
    p = spec_path(value, base)
    if not p.exists():
        raise SpecError(f"{label} '{value}' not found (looked at {p}); fix the path or pass --source-root")
    return p


def _resolve_render_paths(render: dict[str, Any], base: Path, where: str) -> dict[str, Any]:
    for key in RENDER_PATHS:
        if render.get(key) is None:
            continue
        render[key] = str(existing_path(render[key], base, f"{where}: {key}"))
    return render


def _section(raw: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = raw.get(key) or {}
    if not isinstance(value, dict):
        raise SpecError(f"{where}: '{key}' must be a mapping of options")
    return dict(value)


def _check_tk_version(spec: ReleaseSpec, where: str) -> None:
    if spec.tk_version is None:
        return
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    text = spec.tk_version if spec.tk_version[0] in "<>=!~" else f"=={spec.tk_version}"
    try:
        allowed = SpecifierSet(text)
    except InvalidSpecifier:
        raise SpecError(f"{where}: tk_version '{spec.tk_version}' is not a version or range like '>=0.1'") from None
    if tk.__version__ not in allowed:
        raise SpecError(
            f"{where}: the spec needs tk {spec.tk_version}, this is tk {tk.__version__}; install that tk version"
        )


def check_stage_options(section: dict[str, Any], config_cls: type, reserved: tuple[str, ...], where: str) -> None:
    """Fail on a key that is not a field of the stage's config dataclass, or one the release sets itself."""
    names = [f.name for f in dataclasses.fields(config_cls) if f.init]
    for key in section:
        if key in reserved:
            raise SpecError(f"{where}: '{key}' is set by the release itself; remove it from the spec")
        if key not in names:
            allowed = ", ".join(n for n in names if n not in reserved)
            raise SpecError(f"{where}: unknown option '{key}'; allowed: {allowed}")
