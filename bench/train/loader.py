"""The loader's reads, memory and speed (issue 22), one case per process: see bench/train/__main__.py.

- plan: whole-shard reads per sample over one epoch at 100 shards x 64 objects, simulated from the order alone (the
  reads follow from it): the loader before issue 22 (a one-row-group cache behind a shuffle buffer) against the chunk
  plan (train/data.py), each against the ideal of one read per shard per epoch;
- reads: one real epoch of the `cpu` preset's loader on a synthetic folder (the fixture's objects copied): row groups
  and bytes read per sample (the process's read syscalls, /proc/self/io) against one object's share of the shards;
- memory: RSS of the training index and of the loader after some samples, at N synthetic objects;
- throughput: the `cpu` preset's loader alone (no model), samples/s, with 0 and 1 workers.
"""

from __future__ import annotations

import itertools
import os
import tempfile
import time
from pathlib import Path

from bench.train.synthetic import RENDERS, write_synthetic


def _rchar() -> int:
    with open("/proc/self/io") as fh:
        return int(next(line for line in fh if line.startswith("rchar")).split()[1])


def _rss_mib() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _before_reads(n_shards: int, per: int, buffer: int, batch: int, seed: int = 0) -> tuple[int, float]:
    """(row-group reads, share of batches from one shard) of one epoch of the loader before issue 22: row groups in
    a seeded order, a shuffle buffer of `buffer` objects, a reader caching the last row group."""
    from tk.geometry import rng_for

    order = [g * per + i for g in rng_for(seed, "epoch", 0).permutation(n_shards) for i in range(per)]
    rng, buf, seq = rng_for(seed, "buffer", 0, 0), [], []
    for item in order:
        buf.append(item)
        if len(buf) >= buffer:
            seq.append(buf.pop(int(rng.integers(len(buf)))))
    while buf:
        seq.append(buf.pop(int(rng.integers(len(buf)))))
    shards = [i // per for i in seq]
    reads = 1 + sum(a != b for a, b in zip(shards, shards[1:]))
    return reads, _one_shard_share(shards, batch)


def _one_shard_share(shards: list[int], batch: int) -> float:
    batches = [shards[i:i + batch] for i in range(0, len(shards) - batch + 1, batch)]
    return sum(len(set(b)) == 1 for b in batches) / len(batches)


def _plan_reads(n_shards: int, per: int, held: int, batch: int, seed: int = 0) -> tuple[int, float]:
    """(chunk reads, share of batches from one shard) of one epoch of the chunk plan with `held` chunks held."""
    from tk.train.data import stream_plan

    loaded, reads, shards = set(), 0, []
    for epoch, chunk, _, last in stream_plan([per] * n_shards, seed, held, 0, 1):
        if epoch:
            break
        if chunk not in loaded:
            loaded.add(chunk)
            reads += 1
        shards.append(chunk)
    return reads, _one_shard_share(shards, batch)


def plan(shards: int = 100, per: int = 64, batch: int = 4) -> dict:
    """Whole-shard reads per sample of one epoch, before and now, against the ideal (each shard once)."""
    from tk.train.data import chunks_held

    n = shards * per
    out = {"case": "plan", "shards": shards, "objects_per_shard": per, "ideal_reads_per_sample": shards / n, "rows": []}

    class _Index:  # what chunks_held reads of an index
        n_objects, chunks = n, [None] * shards

    for buffer in (16, 64, 256):
        reads, one = _before_reads(shards, per, buffer, batch)
        out["rows"].append({"loader": "before", "shuffle_buffer": buffer, "reads_per_sample": reads / n,
                            "x_ideal": reads / shards, "one_shard_batches": one})
        held = chunks_held(_Index, buffer)  # type: ignore[arg-type]
        reads, one = _plan_reads(shards, per, held, batch)
        out["rows"].append({"loader": "chunks", "shuffle_buffer": buffer, "held": held, "reads_per_sample": reads / n,
                            "x_ideal": reads / shards, "one_shard_batches": one})
    return out


def _cpu_data(workers: int):
    from tk.train.config import load_config

    cfg = load_config("cpu")
    cfg.data.num_workers = workers
    return cfg


def reads(shards: int = 20, per: int = 64) -> dict:
    """One epoch of the `cpu` preset's loader (in-process) on a synthetic folder: reads and bytes per sample."""
    from tk.train import shards as shard_mod
    from tk.train.data import SampleSpec, make_loader
    from tk.train.shards import ShardIndex

    cfg = _cpu_data(0)
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_synthetic(Path(tmp), shards, per)
        total = sum(p.stat().st_size for p in (folder / "shards").iterdir())
        index = ShardIndex(str(folder), keep_objects=False)
        n = index.n_objects
        loader = make_loader(index, SampleSpec(cfg.data, 64))
        before, t = _rchar(), time.perf_counter()
        samples = sum(len(b["uid"]) for b in itertools.islice(loader, n // cfg.data.batch_size))
        dt, read = time.perf_counter() - t, _rchar() - before
    share = total / n
    return {"case": "reads", "shards": shards, "objects": n, "samples": samples, "seconds": dt,
            "row_groups_per_sample": shard_mod.READ_STATS.image_row_groups / samples, "ideal_per_sample": shards / n,
            "bytes_per_sample": read / samples, "object_share_bytes": share, "x_share": read / samples / share,
            "image_column_bytes_per_sample": shard_mod.READ_STATS.bytes / samples}


def memory(objects: int, samples: int = 256) -> dict:
    """Memory at `objects` synthetic objects (64 per shard, images only), measured in a fresh interpreter (see
    `memory_of`): the synthetic folder is written here, so its writer's freed memory does not hide what follows."""
    import json
    import subprocess
    import sys

    with tempfile.TemporaryDirectory() as tmp:
        folder = write_synthetic(Path(tmp), -(-objects // 64), 64, images_only=True)
        out = subprocess.run([sys.executable, "-W", "ignore", "-m", "bench.train.cases", "--case", "memory-of",
                              "--data", str(folder), "--steps", str(samples)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def memory_of(data: str, samples: int) -> dict:
    """What the training index holds (Python and numpy memory it keeps, tracemalloc), the RSS growth of the loader
    over `samples` samples (the chunks it holds: Arrow memory too), and what an index keeping every object
    (evaluation's) holds."""
    import gc
    import tracemalloc

    import pyarrow.fs  # noqa: F401  (imported before the baselines)
    import pyarrow.parquet  # noqa: F401

    from tk.train.data import SampleSpec, make_loader
    from tk.train.shards import ShardIndex

    def held(**kw):
        gc.collect()
        tracemalloc.start()
        index = ShardIndex(data, **kw)
        gc.collect()
        size = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        return index, size / 2**20

    cfg = _cpu_data(0)
    index, index_mib = held(keep_objects=False)
    base = _rss_mib()
    for _ in itertools.islice(make_loader(index, SampleSpec(cfg.data, 64)), samples // cfg.data.batch_size):
        pass
    gc.collect()
    loader_mib = _rss_mib() - base
    full, full_mib = held()
    return {"case": "memory", "objects": index.n_objects, "chunks": len(index.chunks), "index_mib": index_mib,
            "loader_mib": loader_mib, "objects_index_mib": full_mib, "objects_kept": len(full.objects)}


def throughput(samples: int, workers: int) -> dict:
    """Samples per second of the `cpu` preset's loader alone (decode, rays; no model) on the fixture; with 0 workers
    also its CPU seconds per sample on one thread (as in a loader worker), which a busy machine inflates far less
    than wall time."""
    import torch

    from tk.train.data import SampleSpec, make_loader
    from tk.train.shards import ShardIndex

    cfg = _cpu_data(workers)
    if workers == 0:
        torch.set_num_threads(1)  # what a loader worker runs with
    it = make_loader(ShardIndex(str(RENDERS), keep_objects=False), SampleSpec(cfg.data, 64))
    next(it)
    t, c = time.perf_counter(), time.process_time()
    n = sum(len(b["uid"]) for b in itertools.islice(it, max(1, samples // cfg.data.batch_size)))
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    return {"case": f"loader-w{workers}", "samples_per_s": n / wall, "cpu_s_per_sample": cpu / n if workers == 0 else None}


