"""Contract 2, render → train: a render folder, its tables, the codecs of a view, its reader and writer.

Layout of a render folder (docs/design.md):

    OUT/shards/shard-NNNNN.parquet   one row per view (SHARD); all views of one object in one shard
    OUT/objects.parquet              one row per object (OBJECTS, plus OBJECT_EXTRA)
    OUT/render.json                  every setting, the seed, the Blender and tk versions

Codecs of a shard row (the only code that turns a row's bytes into arrays, or back):
- `rgba`: PNG, 8-bit RGBA, straight alpha (alpha is the object mask), row 0 at the top;
- `depth`: float16 little-endian (H, W), planar distance along -Z in world units, 0 off the object;
- `normal`: PNG RGB of world-space normals encoded n*0.5+0.5;
- `surface`: float16 little-endian rows (x, y, z, nx, ny, nz) of the object's normalised surface.

Readers: `shard_paths`, `read_shard`, `read_views`, `read_objects`, `read_record`; writers: `write_shard`,
`write_objects`. Files on other filesystems (tk train's fsspec paths) use `is_shard_name` and `validate_schema`.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from tk.contracts.manifest import SPLITS
from tk.contracts.tables import TableSpec, read_table, schema, write_table
from tk.errors import ContractError, TkError

STATUS_OBJECTS = ("ok", "failed")
SURFACE_ROW_BYTES = 12  # six float16

# ---- tables -----------------------------------------------------------------------------------------------

SHARD_FIELDS: list[pa.Field] = [
    pa.field("uid", pa.string(), nullable=False),
    pa.field("view", pa.int32(), nullable=False),
    pa.field("split", pa.string(), nullable=False),
    pa.field("rgba", pa.binary(), nullable=False),
    pa.field("depth", pa.binary()),
    pa.field("normal", pa.binary()),
    pa.field("c2w", pa.list_(pa.float32(), 16), nullable=False),
    pa.field("fx", pa.float32(), nullable=False),
    pa.field("fy", pa.float32(), nullable=False),
    pa.field("cx", pa.float32(), nullable=False),
    pa.field("cy", pa.float32(), nullable=False),
    pa.field("width", pa.int32(), nullable=False),
    pa.field("height", pa.int32(), nullable=False),
    pa.field("light", pa.string(), nullable=False),
    # float16 LE rows (x, y, z, nx, ny, nz) of the object's normalised surface, on its first view's row only
    pa.field("surface", pa.binary()),
]

OBJECTS_FIELDS: list[pa.Field] = [
    pa.field("uid", pa.string(), nullable=False),
    pa.field("local_path", pa.string()),
    pa.field("status", pa.string(), nullable=False),
    pa.field("error", pa.string()),
    pa.field("attempts", pa.int32(), nullable=False),
    pa.field("seconds", pa.float64()),
    pa.field("center", pa.list_(pa.float64(), 3)),
    pa.field("scale", pa.float64()),
]
# the columns tk render adds to objects.parquet beyond the required ones
OBJECT_EXTRA = [pa.field("split", pa.string()), pa.field("file_type", pa.string()), pa.field("shard", pa.string()),
                pa.field("missing_textures", pa.list_(pa.string()))]


def _check_shard_rows(table: pa.Table, at: str) -> None:
    import pyarrow.compute as pc

    keys = pc.binary_join_element_wise(table.column("uid"), pc.cast(table.column("view"), pa.string()), "#")
    if len(pc.unique(keys)) != table.num_rows:
        raise ContractError(f"{at}duplicate (uid, view) rows")
    has_surface = pc.is_valid(table.column("surface"))
    with_surface = pc.filter(table.column("uid"), has_surface)
    if len(pc.unique(with_surface)) != len(with_surface):
        raise ContractError(f"{at}an object has a `surface` on more than one row (it belongs on its first view's row)")
    lengths = pc.binary_length(pc.filter(table.column("surface"), has_surface)).to_numpy(zero_copy_only=False)
    if (lengths % SURFACE_ROW_BYTES).any() or not lengths.all():
        raise ContractError(f"{at}a `surface` is not whole float16 (x, y, z, nx, ny, nz) rows")


SHARD = TableSpec("shard", "2", tuple(SHARD_FIELDS), {"split": SPLITS}, _check_shard_rows, changes={
    "2": "version 2 added the `surface` column (each object's rendered geometry, the ground truth of "
         "`tk eval`); re-render with `tk render` into a new --out folder",
})
OBJECTS = TableSpec("objects", "1", tuple(OBJECTS_FIELDS), {"status": STATUS_OBJECTS})

# ---- layout -----------------------------------------------------------------------------------------------

SHARDS_DIR = "shards"
OBJECTS_FILE = "objects.parquet"
RENDER_JSON = "render.json"
FILES = (OBJECTS_FILE, RENDER_JSON)  # the folder's files besides its shards
SHARD_PATTERN = "shard-NNNNN.parquet"
_SHARD_RE = re.compile(r"^shard-(\d{5,})\.parquet$")
RECORD_KEY = "tk.render"  # shard metadata: {"settings": the run's settings, "objects": its objects.parquet rows}


def shard_name(index: int) -> str:
    """The file name of shard number `index`."""
    return f"shard-{index:05d}.parquet"


def shard_index(name: str) -> int | None:
    """The number of a shard file name; None for any other name (temp files, stray files)."""
    m = _SHARD_RE.match(name)
    return int(m.group(1)) if m else None


def is_shard_name(name: str) -> bool:
    """Whether a file name (no folder) is a shard's."""
    return shard_index(name) is not None


def shards_dir(folder: str | os.PathLike[str]) -> Path:
    """The shards folder of a render folder."""
    return Path(folder) / SHARDS_DIR


def shard_paths(folder: str | os.PathLike[str]) -> list[Path]:
    """The shards of a render folder in name order (empty when it has none)."""
    d = shards_dir(folder)
    return sorted(p for p in d.iterdir() if is_shard_name(p.name)) if d.is_dir() else []


def objects_path(folder: str | os.PathLike[str]) -> Path:
    """The objects.parquet of a render folder."""
    return Path(folder) / OBJECTS_FILE


def render_json_path(folder: str | os.PathLike[str]) -> Path:
    """The render.json of a render folder."""
    return Path(folder) / RENDER_JSON

# ---- codecs -----------------------------------------------------------------------------------------------


def _png(pixels: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(pixels, mode={3: "RGB", 4: "RGBA"}[pixels.shape[2]]).save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def _unpng(data: bytes, mode: str, where: str, column: str) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as im:
            return np.asarray(im.convert(mode)).copy()
    except (UnidentifiedImageError, OSError, TypeError) as e:
        raise ContractError(f"{where}: {column} is not a readable PNG ({e})") from None


def _to_u8(x: np.ndarray) -> np.ndarray:
    return x if x.dtype == np.uint8 else np.clip(np.round(np.asarray(x, np.float64) * 255.0), 0, 255).astype(np.uint8)


def encode_rgba(rgba: np.ndarray) -> bytes:
    """The `rgba` PNG of straight-alpha RGBA (H, W, 4): floats in [0, 1] or uint8."""
    return _png(_to_u8(rgba))


def decode_rgba_u8(data: bytes, where: str = "") -> np.ndarray:
    """(H, W, 4) uint8 straight-alpha RGBA of `rgba` bytes; ContractError (naming `where`) when not a PNG."""
    return _unpng(data, "RGBA", where, "rgba")


def decode_rgba(data: bytes, where: str = "") -> np.ndarray:
    """(H, W, 4) float32 in [0, 1], straight alpha, of `rgba` bytes."""
    return decode_rgba_u8(data, where).astype(np.float32) / 255.0


def composite(rgba: np.ndarray, background: float) -> np.ndarray:
    """(H, W, 3) RGB of straight-alpha RGBA (H, W, 4) floats over a flat grey `background` in [0, 1]."""
    alpha = rgba[..., 3:4]
    return rgba[..., :3] * alpha + background * (1.0 - alpha)


def encode_depth(depth: np.ndarray) -> bytes:
    """The `depth` bytes of planar depth (H, W) in world units, 0 where the object is not."""
    return np.ascontiguousarray(depth, dtype="<f2").tobytes()


def decode_depth(data: bytes, width: int, height: int) -> np.ndarray:
    """(H, W) float32 planar depth of `depth` bytes (0 where the object is not)."""
    try:
        return np.frombuffer(data, dtype="<f2").reshape(height, width).astype(np.float32)
    except ValueError:
        raise ContractError(f"depth of {len(data)} bytes is not {height}x{width} float16") from None


def encode_normal(normal: np.ndarray) -> bytes:
    """The `normal` PNG of world-space normals (H, W, 3) in [-1, 1], stored as n*0.5+0.5."""
    return _png(_to_u8(np.asarray(normal)[..., :3] * 0.5 + 0.5))


def decode_normal(data: bytes, where: str = "") -> np.ndarray:
    """(H, W, 3) float32 world-space normals of `normal` bytes."""
    return _unpng(data, "RGB", where, "normal").astype(np.float32) / 255.0 * 2.0 - 1.0


def encode_surface(surface: np.ndarray) -> bytes:
    """The `surface` bytes of an (N, 6) array: float16 little-endian, row-major (x, y, z, nx, ny, nz)."""
    return np.ascontiguousarray(surface, dtype="<f2").tobytes()


def decode_surface(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """(points (N, 3), unit normals (N, 3)) float32 of `surface` bytes."""
    arr = np.frombuffer(data, dtype="<f2").reshape(-1, 6).astype(np.float32)
    return arr[:, :3], arr[:, 3:]

# ---- reader -----------------------------------------------------------------------------------------------


def read_shard(path: str | os.PathLike[str], columns: list[str] | None = None) -> pa.Table:
    """One validated shard (all columns, or `columns`)."""
    return read_table(path, SHARD, columns)


def read_views(folder: str | os.PathLike[str], columns: list[str] | None = None) -> Iterator[dict[str, Any]]:
    """The rows of every shard of a render folder, shard by shard in name order, as dicts."""
    for path in shard_paths(folder):
        yield from read_shard(path, columns).to_pylist()


def read_objects(folder: str | os.PathLike[str], columns: list[str] | None = None) -> pa.Table:
    """The validated objects.parquet of a render folder."""
    return read_table(objects_path(folder), OBJECTS, columns)


def read_record(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The record a shard keeps of its objects and settings (None for shards made before tk kept one)."""
    import pyarrow.parquet as pq

    try:
        meta = pq.read_schema(path).metadata or {}
    except (pa.ArrowInvalid, OSError) as e:
        raise TkError(f"{path}: not a readable shard ({e}); move it out of the folder and run again") from None
    raw = meta.get(RECORD_KEY.encode())
    return None if raw is None else json.loads(raw)

# ---- writer -----------------------------------------------------------------------------------------------


def write_shard(path: str | os.PathLike[str], rows: list[dict[str, Any]], record: dict[str, Any] | None = None) -> pa.Table:
    """Write one shard (one row group) atomically, with its `record` (settings and objects rows) when given."""
    metadata = None if record is None else {RECORD_KEY: json.dumps(record, sort_keys=True)}
    return write_table(path, pa.Table.from_pylist(rows), SHARD, metadata=metadata,
                       row_group_size=max(1, len(rows)))


def write_objects(folder: str | os.PathLike[str], rows: list[dict[str, Any]]) -> pa.Table:
    """Write objects.parquet of a render folder (rows sorted by uid) atomically."""
    # pyarrow 25 cannot read back a null entry of a fixed-size list column from Parquet, so an object
    # without a normalisation (failed) stores NaNs as its center
    rows = [{**r, "center": r["center"] if r.get("center") is not None else [math.nan] * 3}
            for r in sorted(rows, key=lambda r: r["uid"])]
    return write_table(objects_path(folder), pa.Table.from_pylist(rows, schema=schema(OBJECTS, OBJECT_EXTRA)), OBJECTS)
