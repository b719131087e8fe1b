"""Deterministic train/val/test splits: a pure function of (uid, seed), the same in Python and DuckDB SQL.

The split hash is the first 8 bytes of md5(f"{seed}:{uid}") read big-endian, compared with integer
thresholds (in SQL: the 32-hex-digit `md5()` string compared with the thresholds written as 16 hex
digits, which orders the same way and needs no hex parsing), so Python and SQL agree bit for bit (no
float rounding, no engine-specific hash; a test checks the two agree). md5 is used as a fast, fixed,
well-mixed function, not for security; on 10M-row annotation tables it is computed once per row.
"""

from __future__ import annotations

import hashlib

from tk.errors import TkError

SPLIT_NAMES = ("train", "val", "test")
_SPACE = 1 << 64


def parse_fractions(text: str) -> tuple[float, float, float]:
    """Parse `--split` ("0.98,0.01,0.01"): three non-negative fractions summing to 1."""
    try:
        parts = tuple(float(p) for p in text.split(","))
    except ValueError:
        raise TkError(f"--split {text!r}: expected three numbers such as 0.98,0.01,0.01") from None
    if len(parts) != 3 or any(p < 0 for p in parts) or abs(sum(parts) - 1.0) > 1e-6:
        raise TkError(f"--split {text!r}: expected three non-negative fractions (train,val,test) summing to 1")
    return parts  # type: ignore[return-value]


def thresholds(fractions: tuple[float, float, float]) -> tuple[int, int]:
    """Integer cut points in [0, 2^64]: hash < t1 → train, < t2 → val, else test."""
    t1 = min(int(fractions[0] * _SPACE), _SPACE)
    t2 = min(int((fractions[0] + fractions[1]) * _SPACE), _SPACE)
    return t1, t2


def split_hash(uid: str, seed: int) -> int:
    """The 64-bit split hash of a uid under a seed."""
    return int.from_bytes(hashlib.md5(f"{seed}:{uid}".encode()).digest()[:8], "big")


def split_of(uid: str, seed: int = 0, fractions: tuple[float, float, float] = (0.98, 0.01, 0.01)) -> str:
    """The split (`train`, `val` or `test`) of one uid; what `split_sql` computes in DuckDB."""
    t1, t2 = thresholds(fractions)
    h = split_hash(uid, seed)
    return "train" if h < t1 else "val" if h < t2 else "test"


def split_hash_sql(uid_column: str, seed: int) -> str:
    """A DuckDB SQL expression equal to `split_hash` (a UBIGINT)."""
    return f"('0x' || substr(md5('{int(seed)}:' || {uid_column}), 1, 16))::UBIGINT"


def split_digest_sql(uid_column: str, seed: int) -> str:
    """md5("seed:uid") as DuckDB gives it (32 lower-case hex digits): the split hash, not yet parsed."""
    return f"md5('{int(seed)}:' || {uid_column})"


def _hex_cut(t: int) -> str:
    """The SQL test `digest < cut` equal to `split_hash < t`, on the 32-hex-digit md5 string itself.

    The split hash is the digest's first 16 hex digits; fixed-width lower-case hex orders like the
    number, and a 32-digit digest whose first 16 digits equal a 16-digit cut sorts after it, so
    `digest < '%016x' % t` holds exactly when `split_hash < t`. Comparing strings skips parsing the hex
    into an integer (a quarter of the split's cost on 10M rows).
    """
    if t >= _SPACE:
        return "true"
    return f"< '{t:016x}'"


def split_from_digest_sql(digest_column: str, fractions: tuple[float, float, float]) -> str:
    """The split of an already computed `split_digest_sql` column; equal to `split_of`."""
    t1, t2 = thresholds(fractions)
    c1, c2 = _hex_cut(t1), _hex_cut(t2)
    w1 = "true" if c1 == "true" else f"{digest_column} {c1}"
    w2 = "true" if c2 == "true" else f"{digest_column} {c2}"
    return f"(CASE WHEN {w1} THEN 'train' WHEN {w2} THEN 'val' ELSE 'test' END)"


def split_from_hash_sql(hash_column: str, fractions: tuple[float, float, float]) -> str:
    """The split of an already computed split hash (compute the hash once, then compare it twice)."""
    t1, t2 = thresholds(fractions)
    # 2^64 does not fit UBIGINT: compare as HUGEINT so a fraction of 1.0 still sends every row to train.
    return f"(CASE WHEN {hash_column} < {t1}::HUGEINT THEN 'train' WHEN {hash_column} < {t2}::HUGEINT THEN 'val' ELSE 'test' END)"


def split_sql(uid_column: str, seed: int, fractions: tuple[float, float, float]) -> str:
    """A DuckDB SQL expression giving the split of `uid_column`, equal to `split_of` on every uid."""
    return split_from_digest_sql(f"({split_digest_sql(uid_column, seed)})", fractions)
