"""The on-disk data contracts of docs/design.md: per contract its schema, folder layout, codecs, reader and writer.

- `tk.contracts.tables`: versioned pyarrow schemas and the validator every contract table goes through
  (`schema`, `conform`, `validate_schema`, `validate_table`, `read_table`, `write_table`), each given the table's
  `TableSpec` (`MANIFEST`, `SHARD`, `OBJECTS`);
- `tk.contracts.manifest`: contract 1, a curate output folder (manifest.parquet, manifest.duckdb, reports);
- `tk.contracts.renders`: contract 2, a render folder (shards, objects.parquet, render.json) and the codecs
  of a view (PNG RGBA, float16 depth, normals PNG, float16 surface rows);
- `tk.contracts.release`: a release folder and its RELEASE.json.

The names below are the ones most callers need.
"""

from tk.contracts.manifest import FIELDS as MANIFEST_FIELDS
from tk.contracts.manifest import MANIFEST, SOURCES, SPLITS
from tk.contracts.manifest import STATUS as STATUS_MANIFEST
from tk.contracts.renders import OBJECTS, OBJECTS_FIELDS, SHARD, SHARD_FIELDS, STATUS_OBJECTS
from tk.contracts.tables import (META_KIND, META_VERSION, Kind, TableSpec, conform, read_table, schema,
                                 validate_schema, validate_table, write_table)
from tk.errors import ContractError

TABLES: tuple[TableSpec, ...] = (MANIFEST, SHARD, OBJECTS)
VERSIONS: dict[str, str] = {t.kind: t.version for t in TABLES}
# what each version added, so a reader meeting an older file can say what it lacks
CHANGES: dict[tuple[str, str], str] = {(t.kind, v): why for t in TABLES for v, why in t.changes.items()}

__all__ = ["CHANGES", "ContractError", "Kind", "MANIFEST", "MANIFEST_FIELDS", "META_KIND", "META_VERSION", "OBJECTS",
           "OBJECTS_FIELDS", "SHARD", "SHARD_FIELDS", "SOURCES", "SPLITS", "STATUS_MANIFEST", "STATUS_OBJECTS", "TABLES",
           "TableSpec", "VERSIONS", "conform", "read_table", "schema", "validate_schema", "validate_table", "write_table"]
