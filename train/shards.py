"""The render shards as the trainer sees them: an index of objects and views, and row reads on demand.

Shards may lie on local disk or any pyarrow / fsspec filesystem (`s3://...`, `gs://...`, `memory://...`).
Building the index reads only the small columns (uid, view, split, cameras); image bytes are read
later, inside the loader workers, a whole chunk (a shard's row group, or the few row groups an object spans) at a
time, each file opened for one read and closed. For training the index keeps one record per chunk, not per object
or view (`keep_objects=False`): its memory does not grow with the objects, and a worker rebuilds a chunk's objects
from the chunk's own small columns when it reads the chunk's images (`ChunkReader`).

On remote storage (any URL but file://) every listing and read is retried as `ReadPolicy` allows
(train/remote_read.py: transient errors are routine there); `ShardIndex.retried` counts the retries of this process.
Local folders are read once: waiting does not mend their errors.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

from tk.contracts import SHARD, renders, validate_schema
from tk.errors import ContractError, TkError
from tk.geometry import INPUT_DISTANCE, INPUT_FOVY_DEG, View
from tk.train import geometry, remote_read
from tk.train.remote_read import ReadPolicy

T = TypeVar("T")
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
    chunk: int = -1  # which Chunk of the index holds its rows


@dataclass(frozen=True)
class Chunk:
    """The unit the trainer reads: row groups of one shard that no object crosses (one row group for tk's shards)."""

    shard: int
    row_groups: tuple[int, ...]
    objects: int  # objects of the index's split with an input candidate, in row order
    candidates: int  # their input candidate views


@dataclass
class ReadStats:
    """What readers of this process read of the image column: row groups and compressed bytes (bench.train)."""

    image_row_groups: int = 0
    bytes: int = 0


READ_STATS = ReadStats()


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


def is_remote(data: str) -> bool:
    """True for a URL of remote storage (s3://, gs://, any fsspec protocol but file://)."""
    return "://" in data and data.partition("://")[0].lower() not in ("file", "local")


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
    """Objects of the chosen split across all shards of a renders folder, in shard order, and their chunks.

    `objects` holds every object's views and cameras (evaluation, tools); with `keep_objects=False` (training) it stays
    empty and only `chunks` is kept, so the index's memory grows with the chunks, not with the objects or views.
    """

    def __init__(self, data: str, split: str = "train", fovy_tolerance_deg: float = 0.5,
                 exclude_views: Sequence[int] = (), keep_objects: bool = True, max_objects: int | None = None,
                 reads: ReadPolicy = ReadPolicy()) -> None:
        self.data = str(data)
        self.reads = reads if is_remote(self.data) else None  # how reads are retried (None: read once)
        self.retried = 0  # reads of this process retried so far (each DataLoader worker counts its own)
        self.fs, self.paths = self._retrying(self.data, lambda: list_shards(self.data))
        self.split = split
        self.fovy_tolerance_deg = fovy_tolerance_deg
        self.exclude_views = frozenset(exclude_views)
        self.objects: list[ObjectRef] = []
        self.chunks: list[Chunk] = []
        self.skipped_no_input: list[str] = []
        self.n_objects = 0
        self.candidates = 0  # input candidate views over all objects
        seen: dict[str, int] = {}  # uid -> shard, only while indexing (the duplicate check)
        # per chunk, while indexing: (shard, row groups, [(uid, input candidates, width, height, ref if kept)])
        pending: list[tuple[int, tuple[int, ...], list[tuple[str, int, int, int, ObjectRef | None]]]] = []
        for shard_id, path in enumerate(self.paths):
            for row_groups, refs in self._read_index(shard_id, path):
                kept = []
                for ref in refs:
                    if ref.uid in seen:
                        raise ContractError(f"{path}: object {ref.uid} also appears in {self.paths[seen[ref.uid]]}; "
                                            "all views of one object must lie in one shard (re-render into one folder)")
                    seen[ref.uid] = shard_id
                    if not self._select(ref):
                        continue
                    if ref.input_views:
                        kept.append((ref.uid, len(ref.input_views), min(v.width for v in ref.views),
                                     min(v.height for v in ref.views), ref if keep_objects else None))
                    else:
                        self.skipped_no_input.append(ref.uid)
                if kept:
                    pending.append((shard_id, row_groups, kept))
        del seen
        # data.max_objects: the first objects by a hash of their uid (nested for growing n), kept in shard order
        self.chosen = first_by_hash((e[0] for _, _, kept in pending for e in kept), max_objects) \
            if max_objects is not None else None
        width = height = 1 << 30
        for shard_id, row_groups, kept in pending:
            kept = [e for e in kept if self.chosen is None or e[0] in self.chosen]
            if not kept:
                continue
            self.chunks.append(Chunk(shard_id, row_groups, len(kept), sum(e[1] for e in kept)))
            self.n_objects += len(kept)
            self.candidates += self.chunks[-1].candidates
            width, height = min([width, *(e[2] for e in kept)]), min([height, *(e[3] for e in kept)])
            for e in kept:
                if e[4] is not None:
                    e[4].chunk = len(self.chunks) - 1
                    self.objects.append(e[4])
        self._size = (width, height)
        if not self.n_objects:
            extra = (f" ({len(self.skipped_no_input)} had no view with fovy {INPUT_FOVY_DEG:g} deg and "
                     f"d >= {INPUT_DISTANCE:g} to use as input)") \
                if self.skipped_no_input else ""
            raise TkError(f"{self.data}: no '{split}' objects to train on{extra}; render with the default cameras "
                          "or choose another --split")

    def _select(self, ref: ObjectRef) -> bool:
        """Keep `ref` if it is of the index's split; drop its excluded views and find its input candidates."""
        if self.split != "all" and ref.split != self.split:
            return False
        if self.exclude_views:  # held out for evaluation: neither input nor supervision
            ref.views = [v for v in ref.views if v.view not in self.exclude_views]
        ref.input_views = [i for i, v in enumerate(ref.views)
                           if geometry.is_input_view(v.c2w, v.fy, v.height, self.fovy_tolerance_deg)]
        return True

    def chunk_objects(self, chunk: int, table: Any, sizes: list[int]) -> list[ObjectRef]:
        """The objects of chunk number `chunk` (as the index counted them), from its rows' index columns."""
        c = self.chunks[chunk]
        refs = [r for r in _refs(c.shard, table, c.row_groups, sizes)
                if self._select(r) and r.input_views and (self.chosen is None or r.uid in self.chosen)]
        if len(refs) != c.objects:
            raise ContractError(f"{self.paths[c.shard]}: the shard changed while training; restart the run")
        for ref in refs:
            ref.chunk = chunk
        return refs

    def url(self, path: str) -> str:
        """`path` of the index's filesystem as the user would write it: a URL when the data is one."""
        if "://" not in self.data or "://" in path:
            return path
        return f"{self.data.partition('://')[0]}://{path.lstrip('/')}"

    def _retrying(self, url: str, fn: Callable[[], T]) -> T:
        """`fn()`, retried as `self.reads` allows (remote storage) and counted in `self.retried`."""
        if self.reads is None:
            return fn()

        def count() -> None:
            self.retried += 1

        return remote_read.read(self.reads, url, fn, count)

    # Not tk.contracts.renders.read_shard: that one reads a whole local shard, image bytes included, to
    # validate every row, while the trainer opens shards on any fsspec filesystem and reads a few columns
    # one chunk at a time inside loader workers; so it checks the schema here (validate_schema) and
    # leaves decoding to the contract's codecs.
    def _read(self, path: str, columns: Sequence[str], read: Callable[[Any], T]) -> T:
        """`read(ParquetFile of path)`: the file opened for this read and closed after it (a long run opens thousands
        of shards), the whole of it tried again on remote storage; a file that stays unreadable is a ContractError."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        opened = False

        def once() -> T:
            nonlocal opened
            opened = False
            with self.fs.open_input_file(path) as source:
                pf = pq.ParquetFile(source)
                opened = True
                return read(pf)

        try:
            return self._retrying(self.url(path), once)
        except (pa.ArrowInvalid, OSError) as e:
            what = f"cannot read column(s) {', '.join(columns)}" if opened else "not a readable Parquet file"
            raise ContractError(f"{self.url(path)}: {what} ({e})") from None

    def read_columns(self, shard: int, columns: list[str]) -> Any:
        """A pyarrow Table of `columns` of the whole shard number `shard` (its schema is checked when indexed)."""
        return self._read(self.paths[shard], columns, lambda pf: pf.read(columns=columns))

    def read_chunk(self, chunk: int, columns: list[str]) -> tuple[Any, list[int]]:
        """(`columns` of the rows of chunk number `chunk` in row order, rows per row group): one open, one read."""
        c = self.chunks[chunk]

        def read(pf: Any) -> tuple[Any, list[int]]:
            table = pf.read_row_groups(list(c.row_groups), columns=columns)
            if "rgba" in columns:
                _count_reads(pf, c.row_groups, columns)
            return table, [pf.metadata.row_group(rg).num_rows for rg in c.row_groups]

        return self._read(self.paths[c.shard], columns, read)

    def _read_index(self, shard_id: int, path: str) -> list[tuple[tuple[int, ...], list[ObjectRef]]]:
        """(row groups, objects) of each chunk of one shard: runs of row groups that no object crosses."""
        import pyarrow as pa

        def read(pf: Any) -> list[Any]:
            validate_schema(pf.schema_arrow, SHARD, path)
            return [pf.read_row_group(rg, columns=_INDEX_COLUMNS) for rg in range(pf.num_row_groups)]

        tables = self._read(path, _INDEX_COLUMNS, read)
        out, start = [], 0
        for rg in range(1, len(tables) + 1):
            if rg < len(tables) and tables[rg].num_rows and tables[rg - 1].num_rows \
                    and tables[rg].column("uid")[0] == tables[rg - 1].column("uid")[-1]:
                continue  # the object goes on in this row group: the same chunk
            part = tables[start:rg]
            groups = tuple(range(start, rg))
            out.append((groups, _refs(shard_id, pa.concat_tables(part), groups, [t.num_rows for t in part])))
            start = rg
        return out

    def image_size(self) -> tuple[int, int]:
        """The smallest (width, height) over all indexed views (patches must fit inside it)."""
        return self._size


def first_by_hash(uids: Iterable[str], n: int) -> frozenset[str]:
    """The first `n` uids by sha256 of the uid: a subset that only grows with n (data.max_objects)."""
    import hashlib

    return frozenset(sorted(uids, key=lambda u: hashlib.sha256(u.encode()).hexdigest())[:n])


def _refs(shard_id: int, table: Any, row_groups: tuple[int, ...], sizes: list[int]) -> list[ObjectRef]:
    """Objects (all views, in row order) of a table of index columns covering `row_groups` of `sizes` rows."""
    cols = {name: table.column(name).to_pylist() for name in _INDEX_COLUMNS}
    where = [(rg, row) for rg, n in zip(row_groups, sizes) for row in range(n)]
    refs: dict[str, ObjectRef] = {}
    for i, (rg, row) in enumerate(where):
        uid = cols["uid"][i]
        ref = refs.setdefault(uid, ObjectRef(uid=uid, split=cols["split"][i], shard=shard_id))
        ref.views.append(ViewMeta(
            view=int(cols["view"][i]), c2w=np.asarray(cols["c2w"][i], dtype=np.float64).reshape(4, 4),
            fx=float(cols["fx"][i]), fy=float(cols["fy"][i]), cx=float(cols["cx"][i]), cy=float(cols["cy"][i]),
            width=int(cols["width"][i]), height=int(cols["height"][i]), row_group=rg, row=row))
    return list(refs.values())


def _count_reads(pf: Any, row_groups: Sequence[int], columns: Sequence[str]) -> None:
    """Add what reading `columns` of `row_groups` costs (compressed column chunks, from the footer) to READ_STATS."""
    meta = pf.metadata
    for rg in row_groups:
        group = meta.row_group(rg)
        READ_STATS.image_row_groups += 1
        READ_STATS.bytes += sum(group.column(i).total_compressed_size for i in range(group.num_columns)
                                if group.column(i).path_in_schema.split(".")[0] in columns)


class _Rows:
    """The image column of one chunk as read: Arrow arrays (not Python objects), sliced per view on demand."""

    def __init__(self, index: ShardIndex, chunk: int, table: Any, sizes: list[int]) -> None:
        self.where = index.paths[index.chunks[chunk].shard]
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(int)
        self.offset = dict(zip(index.chunks[chunk].row_groups, (int(x) for x in starts)))
        self.uid, self.view, self.rgba = (table.column(n).combine_chunks() for n in ("uid", "view", "rgba"))

    def rgba_bytes(self, ref: ObjectRef, view: ViewMeta) -> bytes:
        i = self.offset[view.row_group] + view.row
        if self.uid[i].as_py() != ref.uid or self.view[i].as_py() != view.view:
            raise ContractError(f"{self.where}: the shard changed while training; restart the run")
        return self.rgba[i].as_py()


class RowReader:
    """Reads image bytes of the index's objects chunk by chunk, keeping the last chunk; no file stays open."""

    def __init__(self, index: ShardIndex) -> None:
        self.index = index
        self._chunk = -1
        self._rows: _Rows | None = None

    def rgba_bytes(self, ref: ObjectRef, view: ViewMeta) -> bytes:
        """The PNG bytes of one view."""
        if self._rows is None or self._chunk != ref.chunk:
            self._rows = None  # let the last chunk go before reading the next
            self._rows = _Rows(self.index, ref.chunk, *self.index.read_chunk(ref.chunk, ["uid", "view", "rgba"]))
            self._chunk = ref.chunk
        return self._rows.rgba_bytes(ref, view)


class ChunkReader:
    """The training reader: holds the images of a few whole chunks at once, each read once when loaded.

    `load` reads a chunk's index columns and images in one read (file closed after) and returns its objects;
    `finish` marks a chunk whose last object was used: it stays held, in case the next epoch starts with it (a worker
    with one chunk never reads it again), until a new chunk needs its place. Memory: the image column of at most
    `capacity` chunks, whatever the number of objects.
    """

    def __init__(self, index: ShardIndex, capacity: int = 1) -> None:
        self.index, self.capacity = index, max(1, capacity)
        self._held: dict[int, tuple[list[ObjectRef], _Rows]] = {}
        self._finished: list[int] = []  # held chunks no longer needed, oldest first

    def load(self, chunk: int) -> list[ObjectRef]:
        """The objects of chunk number `chunk`, reading it unless it is held."""
        if chunk in self._finished:
            self._finished.remove(chunk)  # needed again
        if chunk not in self._held:
            while len(self._held) >= self.capacity and self._finished:
                self._held.pop(self._finished.pop(0))
            table, sizes = self.index.read_chunk(chunk, [*_INDEX_COLUMNS, "rgba"])
            self._held[chunk] = (self.index.chunk_objects(chunk, table, sizes), _Rows(self.index, chunk, table, sizes))
        return self._held[chunk][0]

    def finish(self, chunk: int) -> None:
        """Chunk number `chunk` had its last object used: its place may go to the next chunk read."""
        if chunk in self._held and chunk not in self._finished:
            self._finished.append(chunk)

    def held(self) -> list[int]:
        """The chunks held now."""
        return list(self._held)

    def rgba_bytes(self, ref: ObjectRef, view: ViewMeta) -> bytes:
        """The PNG bytes of one view of an object of a held chunk."""
        return self._held[ref.chunk][1].rgba_bytes(ref, view)
