"""What a curate source is (`Source`), and the candidate columns every source fills what it knows of.

The pipeline holds one `Source` (the registry in `tk.curate.sources` picks it by `--source`) and never asks which one
it has: the source loads its candidates into DuckDB, says which columns it can fill without a probe and whether its
row order is free, and gives the probe tasks what they need to find its files. A new source is one module with one
`Source` object, added to the registry.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from tk import formats
from tk.errors import TkError

if TYPE_CHECKING:
    from tk.curate.config import CurateConfig

# Candidate columns and their DuckDB types: every source fills what it knows, the rest is NULL.
CANDIDATE_COLUMNS: dict[str, str] = {
    "uid": "VARCHAR", "source": "VARCHAR", "file_identifier": "VARCHAR", "file_type": "VARCHAR",
    "sha256": "VARCHAR", "license_raw": "VARCHAR", "attribution": "VARCHAR", "size_bytes": "BIGINT",
    "vertex_count": "BIGINT", "face_count": "BIGINT", "mesh_count": "BIGINT", "material_count": "BIGINT",
    "texture_count": "BIGINT", "animation_count": "BIGINT", "bbox_extent": "DOUBLE[3]", "local_path": "VARCHAR",
    "title": "VARCHAR", "author": "VARCHAR", "url": "VARCHAR", "category": "VARCHAR",
    "is_age_restricted": "BOOLEAN", "metadata": "VARCHAR", "missing_resources": "VARCHAR[]",
}


class Source(Protocol):
    """One kind of candidate source."""

    name: str  # the --source value
    # the columns it fills when nothing was probed; None: any may be filled (the pipeline counts the NULL ones)
    fills: frozenset[str] | None
    large: bool  # tens of millions of rows: row order is free (a parallel scan and write); others keep theirs

    def check(self, cfg: CurateConfig) -> None:
        """One TkError line when the config lacks what this source needs (a value check: no disk)."""

    def load(self, con: Any, cfg: CurateConfig, stats: dict[str, Any]) -> None:
        """Create view or table `candidates` with exactly CANDIDATE_COLUMNS (stats: what the report counts)."""

    def probe_settings(self, cfg: CurateConfig) -> dict[str, str]:
        """What every probe task of this source needs to fetch or find its files (objaverse_dir, input_root)."""


@dataclass(frozen=True)
class RowSource:
    """A source whose candidates are Python rows (a folder walk, an annotation cache): loaded through Arrow."""

    name: str
    rows: Any  # (cfg, stats) -> iterable of dicts with some of CANDIDATE_COLUMNS
    where: Any  # cfg -> the folder named in the "no 3D files found" line
    settings: Any  # cfg -> probe_settings
    needs: tuple[str, str] | None = None  # (config field, the line when it is missing)
    fills: frozenset[str] | None = None
    large: bool = False

    def check(self, cfg: CurateConfig) -> None:
        if self.needs is not None and getattr(cfg, self.needs[0]) is None:
            raise TkError(self.needs[1])

    def load(self, con: Any, cfg: CurateConfig, stats: dict[str, Any]) -> None:
        register_rows(con, self.rows(cfg, stats), self.where(cfg))

    def probe_settings(self, cfg: CurateConfig) -> dict[str, str]:
        return self.settings(cfg)


def register_rows(con: Any, rows: Iterable[dict[str, Any]], where: Any) -> None:
    """Table `candidates` (exactly CANDIDATE_COLUMNS, in their types) from Python rows; one line when there are none."""
    import pyarrow as pa

    found = list(rows)
    if not found:
        raise TkError(f"no 3D files found in {where}; supported types: {', '.join(formats.EXTENSIONS)}")
    table = pa.Table.from_pylist([{c: r.get(c) for c in CANDIDATE_COLUMNS} for r in found])
    con.register("candidates_arrow", table)
    cols = ", ".join(f"CAST({c} AS {t}) AS {c}" for c, t in CANDIDATE_COLUMNS.items())
    con.execute(f"CREATE TEMP TABLE candidates AS SELECT {cols} FROM candidates_arrow")
    con.unregister("candidates_arrow")
