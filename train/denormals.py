"""Flush denormal floats to zero in a CPU training process: a process-wide setting (train/cpu_process.py).

As a model trains, some activations and gradients fall below float32's normal range (1.2e-38). x86 cores compute
with such values many times slower; a trained `cpu` model's steps ran 6-11% slower than with them flushed
(docs/train.md). Nothing the loss can see lives down there: the renderer's transmittance already adds 1e-10.

The flush is a flag of each thread's CPU state (MXCSR), which a new thread copies from the thread that creates it.
Set and "restored" around a call, it stayed on in the intra-op threads torch created meanwhile and stayed off in
those created before (issue 22). So it is set once, on the main thread before torch runs any operation, and every
thread created later inherits it: the whole process flushes, for its whole life.
"""

from __future__ import annotations

import numpy as np
import torch

_DENORMAL = 1e-39  # below float32's smallest normal number, above its smallest denormal


def flushing() -> bool:
    """True when this thread's float arithmetic flushes denormals to zero."""
    return (torch.tensor([_DENORMAL], dtype=torch.float32) * 1.0).item() == 0.0


def flush_process() -> bool:
    """Flush denormals from now on in this thread and every thread it creates later (False where the CPU cannot).

    Call it before torch runs any operation (torch's thread pools do not exist yet), in a process that is there to
    train: `tk train` does (train/cpu_process.py). Not undone."""
    for dtype in (np.float16, np.float32, np.float64):
        np.finfo(dtype)  # numpy caches these; computed under the flush they would warn that subnormals are zero
    return bool(torch.set_flush_denormal(True))
