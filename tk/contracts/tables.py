"""The machinery every contract table goes through: versioned pyarrow schemas and their validator.

Each contract module (`tk.contracts.manifest`, `tk.contracts.renders`) describes its tables as a
`TableSpec` and passes that object (never a name) to the functions here, so this module imports none of them;
every reader and writer of a manifest, a render shard or an objects table goes through
`write_table` / `read_table` here, so a file from another contract version or with a wrong column
fails with one line that names the file and the column.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import pyarrow as pa

from tk import atomic
from tk.errors import ContractError

Kind = Literal["manifest", "shard", "objects"]
META_KIND = b"tk.contract"
META_VERSION = b"tk.contract_version"

# pyarrow <= 25 cannot read back a Parquet file holding a NULL entry of a fixed-size list column
# ("Expected all lists to be of size=3"), so writers never store one: an unknown `bbox_extent` is
# [null, null, null] (curate) and the `center` of a failed object is [NaN, NaN, NaN] (render).


@dataclass(frozen=True)
class TableSpec:
    """One contract table: its version, required columns, enumerated values and row checks.

    Bump `version` only together with every reader and writer of the table (docs/design.md), and say in
    `changes` what that version added, so a reader meeting an older file can say what it lacks.
    """

    kind: Kind
    version: str
    fields: tuple[pa.Field, ...]
    enums: dict[str, tuple[str, ...]] = field(default_factory=dict)
    check_rows: Callable[[pa.Table, str], None] | None = None
    changes: dict[str, str] = field(default_factory=dict)


def schema(spec: TableSpec, extra: list[pa.Field] | None = None) -> pa.Schema:
    """The schema of a contract table (required columns first, then `extra`), with version metadata."""
    return pa.schema(list(spec.fields) + list(extra or []),
                     metadata={META_KIND: spec.kind.encode(), META_VERSION: spec.version.encode()})


def conform(table: pa.Table, spec: TableSpec) -> pa.Table:
    """Cast `table` to the contract's column types and order (extra columns kept after), with metadata.

    Writers call this before `validate_table`; a missing required column or an impossible cast
    raises ContractError.
    """
    names = [f.name for f in spec.fields]
    missing = [n for n in names if n not in table.column_names]
    if missing:
        raise ContractError(f"{spec.kind} table lacks required column(s): {', '.join(missing)}")
    extra = [table.schema.field(n) for n in table.column_names if n not in names]
    target = schema(spec, extra)
    cols = []
    for f in target:
        col = table.column(f.name)
        try:
            cols.append(col.cast(f.type) if col.type != f.type else col)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
            raise ContractError(f"{spec.kind} column '{f.name}' cannot be stored as {f.type}: {e}") from None
    return pa.Table.from_arrays(cols, schema=target)


def validate_schema(sch: pa.Schema, spec: TableSpec, where: str = "") -> None:
    """Check column names, types and the contract version recorded in the schema metadata."""
    at = f"{where}: " if where else ""
    s, kind = spec, spec.kind
    meta = sch.metadata or {}
    found_kind = meta.get(META_KIND)
    if found_kind is not None and found_kind.decode() != kind:
        raise ContractError(f"{at}this is a '{found_kind.decode()}' file, expected a '{kind}' file")
    version = meta.get(META_VERSION)
    if version is None:
        raise ContractError(f"{at}no tk contract version in the file; was it written by tk?")
    if version.decode() != s.version:
        why = s.changes.get(s.version, "re-create the file with this tk version")
        raise ContractError(f"{at}{kind} contract version {version.decode()}, this tk reads version {s.version}: {why}")
    for f in s.fields:
        idx = sch.get_field_index(f.name)
        if idx < 0:
            raise ContractError(f"{at}missing column '{f.name}' ({f.type})")
        got = sch.field(idx).type
        if got != f.type:
            raise ContractError(f"{at}column '{f.name}' has type {got}, the {kind} contract says {f.type}")


def validate_table(table: pa.Table, spec: TableSpec, where: str = "") -> None:
    """Check the schema, non-null required columns, enumerated values and row rules of a whole table."""
    import pyarrow.compute as pc

    validate_schema(table.schema, spec, where)
    at = f"{where}: " if where else ""
    s = spec
    for f in s.fields:
        if not f.nullable and table.column(f.name).null_count:
            raise ContractError(f"{at}column '{f.name}' has {table.column(f.name).null_count} null value(s)")
    for col, allowed in s.enums.items():
        values = pc.unique(table.column(col)).to_pylist()
        bad = sorted(str(v) for v in values if v not in allowed)
        if bad:
            raise ContractError(f"{at}column '{col}' has value(s) {bad[:5]}; allowed: {', '.join(allowed)}")
    if s.check_rows is not None:
        s.check_rows(table, at)


def read_table(path: str | os.PathLike[str], spec: TableSpec, columns: list[str] | None = None) -> pa.Table:
    """Read a Parquet file of a contract table and validate it; errors name the file."""
    import pyarrow.parquet as pq

    where = os.fspath(path)
    try:
        sch = pq.read_schema(where)
    except FileNotFoundError:
        raise ContractError(f"{where}: file not found") from None
    except (pa.ArrowInvalid, OSError) as e:
        raise ContractError(f"{where}: not a readable Parquet file ({e})") from None
    validate_schema(sch, spec, where)
    table = pq.read_table(where, columns=columns)
    if columns is None:
        validate_table(table, spec, where)
    return table


def write_table(path: str | os.PathLike[str], table: pa.Table, spec: TableSpec, metadata: dict[str, str] | None = None,
                **kwargs: object) -> pa.Table:
    """Conform, validate and atomically write a contract table (plus file `metadata`); returns what was written."""
    table = conform(table, spec)
    if metadata:
        table = table.replace_schema_metadata({**table.schema.metadata, **{k.encode(): v.encode() for k, v in metadata.items()}})
    validate_table(table, spec, os.fspath(path))
    atomic.write_parquet(path, table, **kwargs)
    return table
