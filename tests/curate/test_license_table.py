"""The license normaliser against a labelled table of real license strings (tests/data/licenses.csv: the
raw value, where such values come from, and the id a careful reader gives it).

The rule that matters: no string may be wrongly admitted by the `cc-by` or `commercial` policies (a wrong
admission is a legal risk; a wrong rejection only costs an object). docs/curate.md reports the precision
and recall this test measures; `python -m tests.curate.test_license_table` prints them.
"""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pytest

from tk.curate import licenses, pipeline

TABLE = Path(__file__).resolve().parents[1] / "data" / "licenses.csv"


def rows() -> list[dict[str, str]]:
    """The labelled table."""
    with open(TABLE, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def scores(policy: str) -> dict[str, float]:
    """Admission precision and recall of `policy` over the table, with the counts."""
    allowed = licenses.allowed(policy)
    tp = fp = fn = 0
    for r in rows():
        truth, got = r["expected"] in allowed, licenses.normalize(r["raw"]) in allowed
        tp, fp, fn = tp + (truth and got), fp + (got and not truth), fn + (truth and not got)
    return {"precision": tp / (tp + fp), "recall": tp / (tp + fn), "admitted": tp + fp, "wrongly_admitted": fp,
            "wrongly_rejected": fn}


def test_table_is_large_and_covers_every_source():
    table = rows()
    assert len(table) >= 150
    assert {r["source"] for r in table} >= {"sketchfab", "thingiverse", "github-key", "github-name", "spdx",
                                            "smithsonian", "sidecar", "license-file", "trap"}
    assert all(r["expected"] in licenses.known_ids() for r in table)


@pytest.mark.parametrize("policy", ["cc-by", "commercial"])
def test_no_string_is_wrongly_admitted(policy):
    allowed = licenses.allowed(policy)
    wrong = [(r["raw"], licenses.normalize(r["raw"]), r["expected"]) for r in rows()
             if licenses.normalize(r["raw"]) in allowed and r["expected"] not in allowed]
    assert wrong == []


def test_the_issue_repros():
    for raw in ("All rights reserved by ACME Corp", "Proprietary – licensed by Epic Games EULA", "GPL v3 by FSF"):
        assert licenses.normalize(raw) == "unknown", raw
    assert licenses.normalize("Creative Commons Attribution Non Commercial") == "cc-by-nc-4.0"


def test_short_ids_only_as_the_whole_value():
    assert licenses.normalize("by") == "cc-by-4.0" and licenses.normalize("by-nc-sa") == "cc-by-nc-sa-4.0"
    assert licenses.normalize("cc0") == "cc0-1.0"
    for raw in ("by Bob", "made by-nc-sa people", "cc0? ask", "sa by nc"):
        assert licenses.normalize(raw) == "unknown", raw


def test_most_ids_are_exact():
    table = rows()
    exact = sum(licenses.normalize(r["raw"]) == r["expected"] for r in table)
    assert exact / len(table) >= 0.9


@pytest.mark.parametrize("max_spellings", [10_000, 5])
def test_sql_twin_agrees_with_python(monkeypatch, max_spellings):
    # curate maps license_raw in SQL (a constant MAP, or a mapping table past _CASE_MAX_SPELLINGS)
    monkeypatch.setattr(pipeline, "_CASE_MAX_SPELLINGS", max_spellings)
    raws = [r["raw"] for r in rows()] + [None]
    con = duckdb.connect()
    con.execute("CREATE TABLE candidates AS SELECT unnest(?::VARCHAR[]) AS license_raw", [raws])
    sql = pipeline._license_sql(con)
    got = dict(con.execute(f"SELECT license_raw, {sql} FROM candidates c").fetchall())
    assert got == {raw: licenses.normalize(raw) for raw in raws}


if __name__ == "__main__":
    for name in ("cc-by", "commercial"):
        print(name, scores(name))
    print("exact ids", sum(licenses.normalize(r["raw"]) == r["expected"] for r in rows()), "of", len(rows()))
