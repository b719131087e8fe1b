"""`tk release rebuild`: build a release again from its own spec.yaml and compare it with the original.

Sources are found where the build found them: relative paths in spec.yaml resolve against the folder
recorded in RELEASE.json (`source_base`, the spec's folder at build time), or against `source_root`
when given (a clone or copy of the sources elsewhere). Absolute paths are used as written.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tk.contracts import release as layout
from tk.release.build import BuildResult, build_from_spec
from tk.release.compare import Comparison, compare_releases
from tk.release.config import RebuildConfig
from tk.release.spec import SpecError, parse_spec
from tk.release.verify import verify_release
from tk.release.versions import resolved_versions


@dataclass
class RebuildResult:
    """The rebuilt release, the comparison rows, and the build versions of both (original, rebuild)."""

    build: BuildResult
    rows: list[Comparison]
    versions: list[tuple[str, str, str]]

    @property
    def ok(self) -> bool:
        """True when every compared aspect matches."""
        return all(r.ok for r in self.rows)


def rebuild_release(cfg: RebuildConfig) -> RebuildResult:
    """Verify the release at `cfg.root`, rebuild it from its spec into `cfg.out`, and compare the two."""
    import yaml

    root, out, source_root, workers = Path(cfg.root), cfg.out, cfg.source_root, cfg.workers
    verify_release(root)
    record = layout.read_record(root)
    spec_text = (root / layout.SPEC).read_text(encoding="utf-8")
    base = Path(source_root) if source_root is not None else Path(record["source_base"])
    if not base.is_dir():
        raise SpecError(f"source folder {base} (recorded at build time) not found; pass --source-root DIR")
    spec = parse_spec(yaml.safe_load(spec_text), base, where=f"{root / layout.SPEC}")
    built = build_from_spec(spec, spec_text, Path(out), workers)
    now = resolved_versions()
    then = record["versions"]
    versions = [(k, str(then.get(k)), str(now.get(k))) for k in ("tk", "blender", "python")]
    versions += [(k, str(then["packages"].get(k)), str(now["packages"].get(k))) for k in ("numpy", "pyarrow")]
    return RebuildResult(built, compare_releases(root, built.root), versions)
