"""The settings of `tk release build | verify | rebuild`, one frozen config per command: each `setting` is an option
or argument of its command (tk.sections.command), so the CLI cannot drift from the library."""

from __future__ import annotations

from dataclasses import MISSING, dataclass
from pathlib import Path

from tk.sections import setting


@dataclass(frozen=True)
class BuildConfig:
    """`tk release build SPEC --out DIR`."""

    spec: Path = setting(MISSING, "Release spec (YAML), e.g. manifests/sample-release.yaml.", argument=True)
    out: Path = setting(MISSING, "Release folder to create (must not exist or be empty).", cli="--out")
    source_root: Path | None = setting(None, "Resolve relative source paths here instead of the spec's folder.",
                                       cli="--source-root")
    workers: int | None = setting(None, "Parallel workers for curate and render (does not change the data).",
                                  cli="--workers", run_only=True)


@dataclass(frozen=True)
class VerifyConfig:
    """`tk release verify ROOT`."""

    root: Path = setting(MISSING, "Release folder.", argument=True)


@dataclass(frozen=True)
class RebuildConfig:
    """`tk release rebuild ROOT --out DIR`."""

    root: Path = setting(MISSING, "Release folder to rebuild.", argument=True)
    out: Path = setting(MISSING, "Folder for the rebuilt release.", cli="--out")
    source_root: Path | None = setting(None, "Where the sources lie now, if not at the recorded folder.",
                                       cli="--source-root")
    workers: int | None = setting(None, "Parallel workers for curate and render.", cli="--workers", run_only=True)
