"""License normalisation of the sources' real spellings, policies, and the deterministic split."""

from __future__ import annotations

import hashlib

import duckdb
import pytest

from tk import splits
from tk.curate import licenses
from tk.errors import TkError


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("by", "cc-by-4.0"), ("by-sa", "cc-by-sa-4.0"), ("by-nc-sa", "cc-by-nc-sa-4.0"), ("by-nd", "cc-by-nd-4.0"),
        ("cc0", "cc0-1.0"), ("CC0", "cc0-1.0"),
        ("Creative Commons - Attribution - Non-Commercial", "cc-by-nc-4.0"),
        ("Creative Commons - Attribution - Non-Commercial - Share Alike", "cc-by-nc-sa-4.0"),
        ("Creative Commons - Attribution - No Derivatives", "cc-by-nd-4.0"),
        ("Creative Commons - Public Domain Dedication", "cc0-1.0"),
        ("MIT", "mit"), ("MIT License", "mit"), ("apache-2.0", "apache-2.0"), ("Apache License 2.0", "apache-2.0"),
        ("GNU General Public License v3.0", "gpl-3.0"), ('BSD 3-Clause "New" or "Revised" License', "bsd-3-clause"),
        ("Creative Commons Zero v1.0 Universal", "cc0-1.0"), ("CC-BY-3.0", "cc-by-3.0"), ("CC BY-NC 3.0", "cc-by-nc-3.0"),
        (None, "unknown"), ("", "unknown"), ("Other", "unknown"), ("Nokia", "unknown"), ("all rights reserved", "unknown"),
    ],
)
def test_raw_spellings_normalise(raw, expected):
    assert licenses.normalize(raw) == expected


def test_policies():
    assert licenses.allowed("all") is None
    cc_by = licenses.allowed("cc-by")
    assert {"cc0-1.0", "cc-by-4.0", "cc-by-3.0"} <= cc_by
    assert not {"cc-by-nc-4.0", "cc-by-sa-4.0", "mit", "unknown"} & cc_by
    commercial = licenses.allowed("commercial")
    assert cc_by < commercial and {"mit", "apache-2.0", "bsd-3-clause", "public-domain"} <= commercial
    assert "cc-by-nc-4.0" not in commercial and "unknown" not in commercial and "gpl-3.0" not in commercial
    assert licenses.allowed("cc0-1.0, mit") == {"cc0-1.0", "mit"}
    with pytest.raises(TkError, match="unknown license id"):
        licenses.allowed("cc0-1.0,not-a-license")


def test_split_is_a_pure_function_and_sql_agrees():
    # uids as tk makes them: sha256 hex (the split relies on that for its evenness, not for agreement).
    uids = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(6000)]
    fractions = (0.8, 0.1, 0.1)
    py = [splits.split_of(u, 7, fractions) for u in uids]
    assert py == [splits.split_of(u, 7, fractions) for u in uids]
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT unnest(?::VARCHAR[]) AS uid, generate_subscripts(?::VARCHAR[], 1) AS i", [uids, uids])
    sql = [r[0] for r in con.execute(f"SELECT {splits.split_sql('uid', 7, fractions)} FROM t ORDER BY i").fetchall()]
    assert sql == py
    counts = {s: py.count(s) for s in splits.SPLITS}
    # Binomial std of the train share on 6000 draws is ~0.5%; allow 4 sigma.
    assert abs(counts["train"] / 6000 - 0.8) < 0.02 and abs(counts["val"] / 6000 - 0.1) < 0.015
    other_seed = [splits.split_of(u, 8, fractions) for u in uids]
    assert sum(a != b for a, b in zip(py, other_seed)) > 600  # a new seed re-deals about a third of the rows


def test_split_sql_agrees_on_any_string_and_wrapping_arcs():
    # Arbitrary strings (not hashes, unicode, empty, exact cut points) land in the same split on both
    # sides, for seeds whose train arc wraps past 0 and for degenerate fractions.
    odd = ["", "u1", "é", "Z", "0" * 16, "f" * 16, "0" * 64, "ffff"]
    cuts = [f"{(splits.offset(s) + t) % 2**64:016x}" for s in (0, 3) for t in splits.thresholds((0.8, 0.1, 0.1))]
    uids = odd + cuts + [c[:15] for c in cuts] + [hashlib.sha256(str(i).encode()).hexdigest() for i in range(500)]
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT unnest(?::VARCHAR[]) AS uid, generate_subscripts(?::VARCHAR[], 1) AS i", [uids, uids])
    for seed in (0, 3, 123456):
        for fractions in ((0.8, 0.1, 0.1), (0.98, 0.01, 0.01), (1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.5, 0.0, 0.5)):
            py = [splits.split_of(u, seed, fractions) for u in uids]
            sql = [r[0] for r in con.execute(f"SELECT {splits.split_sql('uid', seed, fractions)} FROM t ORDER BY i").fetchall()]
            assert sql == py, (seed, fractions)
    # A uid exactly at the start of the val arc is val; one position before it is train.
    start = (splits.offset(0) + splits.thresholds((0.8, 0.1, 0.1))[0]) % 2**64
    assert splits.split_of(f"{start:016x}" + "0" * 48, 0, (0.8, 0.1, 0.1)) == "val"
    assert splits.split_of(f"{(start - 1) % 2**64:016x}" + "f" * 48, 0, (0.8, 0.1, 0.1)) == "train"


def test_split_edges_and_bad_fractions():
    assert {splits.split_of(f"u{i}", 0, (1.0, 0.0, 0.0)) for i in range(200)} == {"train"}
    assert {splits.split_of(f"u{i}", 0, (0.0, 0.0, 1.0)) for i in range(200)} == {"test"}
    assert splits.parse_fractions("0.98,0.01,0.01") == (0.98, 0.01, 0.01)
    for bad in ("0.5,0.5", "0.5,0.6,0.1", "a,b,c", "-0.1,1.0,0.1"):
        with pytest.raises(TkError, match="--split"):
            splits.parse_fractions(bad)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Creative Commons Legal Code\n\nCC0 1.0 Universal\n\n    CREATIVE COMMONS CORPORATION IS NOT A LAW FIRM", "cc0-1.0"),
        ("MIT License\n\nCopyright (c) 2024 A\n\nPermission is hereby granted, free of charge, to any person obtaining", "mit"),
        ("The MIT License (MIT)\n\nPermission is hereby granted, free of charge, to any person", "mit"),
        ("                                 Apache License\n                           Version 2.0, January 2004\n", "apache-2.0"),
        ("Attribution 4.0 International\n\n=======================================================================\n", "cc-by-4.0"),
        ("Attribution-NonCommercial-ShareAlike 4.0 International\n\n===\n", "cc-by-nc-sa-4.0"),
        ("                    GNU GENERAL PUBLIC LICENSE\n                       Version 3, 29 June 2007\n", "gpl-3.0"),
        ("BSD 3-Clause License\n\nRedistribution and use in source and binary forms, with or without modification, are"
         " permitted\n3. Neither the name of the copyright holder nor the names", "bsd-3-clause"),
        ("This is free and unencumbered software released into the public domain.\n\nFor more, see <https://unlicense.org>",
         "unlicense"),
        ("CC-BY-4.0\n", "cc-by-4.0"),
        ("by-nc\n", "cc-by-nc-4.0"),
        ("All rights reserved. Do not copy.\n", "unknown"),
    ],
)
def test_license_files_are_recognised_from_their_standard_text(text, expected):
    # A LICENSE file's first line alone is often not enough ("Creative Commons Legal Code", "Apache License").
    assert licenses.normalize(licenses.from_text(text)) == expected
