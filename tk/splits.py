"""Deterministic train/val/test splits: a pure function of (uid, seed), the same in Python and DuckDB SQL.

Curate assigns them and render re-derives them for `--input` folders, so the rule lives in the core below both.

Every uid tk writes is already a uniformly distributed hash in lower-case hex (sha256 of the file or of
the XL fileIdentifier, or the random hex id of Objaverse 1.0), so the split does not hash it again: the
uid's first 16 hex digits are a point on a ring of 2^64 positions, the seed turns the ring by an offset
(the first 8 bytes of md5("tk-split:<seed>")), and train, val and test are three consecutive arcs of
the turned ring with lengths in the requested fractions. On a 10M-row XL table this costs two string
comparisons per row instead of an md5 per row (a tenth of the curate's time).

Each object lands in a split with the requested probability, but neighbours on the ring share their
split and a new seed turns the arcs instead of re-dealing every object (docs/curate.md says what that
trades). Both sides compare the uid string itself with 16-hex-digit cut points (fixed-width lower-case hex
orders like the number it writes, and a longer uid that starts with a cut sorts after it), so Python
and SQL agree bit for bit on any string, hex or not (a test checks it); only the evenness of the
split relies on uids being hashes.
"""

from __future__ import annotations

import hashlib

from tk.errors import TkError

SPLITS = ("train", "val", "test")  # the split names, in ring order (contracts.manifest takes them from here)
_SPACE = 1 << 64


def parse_fractions(text: str) -> tuple[float, float, float]:
    """Parse `--split` ("0.98,0.01,0.01"): three non-negative fractions summing to 1."""
    try:
        parts = tuple(float(p) for p in text.split(","))
    except ValueError:
        raise TkError(f"--split {text!r}: expected three numbers such as 0.98,0.01,0.01") from None
    return check_fractions(parts, text)


def check_fractions(parts: tuple[float, ...], text: str | None = None) -> tuple[float, float, float]:
    """`parts` as three floats if they are non-negative fractions (train, val, test) summing to 1.

    `text` is how the user wrote them (the error names it); by default the comma form of `parts`."""
    text = ",".join(f"{p:g}" for p in parts) if text is None else text
    if len(parts) != 3 or any(p < 0 for p in parts) or abs(sum(parts) - 1.0) > 1e-6:
        raise TkError(f"--split {text!r}: expected three non-negative fractions (train,val,test) summing to 1")
    return tuple(float(p) for p in parts)  # type: ignore[return-value]


def thresholds(fractions: tuple[float, float, float]) -> tuple[int, int]:
    """Arc lengths on the 2^64 ring: position - offset < t1 → train, < t2 → val, else test."""
    t1 = min(int(fractions[0] * _SPACE), _SPACE)
    t2 = min(int((fractions[0] + fractions[1]) * _SPACE), _SPACE)
    return t1, t2


def offset(seed: int) -> int:
    """How far the seed turns the ring."""
    return int.from_bytes(hashlib.md5(f"tk-split:{int(seed)}".encode()).digest()[:8], "big")


def _arcs(seed: int, fractions: tuple[float, float, float]) -> list[tuple[str, int, int]]:
    """(split, start, length) of the non-empty arcs, in ring order from the seed's offset."""
    t1, t2 = thresholds(fractions)
    o = offset(seed)
    out = [("train", o, t1), ("val", (o + t1) % _SPACE, t2 - t1), ("test", (o + t2) % _SPACE, _SPACE - t2)]
    return [a for a in out if a[2] > 0]


def _cut(position: int) -> str:
    return f"{position:016x}"


def _in_arc_py(uid: str, start: int, length: int) -> bool:
    if length >= _SPACE:
        return True
    end = (start + length) % _SPACE
    lo, hi = uid >= _cut(start), uid < _cut(end)
    if end == 0:
        return lo
    # An arc that passes position 0 wraps: it is the union of its two ends.
    return (lo and hi) if start < end else (lo or hi)


def _in_arc_sql(column: str, start: int, length: int) -> str:
    if length >= _SPACE:
        return "true"
    end = (start + length) % _SPACE
    lo, hi = f"{column} >= '{_cut(start)}'", f"{column} < '{_cut(end)}'"
    if end == 0:
        return lo
    return f"({lo} AND {hi})" if start < end else f"({lo} OR {hi})"


def split_of(uid: str, seed: int = 0, fractions: tuple[float, float, float] = (0.98, 0.01, 0.01)) -> str:
    """The split (`train`, `val` or `test`) of one uid; what `split_sql` computes in DuckDB."""
    arcs = _arcs(seed, fractions)
    for name, start, length in arcs[:-1]:
        if _in_arc_py(uid, start, length):
            return name
    return arcs[-1][0]


def split_sql(uid_column: str, seed: int, fractions: tuple[float, float, float]) -> str:
    """A DuckDB SQL expression giving the split of `uid_column`, equal to `split_of` on every string."""
    arcs = _arcs(seed, fractions)
    if len(arcs) == 1:
        return f"'{arcs[0][0]}'"
    whens = " ".join(f"WHEN {_in_arc_sql(uid_column, start, length)} THEN '{name}'" for name, start, length in arcs[:-1])
    return f"(CASE {whens} ELSE '{arcs[-1][0]}' END)"
