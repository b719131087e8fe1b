"""Runs the curate and render stages for a release, through their config dataclasses and functions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tk.curate import pipeline as curate_pipeline
from tk.curate.config import CurateConfig
from tk.release.spec import (
    CURATE_RESERVED,
    RENDER_RESERVED,
    ReleaseSpec,
    SourceSpec,
    check_stage_options,
    spec_path,
)
from tk.render import pipeline as render_pipeline
from tk.render.pipeline import RenderConfig
from tk.sections import build


def curate_config(spec: ReleaseSpec, source: SourceSpec, out: Path, workers: int | None = None) -> Any:
    """The CurateConfig for one source of the spec, writing into `out`."""
    check_stage_options(spec.curation, CurateConfig, CURATE_RESERVED, "spec: curation")
    values: dict[str, Any] = {**_resolved_paths(spec.curation, CurateConfig, Path(spec.base or ".")),
                              "source": source.source, "out": out, "no_download": source.no_download, **source.paths()}
    if workers is not None:
        values["workers"] = workers
    # the one builder `tk curate`'s options use: `split: [0.8, 0.1, 0.1]` or "0.8,0.1,0.1" become its tuple
    return build(CurateConfig, values, "spec: curation")


def render_config(spec: ReleaseSpec, manifest_dir: Path, out: Path, workers: int | None = None) -> Any:
    """The RenderConfig that renders the kept rows of `manifest_dir` into `out` with the spec's settings."""
    check_stage_options(spec.render, RenderConfig, RENDER_RESERVED, "spec: render")
    values: dict[str, Any] = {**spec.render, "manifest": str(manifest_dir), "out": str(out)}
    if workers is not None:
        values["workers"] = workers
    # the one builder the CLI uses too: YAML lists (or "MIN,MAX" text) become the config's tuples
    return build(RenderConfig, values, "spec: render")


def check_spec_options(spec: ReleaseSpec) -> None:
    """Build both stage configs (configs read nothing on disk, so any folder names do): fails on a bad option
    before any work starts."""
    render_config(spec, Path("manifest"), Path("render"))
    for source in spec.sources:
        curate_config(spec, source, Path("curate"))


def run_curate(spec: ReleaseSpec, source: SourceSpec, out: Path, workers: int | None = None) -> dict[str, Any]:
    """Curate one source into `out` (manifest.parquet, manifest.duckdb, report.md, report.json)."""
    return curate_pipeline.run(curate_config(spec, source, out, workers))


def run_render(spec: ReleaseSpec, manifest_dir: Path, out: Path, workers: int | None = None) -> dict[str, Any]:
    """Render the kept objects of `manifest_dir` into `out` (shards/, objects.parquet, render.json)."""
    return render_pipeline.run(render_config(spec, manifest_dir, out, workers))


def _resolved_paths(section: dict[str, Any], config_cls: type, base: Path) -> dict[str, Any]:
    """The section with the values of Path-typed fields resolved against the spec's folder."""
    import typing

    hints = typing.get_type_hints(config_cls)
    out = dict(section)
    for key, value in section.items():
        if value is not None and Path in (hints.get(key), *typing.get_args(hints.get(key))) and isinstance(value, str):
            out[key] = spec_path(value, base)
    return out
