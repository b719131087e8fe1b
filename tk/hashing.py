"""Content hashes used for uids, dedup and release integrity."""

from __future__ import annotations

import hashlib
import os

_CHUNK = 1 << 20


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file's bytes, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def sha256_text(text: str) -> str:
    """Hex sha256 of the UTF-8 bytes of `text` (the uid of an Objaverse-XL fileIdentifier)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def stable_unit_float(key: str, seed: int) -> float:
    """A float in [0, 1) that depends only on (key, seed): the same on every machine and run."""
    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64
