"""Deterministic train/val/test splits: a pure function of (uid, seed), the same in Python and DuckDB SQL.

The split hash is the first 8 bytes of md5(f"{seed}:{uid}") read big-endian (in SQL: the first 16 hex
digits of `md5()`, which DuckDB computes 3x faster than its `md5_number_upper`), compared with integer
thresholds, so Python and SQL agree bit for bit (no
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


def split_from_hash_sql(hash_column: str, fractions: tuple[float, float, float]) -> str:
    """The split of an already computed split hash (compute the hash once, then compare it twice)."""
    t1, t2 = thresholds(fractions)
    # 2^64 does not fit UBIGINT: compare as HUGEINT so a fraction of 1.0 still sends every row to train.
    return f"(CASE WHEN {hash_column} < {t1}::HUGEINT THEN 'train' WHEN {hash_column} < {t2}::HUGEINT THEN 'val' ELSE 'test' END)"


def split_sql(uid_column: str, seed: int, fractions: tuple[float, float, float]) -> str:
    """A DuckDB SQL expression giving the split of `uid_column`, equal to `split_of` on every uid."""
    return split_from_hash_sql(f"({split_hash_sql(uid_column, seed)})", fractions)
