"""Flush denormal floats to zero for the length of a CPU training run.

As a model trains, some activations and gradients fall below float32's normal range (1.2e-38). x86 cores compute
with such values many times slower; a trained `cpu` model's steps ran 6-11% slower than with them flushed
(docs/train.md). Nothing the loss can see lives down there: the renderer's transmittance already adds 1e-10.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np
import torch

_DENORMAL = 1e-39  # below float32's smallest normal number, above its smallest denormal


def flushing() -> bool:
    """True when this thread's float arithmetic flushes denormals to zero."""
    return (torch.tensor([_DENORMAL], dtype=torch.float32) * 1.0).item() == 0.0


@contextlib.contextmanager
def flushed() -> Iterator[bool]:
    """Flush denormals inside the block (False where the CPU cannot), then restore the caller's setting."""
    before = flushing()
    for dtype in (np.float16, np.float32, np.float64):
        np.finfo(dtype)  # numpy caches these; computed under the flush they would warn that subnormals are zero
    supported = torch.set_flush_denormal(True)
    try:
        yield supported
    finally:
        torch.set_flush_denormal(before)
