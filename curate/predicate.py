"""User predicates (`tk curate --where`, a release spec's `where`): one boolean expression, run locked down.

DuckDB runs every statement it is given and can read, write and download files, so a predicate pasted
into a query could do all of that. Two walls keep it an expression over the manifest's columns:
- the parser: the text, put in `SELECT 1 WHERE (...)`, must parse as that one statement with that one
  clause, and its expression tree may hold only column references, constants, operators, functions,
  CASE, CAST and lambdas (no subquery, so no table function and no other table);
- the engine: it runs in its own in-memory DuckDB that holds only the columns it reads, with external
  access off, extension install and autoload off, and the configuration locked, so a function the
  parser let through still cannot touch a file or the network.
"""

from __future__ import annotations

import json
import os
import threading
from typing import Any

from tk.errors import TkError

# Expression classes of DuckDB's parse tree a predicate may hold; anything else (SUBQUERY, WINDOW, STAR,
# PARAMETER, DEFAULT, POSITIONAL_REFERENCE, ...) is refused.
_CLASSES = frozenset({
    "BETWEEN", "CASE", "CAST", "COLLATE", "COLUMN_REF", "COMPARISON", "CONJUNCTION", "CONSTANT", "FUNCTION",
    "LAMBDA", "LAMBDA_REF", "OPERATOR",
})
# Every wrapper closes the predicate's parenthesis on a new line, so a trailing `--` comment cannot hide it.
# Settings of the sandbox connection, applied before the lock (DuckDB's "Securing DuckDB" page).
_LOCKED = {
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "allow_community_extensions": False,
    "allow_unsigned_extensions": False,
}
TABLE = "objects"
_THREAD = threading.local()


def sandbox(data: Any = None) -> Any:
    """A fresh in-memory DuckDB with no file, network or extension access, its configuration locked;
    `data` (a pyarrow Table or a column mapping) becomes its only table, `objects`."""
    import duckdb
    import pyarrow as pa

    con = duckdb.connect(config=dict(_LOCKED))
    con.execute("SET enable_progress_bar = false")
    if data is not None:
        table = data if isinstance(data, pa.Table) else pa.table(data)
        con.register("_data", table)
        con.execute(f"CREATE TABLE {TABLE} AS SELECT * FROM _data")
        con.unregister("_data")
    con.execute("SET lock_configuration = true")
    return con


def check(where: Any, label: str = "--where") -> set[str]:
    """Fail with one line unless `where` is one expression as the module says; return the names it references."""
    if not isinstance(where, str) or not where.strip():
        raise TkError(f"{label} must be one boolean expression over the manifest's columns, e.g. \"face_count > 100\"")
    try:
        where.encode("utf-8")
    except UnicodeEncodeError:  # argv bytes that are not UTF-8 arrive as lone surrogates
        _refuse(where, label, "it is not UTF-8 text")
    raw = _parser().execute("SELECT json_serialize_sql(?)", [f"SELECT 1 WHERE ({where}\n)"]).fetchone()[0]
    tree = json.loads(raw)
    if tree.get("error"):
        _refuse(where, label, f"it does not parse ({' '.join(str(tree.get('error_message', 'syntax error')).split())})")
    statements = tree.get("statements") or []
    if len(statements) != 1 or not _only_where(statements[0].get("node") or {}):
        _refuse(where, label, "it closes the WHERE clause and adds more SQL")
    names: set[str] = set()
    _walk(statements[0]["node"]["where_clause"], names, where, label)
    return names


def _parser() -> Any:
    """This thread's parsing connection: a sandbox without data, kept because opening one costs ~50 ms and
    json_serialize_sql only parses (the text is never run there)."""
    pid, con = getattr(_THREAD, "parser", (None, None))
    if pid != os.getpid():  # a forked child opens its own
        con = sandbox()
        _THREAD.parser = (os.getpid(), con)
    return con


def bind(where: str, schema: Any, label: str = "--where") -> None:
    """Fail with one line unless `where` is a boolean over the columns of `schema` (a pyarrow schema)."""
    import duckdb

    check(where, label)
    con = sandbox(schema.empty_table())
    try:
        kind = con.execute(f"DESCRIBE SELECT ({where}\n) AS p FROM {TABLE}").fetchall()[0][1]
    except duckdb.Error as e:
        _refuse(where, label, f"it does not bind to the manifest's columns ({_first_line(e)})")
    finally:
        con.close()
    if kind not in ("BOOLEAN", '"NULL"', "NULL"):
        _refuse(where, label, f"it is {kind}, not a boolean")


def rejected(con: Any, where: str, source: str, key: str, label: str = "--where") -> Any:
    """The `key` values (a pyarrow Table, column `k`) of the rows of `source` in `con` that `where` does
    not keep (false or NULL), evaluated in a sandbox that receives only the columns `where` names."""
    import duckdb

    names = check(where, label)
    columns = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()]
    wanted = [c for c in columns if c in names]
    select = ", ".join([f"{key} AS _tk_key"] + [f'"{c}"' for c in wanted])
    data = con.sql(f"SELECT {select} FROM {source}").to_arrow_table()
    box = sandbox(data)
    try:
        return box.sql(f"SELECT _tk_key AS k FROM {TABLE} WHERE NOT coalesce(({where}\n), false)").to_arrow_table()
    except duckdb.Error as e:
        _refuse(where, label, f"it fails on the manifest's rows ({_first_line(e)})")
    finally:
        box.close()


def _only_where(node: dict[str, Any]) -> bool:
    """True when the parsed `SELECT 1 WHERE (...)` has nothing but its WHERE clause."""
    select = node.get("select_list") or []
    return (
        node.get("type") == "SELECT_NODE"
        and not node.get("modifiers")
        and not (node.get("cte_map") or {}).get("map")
        and len(select) == 1 and select[0].get("class") == "CONSTANT"
        and (node.get("from_table") or {}).get("type") == "EMPTY"
        and not node.get("group_expressions") and not node.get("group_sets")
        and node.get("having") is None and node.get("sample") is None and node.get("qualify") is None
        and node.get("where_clause") is not None
    )


def _walk(node: Any, names: set[str], where: str, label: str) -> None:
    """Check every expression under `node` against the allowed classes; collect column names."""
    if isinstance(node, list):
        for item in node:
            _walk(item, names, where, label)
        return
    if not isinstance(node, dict):
        return
    cls = node.get("class")
    if cls is not None and cls not in _CLASSES:
        what = "a subquery (which could read files or other tables)" if cls == "SUBQUERY" else f"a {cls.lower()} expression"
        _refuse(where, label, f"it holds {what}")
    if cls == "COLUMN_REF":
        names.update(str(n) for n in node.get("column_names") or [])
    for value in node.values():
        if isinstance(value, (dict, list)):
            _walk(value, names, where, label)


def _first_line(e: Exception) -> str:
    text = str(e).strip().splitlines()
    return " ".join(text[0].split()) if text else type(e).__name__


def _refuse(where: str, label: str, why: str) -> None:
    shown = " ".join(where.encode("utf-8", "backslashreplace").decode("utf-8").split())
    shown = shown if len(shown) <= 120 else shown[:117] + "..."
    raise TkError(f"{label} {shown!r} is refused: a predicate must be one boolean expression over the "
                  f"manifest's columns, and {why}")
