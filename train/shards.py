"""The render shards as the trainer sees them: an index of objects and views, and row reads on demand.

Shards may lie on local disk or any pyarrow / fsspec filesystem (`s3://...`, `gs://...`, `memory://...`).
Building the index reads only the small columns (uid, view, split, cameras); image bytes are read
later, one row group at a time, inside the loader workers.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from collections.abc import Sequence
from typing import Any

import numpy as np

from tk.contracts import renders, validate_schema
from tk.errors import ContractError, TkError
from tk.geometry import INPUT_DISTANCE, INPUT_FOVY_DEG, View
from tk.train import geometry

_INDEX_COLUMNS = ["uid", "view", "split", "c2w", "fx", "fy", "cx", "cy", "width", "height"]


@dataclass(frozen=True)
class ViewMeta(View):
    """One view: its camera (a tk.geometry.View) and where its row lies (row group, row inside the group)."""

    view: int
    row_group: int
    row: int


@dataclass
class ObjectRef:
    """All views of one object (they share one shard, by the contract) and which may be inputs."""

    uid: str
    split: str
    shard: int
    views: list[ViewMeta] = field(default_factory=list)
    input_views: list[int] = field(default_factory=list)  # positions in `views`

    @property
    def first_row_group(self) -> int:
        """The row group where the object starts: the unit of streaming order."""
        return min(v.row_group for v in self.views)


def open_filesystem(path: str) -> tuple[Any, str]:
    """(pyarrow FileSystem, path inside it) for a local path, a pyarrow URI or any fsspec URL."""
    import pyarrow as pa
    import pyarrow.fs as pafs

    if "://" not in path:
        return pafs.LocalFileSystem(), str(path)
    try:
        return pafs.FileSystem.from_uri(path)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # pyarrow knows file, s3, gs, hdfs; others: fsspec
        import fsspec

        protocol, _, rest = path.partition("://")
        try:
            fs = fsspec.filesystem(protocol)
        except (ImportError, ValueError) as e:
            raise TkError(f"{path}: no filesystem for '{protocol}://' ({e}); install its fsspec package") from None
        return pafs.PyFileSystem(pafs.FSSpecHandler(fs)), rest


def list_shards(data: str) -> tuple[Any, list[str]]:
    """The filesystem and sorted shard paths of a renders folder (its shards/ folder, or the folder itself)."""
    import pyarrow.fs as pafs

    fs, root = open_filesystem(str(data))
    candidates = [posixpath.join(root, renders.SHARDS_DIR), root]
    for folder in candidates:
        info = fs.get_file_info(folder)
        if info.type == pafs.FileType.Directory:
            files = fs.get_file_info(pafs.FileSelector(folder))
            shards = sorted(f.path for f in files if f.is_file and renders.is_shard_name(f.base_name))
            if shards:
                return fs, shards
    raise TkError(f"{data}: no render shards ({renders.SHARDS_DIR}/{renders.SHARD_PATTERN}); "
                  f"run `tk render ... --out {data}` first")


class ShardIndex:
    """Objects of the chosen split across all shards of a renders folder, in shard order."""

    def __init__(self, data: str, split: str = "train", fovy_tolerance_deg: float = 0.5,
                 exclude_views: Sequence[int] = ()) -> None:
        self.data = str(data)
        self.fs, self.paths = list_shards(self.data)
        self.split = split
        self.objects: list[ObjectRef] = []
        self.skipped_no_input: list[str] = []
        seen: dict[str, int] = {}
        for shard_id, path in enumerate(self.paths):
            for ref in self._read_index(shard_id, path):
                if ref.uid in seen:
                    raise ContractError(f"{path}: object {ref.uid} also appears in {self.paths[seen[ref.uid]]}; "
                                        "all views of one object must lie in one shard (re-render into one folder)")
                seen[ref.uid] = shard_id
                if split != "all" and ref.split != split:
                    continue
                if exclude_views:  # held out for evaluation: neither input nor supervision
                    ref.views = [v for v in ref.views if v.view not in set(exclude_views)]
                ref.input_views = [i for i, v in enumerate(ref.views)
                                   if geometry.is_input_view(v.c2w, v.fy, v.height, fovy_tolerance_deg)]
                if ref.input_views:
                    self.objects.append(ref)
                else:
                    self.skipped_no_input.append(ref.uid)
        if not self.objects:
            extra = (f" ({len(self.skipped_no_input)} had no view with fovy {INPUT_FOVY_DEG:g} deg and "
                     f"d >= {INPUT_DISTANCE:g} to use as input)") \
                if self.skipped_no_input else ""
            raise TkError(f"{self.data}: no '{split}' objects to train on{extra}; render with the default cameras "
                          "or choose another --split")

    # Not tk.contracts.renders.read_shard: that one reads a whole local shard, image bytes included, to
    # validate every row, while the trainer opens shards on any fsspec filesystem and reads a few columns
    # one row group at a time inside loader workers; so it checks the schema here (validate_schema) and
    # leaves decoding to the contract's codecs.
    def _open(self, path: str) -> Any:
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            return pq.ParquetFile(self.fs.open_input_file(path))
        except (pa.ArrowInvalid, OSError) as e:
            raise ContractError(f"{path}: not a readable Parquet file ({e})") from None

    def read_columns(self, shard: int, columns: list[str]) -> Any:
        """A pyarrow Table of `columns` of the whole shard number `shard` (its schema is checked when indexed)."""
        import pyarrow as pa

        path = self.paths[shard]
        try:
            return self._open(path).read(columns=columns)
        except (pa.ArrowInvalid, OSError) as e:
            raise ContractError(f"{path}: cannot read column(s) {', '.join(columns)} ({e})") from None

    def _read_index(self, shard_id: int, path: str) -> list[ObjectRef]:
        pf = self._open(path)
        validate_schema(pf.schema_arrow, "shard", path)
        refs: dict[str, ObjectRef] = {}
        for rg in range(pf.num_row_groups):
            table = pf.read_row_group(rg, columns=_INDEX_COLUMNS).to_pydict()
            for row in range(len(table["uid"])):
                uid = table["uid"][row]
                ref = refs.setdefault(uid, ObjectRef(uid=uid, split=table["split"][row], shard=shard_id))
                ref.views.append(ViewMeta(
                    view=int(table["view"][row]), c2w=np.asarray(table["c2w"][row], dtype=np.float64).reshape(4, 4),
                    fx=float(table["fx"][row]), fy=float(table["fy"][row]), cx=float(table["cx"][row]),
                    cy=float(table["cy"][row]), width=int(table["width"][row]), height=int(table["height"][row]),
                    row_group=rg, row=row))
        return list(refs.values())

    def image_size(self) -> tuple[int, int]:
        """The smallest (width, height) over all indexed views (patches must fit inside it)."""
        return (min(v.width for o in self.objects for v in o.views), min(v.height for o in self.objects for v in o.views))


class RowReader:
    """Reads image bytes of views row group by row group, keeping the last group (one per worker)."""

    def __init__(self, index: ShardIndex) -> None:
        self.index = index
        self._files: dict[int, Any] = {}
        self._cached: tuple[int, int] | None = None
        self._table: dict[str, list[Any]] = {}

    def rgba_bytes(self, ref: ObjectRef, view: ViewMeta) -> bytes:
        """The PNG bytes of one view."""
        key = (ref.shard, view.row_group)
        if self._cached != key:
            pf = self._files.get(ref.shard)
            if pf is None:
                pf = self._files[ref.shard] = self.index._open(self.index.paths[ref.shard])
            self._table = pf.read_row_group(view.row_group, columns=["uid", "view", "rgba"]).to_pydict()
            self._cached = key
        if self._table["uid"][view.row] != ref.uid or self._table["view"][view.row] != view.view:
            raise ContractError(f"{self.index.paths[ref.shard]}: the shard changed while training; restart the run")
        return self._table["rgba"][view.row]
