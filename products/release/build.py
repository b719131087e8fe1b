"""`tk release build`: curate and render from a spec, then package, check and seal the release folder.

The release is assembled in a hidden staging folder beside DIR and renamed onto DIR only once it
verifies, so a failed or killed build never leaves a DIR that looks finished. Stage outputs live in
`.DIR.work/`, kept after a failure so that running the same build again resumes the stages.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tk import atomic, contracts, faults
from tk.contracts import manifest as manifest_contract
from tk.contracts import release as layout
from tk.contracts.renders import shard_paths, shards_dir
from tk.errors import TkError
from tk.progress import console
from tk.release import stages, sums
from tk.release.config import BuildConfig
from tk.release.package import check_rendered, license_policy, write_metadata, write_preview
from tk.release.spec import ReleaseSpec, load_spec
from tk.release.stats import kept_rows
from tk.release.verify import verify_release


@dataclass
class BuildResult:
    """A sealed release: its folder, its RELEASE.json record and the number of hashed files."""

    root: Path
    record: dict[str, Any]
    files: int


def build_release(cfg: BuildConfig) -> BuildResult:
    """Build the release of `cfg.spec` into `cfg.out` (which must not exist yet)."""
    spec = load_spec(cfg.spec, cfg.source_root)
    return build_from_spec(spec, Path(cfg.spec).read_text(encoding="utf-8"), Path(cfg.out), cfg.workers)


def build_from_spec(spec: ReleaseSpec, spec_text: str, out: Path, workers: int | None = None) -> BuildResult:
    """Build a validated spec (its YAML text is shipped as spec.yaml) into `out`."""
    out = out.resolve()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise TkError(f"{out} already exists and is not empty; choose a new --out folder or delete it")
    stages.check_spec_options(spec)
    work = out.parent / f".{out.name}.work"
    staging = out.parent / f".{out.name}.staging"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        (staging / layout.MANIFEST_DIR).mkdir(parents=True)
        work.mkdir(exist_ok=True)
    except OSError as e:  # a read-only or unwritable folder: one line naming it
        shutil.rmtree(staging, ignore_errors=True)
        err = faults.as_storage_error(e, staging)
        if err is None:
            raise
        raise err from e
    # The folders written in, held open (the folder of --out first): one deleted midway stops the build in one line
    # naming it, instead of the writes after it making a folder of that name again and the build failing later on a
    # part of its work that is missing, or sealing a release from such a folder.
    held = [faults.HeldFolder(f) for f in (out.parent, staging, work)]
    try:
        _curate(spec, work, staging / layout.MANIFEST_DIR, workers)
        _render(spec, staging / layout.MANIFEST_DIR, work / "render", staging / layout.RENDERS_DIR, workers)
        _check(held)

        check_rendered(staging)
        write_preview(staging)
        record = write_metadata(staging, spec, spec_text, license_policy(spec))
        n_files = sums.write_sums(staging)

        verify_release(staging)
        _check(held)
        if out.exists():
            out.rmdir()
        atomic.replace(staging, out)
    except BaseException as e:
        gone = next((h for h in held if h.gone()), None)  # asked before the staging folder is removed
        shutil.rmtree(staging, ignore_errors=True)
        if gone is None:
            raise
        if held[2].gone():  # a work folder made again after the deletion holds part of a run: not work to reuse
            shutil.rmtree(work, ignore_errors=True)
        held[0].remove_if_remade()
        if isinstance(e, faults.StorageError) and e.path == str(gone.path) or not isinstance(e, Exception):
            raise
        raise faults.StorageError(errno.ENOENT, gone.path) from e
    finally:
        for h in held:
            h.close()
    shutil.rmtree(work, ignore_errors=True)
    return BuildResult(out, record, n_files)


def _check(held: list[faults.HeldFolder]) -> None:
    """Raise StorageError(ENOENT) naming the first of the `held` folders that was deleted."""
    for h in held:
        h.check()


def _curate(spec: ReleaseSpec, work: Path, manifest_dir: Path, workers: int | None) -> None:
    outs = []
    for i, source in enumerate(spec.sources):
        console.print(f"[bold]curate[/] source {i + 1}/{len(spec.sources)}: {source.source} {source.input or ''}")
        out = work / f"curate-{i}"
        stages.run_curate(spec, source, out, workers)
        outs.append(out)
    if len(outs) == 1:
        for name in layout.MANIFEST_FILES:
            if (outs[0] / name).is_file():
                shutil.copy2(outs[0] / name, manifest_dir / name)
    else:
        merge_manifests(outs, manifest_dir)

    if not kept_rows(manifest_dir.parent):
        reports = ", ".join(str(manifest_contract.report_path(o, manifest_contract.REPORT_MD)) for o in outs)
        raise TkError(f"curation kept no object, so there is nothing to release; see {reports} and loosen "
                      "the spec's curation or sources")


def merge_manifests(dirs: list[Path], out: Path) -> None:
    """One manifest (parquet + DuckDB) from several curate outputs; each source's report is kept beside it."""
    import pyarrow as pa

    merged = pa.concat_tables([manifest_contract.read_manifest(d) for d in dirs], promote_options="permissive")
    staged = out / f".merged.{os.getpid()}.parquet"
    contracts.write_table(staged, merged, contracts.MANIFEST)
    try:  # the contract's one writer of a manifest folder: a DuckDB table, or a view when large
        manifest_contract.install(out, staged, merged.num_rows)
    finally:
        staged.unlink(missing_ok=True)
    for i, d in enumerate(dirs):
        for name in manifest_contract.REPORTS:
            if manifest_contract.report_path(d, name).is_file():
                shutil.copy2(manifest_contract.report_path(d, name), out / f"source-{i}.{name}")


def _render(spec: ReleaseSpec, manifest_dir: Path, work: Path, renders: Path, workers: int | None) -> None:
    console.print(f"[bold]render[/] {json.dumps(spec.render, sort_keys=True)}")
    stages.run_render(spec, manifest_dir, work, workers)
    # A stage may keep logs or temp files in its folder; the release ships the contract files only.

    shards_dir(renders).mkdir(parents=True)
    for name in layout.RENDER_FILES:
        shutil.copy2(work / name, renders / name)
    for shard in shard_paths(work):
        shutil.copy2(shard, shards_dir(renders) / shard.name)
