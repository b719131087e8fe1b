"""CurateConfig: every setting of a curation, validated on construction.

Defined once: `tk curate`'s options are generated from these fields and a release spec's `curation:`
section is built from them by tk.sections.build (see docs/design.md, "Configs"). The fields hold typed
values (a tuple of split fractions, a tuple of XL sources), never the CLI's text.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tk import splits
from tk.contracts import manifest as manifest_contract
from tk.curate import licenses, predicate
from tk.curate.sources import REGISTRY, objaverse_xl
from tk.errors import TkError
from tk.sections import cli_text, setting

SOURCES = tuple(REGISTRY)  # the --source values: one module each under curate/sources/


@dataclass(frozen=True)
class CurateConfig:
    """One `tk curate` run. Each field with a help text is also its `tk curate` option and a release-spec key;
    `flat_ratio` and `duckdb_table_max_rows` are set from Python or a spec only."""

    source: str = setting(help="objaverse, objaverse-xl or local.")
    out: Path | None = setting(None, "Output folder for manifest.parquet, manifest.duckdb, report.md/json.")
    input: Path | None = setting(None, "Folder of 3D files (--source local).")
    xl_dir: Path | None = setting(None, "Objaverse-XL annotations: DIR/<source>/<source>.parquet.")
    xl_sources: tuple[str, ...] | None = setting(
        None, "Comma list of github,sketchfab,thingiverse,smithsonian (default all).")
    objaverse_dir: Path | None = setting(None, "objaverse package cache (default ~/.objaverse).")
    objaverse_url: str | None = setting(None, "Mirror of the objaverse Hugging Face files (base URL).")
    download_dir: Path | None = setting(None, "Where downloaded XL files go (default OUT/objects).")
    no_download: bool = setting(False, "Curate on annotation metadata alone (no download, no probe).",
                                cli="--no-download")
    license: str = setting("cc-by", "cc-by (CC0 + CC-BY), commercial, all, or a comma list of ids.")
    licenses: Path | None = setting(None, "CSV/JSON mapping path -> license (+author,title,url) for local files.")
    workers: int = setting(2, "Concurrent download/probe tasks (Ray).")
    limit: int | None = setting(None, "Only the first N candidates.")
    dry_run: bool = setting(False, "Print the counts the rules give; write nothing.", cli="--dry-run")
    split: tuple[float, float, float] = setting((0.98, 0.01, 0.01), "train,val,test fractions.")
    split_seed: int = setting(0, "Seed of the split hash.")
    max_size_mb: float = setting(200.0, "Reject (and never download past) files larger than this.")
    min_faces: int | None = setting(None)
    max_faces: int | None = setting(1_000_000)
    min_vertices: int | None = setting(None)
    max_vertices: int | None = setting(None)
    animated: bool = setting(False, "Keep animated objects (default: reject).", cli="--animated/--no-animated")
    require_textures: bool = setting(False, "Reject objects without a texture.", cli="--require-textures")
    flat_ratio: float = 1e-3  # `degenerate`: shortest bbox side >= flat_ratio x longest
    scores: Path | None = setting(None, "Parquet/CSV with uid or sha256 and score.")
    min_score: float | None = setting(None, "Reject rows scoring below this (with --scores).")
    max_per_category: int | None = setting(None, "Keep at most N per category (best score first).")
    where: str | None = setting(None, "Your own rule: a DuckDB predicate rows must satisfy.")
    timeout: float = setting(120.0, "Seconds per object (download + probe).")
    retries: int = setting(1, "Retries of a crashed or timed-out object.")
    ray_address: str | None = setting(None, "Ray cluster address (default: a local Ray).", cli="--address")
    # bigger manifests are a view over manifest.parquet in manifest.duckdb
    duckdb_table_max_rows: int = manifest_contract.DUCKDB_TABLE_MAX_ROWS

    def __post_init__(self) -> None:
        """Check the options together; raise TkError naming the option and the fix."""
        if self.source not in SOURCES:
            raise TkError(f"--source {self.source!r}: choose one of {', '.join(SOURCES)}")
        REGISTRY[self.source].check(self)
        if self.out is None and not self.dry_run:
            raise TkError("--out DIR is required (or use --dry-run to only print the counts)")
        if self.workers < 1:
            raise TkError("--workers must be at least 1")
        if self.retries < 0:
            raise TkError("--retries must be at least 0")
        for name in ("limit", "min_faces", "max_faces", "min_vertices", "max_vertices", "max_per_category"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise TkError(f"--{name.replace('_', '-')} must not be negative")
        if self.max_size_mb <= 0 or self.timeout <= 0:
            raise TkError("--max-size-mb and --timeout must be positive")
        if (self.scores is None) != (self.min_score is None):
            raise TkError("--scores FILE and --min-score X go together")
        if not _numbers(self.split):
            raise TkError(f"--split {self.split!r}: expected three numbers such as 0.98,0.01,0.01")
        object.__setattr__(self, "split", splits.check_fractions(tuple(self.split), cli_text(tuple(self.split))))
        if isinstance(self.xl_sources, str):
            raise TkError(f"--xl-sources {self.xl_sources!r}: expected a tuple of names (the CLI and specs split text "
                          "through tk.sections.build)")
        object.__setattr__(self, "xl_sources", objaverse_xl.check_sources(self.xl_sources))
        licenses.allowed(self.license)
        if self.where is not None:
            predicate.check(self.where)

    @property
    def fractions(self) -> tuple[float, float, float]:
        """The train, val and test fractions (`split`)."""
        return self.split

    @property
    def max_bytes(self) -> int:
        """The size cap in bytes."""
        return int(self.max_size_mb * 1024 * 1024)


def _numbers(values: object) -> bool:
    return isinstance(values, (tuple, list)) and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


COLLECTIONS = ("sweethome3d",)


@dataclass(frozen=True)
class FetchConfig:
    """One `tk fetch`: a collection from the package registries unpacked into a folder `tk curate` takes."""

    collection: str = setting(help="sweethome3d: Debian's sweethome3d-furniture 1.8-1 (820 textured OBJ models).",
                              argument=True)
    out: Path = setting(help="Output folder: objects/, SOURCES.csv (--licenses mapping), collection.json.")
    deb: Path | None = setting(None, "Use this downloaded .deb instead of `apt-get download` (its sha256 is checked).")
    cache: Path | None = setting(None, "Where the downloaded package is kept (default ~/.cache/tk/debs).")
    catalogs: tuple[str, ...] | None = setting(
        None, "Comma list of catalogs (BlendSwap-CC-0,BlendSwap-CC-BY,KatorLegaz,Reallusion,Scopia; default all).")

    def __post_init__(self) -> None:
        if self.collection not in COLLECTIONS:
            raise TkError(f"tk fetch {self.collection!r}: choose one of {', '.join(COLLECTIONS)}")
