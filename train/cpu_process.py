"""CPU tuning of a training process, applied once by whoever owns the process: `tk train` does, first thing.

Two settings make CPU training steps faster, and both belong to the whole process, not to a call: glibc's mallopt
(train/host_memory.py: freed activations stay mapped, a sixth of a `cpu` step) cannot be undone, and the denormal
flush (train/denormals.py: 6-11%) is a per-thread flag that threads copy from the thread creating them. So
tk.train.loop.run() never touches either (a library call leaves the process as it found it), and `tk train`
applies both before torch runs any operation, so every intra-op thread and every DataLoader worker created later
inherits them, for the life of the process. A Python program that trains through tk.train.loop.run() and wants the same
speed calls `tune()` at its start, knowing that it changes its whole process.
"""

from __future__ import annotations

from tk.train import host_memory


def tune() -> dict[str, bool]:
    """Keep freed host memory and flush denormals, process-wide, when training runs on the CPU (no CUDA device);
    which of the two took effect. Call before any torch operation."""
    import torch

    from tk.train import denormals  # imports torch

    if torch.cuda.is_available():  # the step runs on the GPU: the host's allocator and float flags do not matter
        return {"keep_freed_memory": False, "flush_denormals": False}
    return {"keep_freed_memory": host_memory.keep_freed_memory(), "flush_denormals": denormals.flush_process()}
