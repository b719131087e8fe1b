"""The on-disk data contracts of DESIGN.md as versioned pyarrow schemas, and their validator.

Every reader and writer of a manifest, a render shard or an objects table goes through
`validate_table` / `read_table`, so a file from another contract version or with a wrong column
fails with one line that names the file and the column.
"""

from __future__ import annotations

import os
from typing import Literal

import pyarrow as pa

from tk.errors import ContractError

Kind = Literal["manifest", "shard", "objects"]

# pyarrow <= 25 cannot read back a Parquet file holding a NULL entry of a fixed-size list column
# ("Expected all lists to be of size=3"), so writers never store one: an unknown `bbox_extent` is
# [null, null, null] (curate) and the `center` of a failed object is [NaN, NaN, NaN] (render).

# Bump a version only together with every reader and writer of that contract (DESIGN.md).
VERSIONS: dict[str, str] = {"manifest": "1", "shard": "2", "objects": "1"}
# What each version added, so a reader meeting an older file can say what it lacks and how to get it.
CHANGES: dict[tuple[str, str], str] = {
    ("shard", "2"): "version 2 added the `surface` column (each object's rendered geometry, the ground truth of "
                    "`tk eval`); re-render with `tk render` into a new --out folder",
}

SOURCES = ("objaverse", "xl-github", "xl-sketchfab", "xl-thingiverse", "xl-smithsonian", "local")
STATUS_MANIFEST = ("keep", "reject")
STATUS_OBJECTS = ("ok", "failed")
SPLITS = ("train", "val", "test")

MANIFEST_FIELDS: list[pa.Field] = [
    pa.field("uid", pa.string(), nullable=False),
    pa.field("source", pa.string(), nullable=False),
    pa.field("file_identifier", pa.string(), nullable=False),
    pa.field("file_type", pa.string()),
    pa.field("sha256", pa.string()),
    pa.field("license", pa.string(), nullable=False),
    pa.field("license_raw", pa.string()),
    pa.field("attribution", pa.string()),
    pa.field("size_bytes", pa.int64()),
    pa.field("vertex_count", pa.int64()),
    pa.field("face_count", pa.int64()),
    pa.field("mesh_count", pa.int64()),
    pa.field("material_count", pa.int64()),
    pa.field("texture_count", pa.int64()),
    pa.field("animation_count", pa.int64()),
    pa.field("bbox_extent", pa.list_(pa.float64(), 3)),
    pa.field("status", pa.string(), nullable=False),
    pa.field("reason", pa.string()),
    pa.field("split", pa.string(), nullable=False),
    pa.field("local_path", pa.string()),
]

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

_FIELDS: dict[str, list[pa.Field]] = {"manifest": MANIFEST_FIELDS, "shard": SHARD_FIELDS, "objects": OBJECTS_FIELDS}
_ENUMS: dict[str, dict[str, tuple[str, ...]]] = {
    "manifest": {"status": STATUS_MANIFEST, "split": SPLITS, "source": SOURCES},
    "shard": {"split": SPLITS},
    "objects": {"status": STATUS_OBJECTS},
}
META_KIND = b"tk.contract"
META_VERSION = b"tk.contract_version"


def schema(kind: Kind, extra: list[pa.Field] | None = None) -> pa.Schema:
    """The schema of contract `kind` (required columns first, then `extra`), with version metadata."""
    fields = list(_FIELDS[kind]) + list(extra or [])
    return pa.schema(fields, metadata={META_KIND: kind.encode(), META_VERSION: VERSIONS[kind].encode()})


def conform(table: pa.Table, kind: Kind) -> pa.Table:
    """Cast `table` to the contract's column types and order (extra columns kept after), with metadata.

    Writers call this before `validate_table`; a missing required column or an impossible cast
    raises ContractError.
    """
    required = _FIELDS[kind]
    names = [f.name for f in required]
    missing = [n for n in names if n not in table.column_names]
    if missing:
        raise ContractError(f"{kind} table lacks required column(s): {', '.join(missing)}")
    extra = [table.schema.field(n) for n in table.column_names if n not in names]
    target = schema(kind, extra)
    cols = []
    for f in target:
        col = table.column(f.name)
        try:
            cols.append(col.cast(f.type) if col.type != f.type else col)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
            raise ContractError(f"{kind} column '{f.name}' cannot be stored as {f.type}: {e}") from None
    return pa.Table.from_arrays(cols, schema=target)


def validate_schema(sch: pa.Schema, kind: Kind, where: str = "") -> None:
    """Check column names, types and the contract version recorded in the schema metadata."""
    at = f"{where}: " if where else ""
    meta = sch.metadata or {}
    found_kind = meta.get(META_KIND)
    if found_kind is not None and found_kind.decode() != kind:
        raise ContractError(f"{at}this is a '{found_kind.decode()}' file, expected a '{kind}' file")
    version = meta.get(META_VERSION)
    if version is None:
        raise ContractError(f"{at}no tk contract version in the file; was it written by tk?")
    if version.decode() != VERSIONS[kind]:
        why = CHANGES.get((kind, VERSIONS[kind]), "re-create the file with this tk version")
        raise ContractError(f"{at}{kind} contract version {version.decode()}, this tk reads version {VERSIONS[kind]}: {why}")
    for f in _FIELDS[kind]:
        idx = sch.get_field_index(f.name)
        if idx < 0:
            raise ContractError(f"{at}missing column '{f.name}' ({f.type})")
        got = sch.field(idx).type
        if got != f.type:
            raise ContractError(f"{at}column '{f.name}' has type {got}, the {kind} contract says {f.type}")


def validate_table(table: pa.Table, kind: Kind, where: str = "") -> None:
    """Check the schema, non-null required columns and enumerated values of a whole table."""
    import pyarrow.compute as pc

    validate_schema(table.schema, kind, where)
    at = f"{where}: " if where else ""
    for f in _FIELDS[kind]:
        if not f.nullable and table.column(f.name).null_count:
            raise ContractError(f"{at}column '{f.name}' has {table.column(f.name).null_count} null value(s)")
    for col, allowed in _ENUMS[kind].items():
        values = pc.unique(table.column(col)).to_pylist()
        bad = sorted(str(v) for v in values if v not in allowed)
        if bad:
            raise ContractError(f"{at}column '{col}' has value(s) {bad[:5]}; allowed: {', '.join(allowed)}")
    if kind == "manifest":
        _check_manifest_rows(table, at)
    if kind == "shard":
        _check_shard_rows(table, at)


def _check_manifest_rows(table: pa.Table, at: str) -> None:
    import pyarrow.compute as pc

    rejected_without_reason = pc.sum(
        pc.and_(pc.equal(table.column("status"), "reject"), pc.is_null(table.column("reason")))
    ).as_py()
    if rejected_without_reason:
        raise ContractError(f"{at}{rejected_without_reason} rejected row(s) have no reason")
    n_unique = len(pc.unique(table.column("uid")))
    if n_unique != table.num_rows:
        raise ContractError(f"{at}{table.num_rows - n_unique} duplicate uid(s)")


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
    if (lengths % 12).any() or not lengths.all():
        raise ContractError(f"{at}a `surface` is not whole float16 (x, y, z, nx, ny, nz) rows")


def read_table(path: str | os.PathLike[str], kind: Kind, columns: list[str] | None = None) -> pa.Table:
    """Read a Parquet file of contract `kind` and validate it; errors name the file."""
    import pyarrow.parquet as pq

    where = os.fspath(path)
    try:
        sch = pq.read_schema(where)
    except FileNotFoundError:
        raise ContractError(f"{where}: file not found") from None
    except (pa.ArrowInvalid, OSError) as e:
        raise ContractError(f"{where}: not a readable Parquet file ({e})") from None
    validate_schema(sch, kind, where)
    table = pq.read_table(where, columns=columns)
    if columns is None:
        validate_table(table, kind, where)
    return table


def write_table(path: str | os.PathLike[str], table: pa.Table, kind: Kind, metadata: dict[str, str] | None = None,
                **kwargs: object) -> pa.Table:
    """Conform, validate and atomically write a table of contract `kind` (plus file `metadata`); returns what was written."""
    from tk import atomic

    table = conform(table, kind)
    if metadata:
        table = table.replace_schema_metadata({**table.schema.metadata, **{k.encode(): v.encode() for k, v in metadata.items()}})
    validate_table(table, kind, os.fspath(path))
    atomic.write_parquet(path, table, **kwargs)
    return table
