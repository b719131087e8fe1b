"""The worker's message framing: an 8-byte little-endian length and a pickle (both ends are tk, on one machine)."""

from __future__ import annotations

import pickle
import struct
from typing import Any, BinaryIO


def read_message(stream: BinaryIO) -> Any:
    """One length-prefixed pickle from `stream`; None at end of stream."""
    head = stream.read(8)
    if len(head) < 8:
        return None
    (n,) = struct.unpack("<Q", head)
    return pickle.loads(stream.read(n))


def write_message(stream: BinaryIO, obj: Any) -> None:
    """Write one length-prefixed pickle and flush."""
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(struct.pack("<Q", len(data)) + data)
    stream.flush()
