"""Runs the curate and render stages for a release, through their config dataclasses and functions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tk.release.spec import (
    CURATE_RESERVED,
    RENDER_RESERVED,
    ReleaseSpec,
    SourceSpec,
    SpecError,
    check_stage_options,
)
from tk.sections import build


def curate_config(spec: ReleaseSpec, source: SourceSpec, out: Path, workers: int | None = None) -> Any:
    """The CurateConfig for one source of the spec, writing into `out`."""
    from tk.curate.pipeline import CurateConfig

    check_stage_options(spec.curation, CurateConfig, CURATE_RESERVED, "spec: curation")
    kwargs = _coerce(spec.curation, CurateConfig, Path(spec.base or "."))
    kwargs.update(source=source.source, out=out, no_download=source.no_download, **source.paths())
    if workers is not None:
        kwargs["workers"] = workers
    cfg = _construct(CurateConfig, kwargs, "curation")
    cfg.validate()  # CurateConfig checks its options together here, not on construction
    return cfg


def render_config(spec: ReleaseSpec, manifest_dir: Path, out: Path, workers: int | None = None) -> Any:
    """The RenderConfig that renders the kept rows of `manifest_dir` into `out` with the spec's settings."""
    from tk.render.pipeline import RenderConfig

    check_stage_options(spec.render, RenderConfig, RENDER_RESERVED, "spec: render")
    values: dict[str, Any] = {**spec.render, "manifest": str(manifest_dir), "out": str(out)}
    if workers is not None:
        values["workers"] = workers
    # the one builder the CLI uses too: YAML lists (or "MIN,MAX" text) become the config's tuples
    return build(RenderConfig, values, "spec: render")


def check_spec_options(spec: ReleaseSpec) -> None:
    """Build both stage configs on an empty scratch folder: fails on a bad option before any work starts."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="tk-release-check-") as tmp:
        render_config(spec, Path(tmp), Path(tmp) / "render")
        for source in spec.sources:
            curate_config(spec, source, Path(tmp) / "curate")


def run_curate(spec: ReleaseSpec, source: SourceSpec, out: Path, workers: int | None = None) -> dict[str, Any]:
    """Curate one source into `out` (manifest.parquet, manifest.duckdb, report.md, report.json)."""
    from tk.curate.pipeline import curate

    return curate(curate_config(spec, source, out, workers))


def run_render(spec: ReleaseSpec, manifest_dir: Path, out: Path, workers: int | None = None) -> dict[str, Any]:
    """Render the kept objects of `manifest_dir` into `out` (shards/, objects.parquet, render.json)."""
    from tk.render.pipeline import run

    return run(render_config(spec, manifest_dir, out, workers))


def _coerce(section: dict[str, Any], config_cls: type, base: Path) -> dict[str, Any]:
    """YAML values in the types the config expects: paths resolved against the spec's folder, lists
    such as `split: [0.8, 0.1, 0.1]` joined into the comma form the CLI option takes."""
    import dataclasses

    types = {f.name: str(f.type) for f in dataclasses.fields(config_cls)}
    out: dict[str, Any] = {}
    for key, value in section.items():
        kind = types.get(key, "")
        if value is not None and "Path" in kind:
            p = Path(str(value)).expanduser()
            value = p if p.is_absolute() else (base / p).resolve()
        elif isinstance(value, list) and kind.startswith("str"):
            value = ",".join(str(v) for v in value)
        out[key] = value
    return out


def _construct(cls: type, kwargs: dict[str, Any], section: str) -> Any:
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as e:
        raise SpecError(f"spec: {section}: {e}") from None
