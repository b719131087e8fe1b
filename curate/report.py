"""The curation report: kept/rejected by reason, license, file type, source, split and face count.

Computed by one grouped DuckDB query (one count per combination of the dimensions, folded in Python) over the written manifest (or, for `--dry-run`, over the rules
query), printed as a rich table, and written as report.json and report.md.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tk import atomic
from tk.contracts import manifest
from tk.progress import console

_DIMENSIONS = ("reason", "license", "file_type", "source", "split", "faces")
_FACE_BIN = (
    "CASE WHEN face_count IS NULL THEN 'unknown' WHEN face_count <= 0 THEN '0' "
    "WHEN face_count < 100 THEN '1-99' WHEN face_count < 1000 THEN '100-999' "
    "WHEN face_count < 10000 THEN '1k-10k' WHEN face_count < 100000 THEN '10k-100k' "
    "WHEN face_count < 1000000 THEN '100k-1M' ELSE '1M+' END"
)
FACE_BINS = ("0", "1-99", "100-999", "1k-10k", "10k-100k", "100k-1M", "1M+", "unknown")


def group_sql(relation: str, extra: str = "") -> str:
    """One pass over `relation`: a row count per (status, reason, license, file_type, source, split, faces).

    A few hundred rows even on 10M-row manifests; `summarize` folds them into every table of the
    report, and the writer's contract checks read the same counts (plus `extra` aggregates), so the
    written manifest is scanned once for both instead of once per dimension.
    """
    return (
        f"SELECT status, {', '.join(_DIMENSIONS)}, count(*) AS n{', ' + extra if extra else ''} FROM "
        f"(SELECT *, {_FACE_BIN} AS faces FROM {relation}) GROUP BY ALL"
    )


def summarize(con: Any, relation: str, meta: dict[str, Any], groups: list[tuple] | None = None) -> dict[str, Any]:
    """Counts per dimension and status over `relation` (a table, view or parenthesised query).

    `groups`: the rows of `group_sql` (status, the dimensions, count first), when already computed.
    """
    if groups is None:
        groups = con.execute(group_sql(relation)).fetchall()
    out: dict[str, Any] = {"rows": 0, "kept": 0, "rejected": 0}
    tables: dict[str, dict[str, dict[str, int]]] = {d: {} for d in _DIMENSIONS}
    for status, *values in groups:
        n = values[len(_DIMENSIONS)]
        for dim, key in zip(_DIMENSIONS, values):
            if key is not None:  # e.g. no reason (kept rows), no file type: not a row of that table
                tables[dim].setdefault(str(key), {"keep": 0, "reject": 0})[status] += int(n)
    for counts in tables["source"].values():
        out["kept"] += counts["keep"]
        out["rejected"] += counts["reject"]
    out["rows"] = out["candidates"] = out["kept"] + out["rejected"]
    out["rejected_by_reason"] = dict(sorted(((k, v["reject"]) for k, v in tables["reason"].items()), key=lambda kv: (-kv[1], kv[0])))
    for dim in ("license", "file_type", "source", "split"):
        out[f"by_{dim}"] = dict(sorted(tables[dim].items(), key=lambda kv: (-(kv[1]["keep"] + kv[1]["reject"]), kv[0])))
    out["face_histogram"] = {b: tables["faces"].get(b, {"keep": 0, "reject": 0}) for b in FACE_BINS if b in tables["faces"]}
    return meta | out


def write(summary: dict[str, Any], out: Path) -> None:
    """Write report.json and report.md atomically."""
    atomic.write_text(manifest.report_path(out, manifest.REPORT_JSON), json.dumps(summary, indent=2, default=str) + "\n")
    atomic.write_text(manifest.report_path(out, manifest.REPORT_MD), markdown(summary))


def markdown(s: dict[str, Any]) -> str:
    """The report as Markdown."""
    lines = [
        f"# tk curate report ({s.get('source')})", "",
        f"{s['rows']} objects: **{s['kept']} kept**, {s['rejected']} rejected. "
        f"License policy `{s.get('license_policy')}`, split {s.get('split')} seed {s.get('split_seed')}.", "",
        "## Rejected by reason (first failing rule)", "", "| reason | rows |", "| --- | ---: |",
    ]
    lines += [f"| {k} | {v} |" for k, v in s["rejected_by_reason"].items()]
    if s.get("outside_folders"):
        lines += ["", "Linked folders not entered (they lead outside the input, see Security model in docs/design.md): "
                  + ", ".join(f"`{p}`" for p in s["outside_folders"])]
    if s.get("skipped_rules"):
        lines += ["", "Skipped (their columns are empty, e.g. nothing was probed): "
                  + ", ".join(f"`{r['name']}`" for r in s["skipped_rules"])]
    for title, key in (("License", "by_license"), ("File type", "by_file_type"), ("Source", "by_source"),
                       ("Split", "by_split"), ("Faces", "face_histogram")):
        lines += ["", f"## By {title.lower()}", "", f"| {title.lower()} | kept | rejected |", "| --- | ---: | ---: |"]
        lines += [f"| {k} | {v['keep']} | {v['reject']} |" for k, v in s[key].items()]
    lines += ["", "## Rules, in order", ""] + [f"{i}. `{r['name']}`: {r['doc']}" for i, r in enumerate(s.get("rules", []), 1)]
    return "\n".join(lines) + "\n"


def print_table(s: dict[str, Any]) -> None:
    """Print the summary as rich tables on stderr's console."""
    from rich.table import Table

    head = Table(title=f"tk curate: {s['kept']} kept / {s['rejected']} rejected of {s['rows']}", show_lines=False)
    head.add_column("reason (first failing rule)")
    head.add_column("rows", justify="right")
    for k, v in s["rejected_by_reason"].items():
        head.add_row(k, str(v))
    for r in s.get("skipped_rules", []):
        head.add_row(f"[dim]{r['name']} (skipped: no data)[/dim]", "-")
    console.print(head)
    for title, key in (("license", "by_license"), ("file type", "by_file_type"), ("source", "by_source"), ("faces", "face_histogram")):
        t = Table(title=f"by {title}")
        for col in (title, "kept", "rejected"):
            t.add_column(col, justify="left" if col == title else "right")
        for k, v in list(s[key].items())[:15]:
            t.add_row(k, str(v["keep"]), str(v["reject"]))
        console.print(t)
