"""The training stream: one sample per object, built inside DataLoader workers from the shards.

Order and reads. Per epoch, the index's chunks (a shard's row group: up to 64 objects) are put in a seeded order,
their objects cut into one contiguous block per (rank, worker), and each worker holds a few whole chunks at once
(`chunks_held`: enough for `data.shuffle_buffer` objects, at least 4). It draws the next object at random from the
held chunks (a uniform chunk, then a uniform object it has left: a shuffle within and across the chunks held); when
a chunk's last object is drawn its place goes to the next chunk of the block (a worker whose block is one chunk keeps
it from epoch to epoch). So every chunk is read once per epoch per
worker that holds part of it (at most ranks x workers - 1 chunks are shared), only its image column and small columns,
and the memory is that of the chunks held, whatever the number of objects. Each object is used once per epoch over
all ranks and workers. The stream is endless (epoch after epoch), so ranks never wait on each other at an epoch's end;
the loop counts steps instead.

Determinism and resume. The order (`stream_plan`) depends only on the seed and the chunks' object counts, and
everything random in a sample (input view, other views, patches) is drawn from a generator seeded by (seed, epoch,
uid). Every sample carries `stream_item`, how many plan items its stream had used after it (objects skipped because
every input view is cut count too); `Batches.position()` keeps the last value of each stream, the checkpoint saves
it, and a resumed stream skips exactly that many plan items without reading or decoding them.

A sample holds: `input` (3,S,S) the input view composited on grey 0.5 and resized to the model's
cond_image_size; `rgb` (V,P,P,3) patches on white; `mask` (V,P,P,1); `rays_o`, `rays_d` (V,P*P,3)
in the canonical gauge (train/geometry.py); `uid`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from tk import framing
from tk.contracts.renders import composite, decode_rgba  # the contract's codecs; patchable here for tests
from tk.errors import ContractError, TkError
from tk.geometry import pixel_rays, rng_for
from tk.train import geometry, patches
from tk.train.config import DataConfig
from tk.train.shards import ChunkReader, ObjectRef, RowReader, ShardIndex


def input_image(rgba: np.ndarray, size: int) -> Any:
    """The model's input: composited on grey 0.5 (as at inference), resized to size x size; (3,S,S) tensor."""
    image = torch.from_numpy(np.ascontiguousarray(composite(rgba, 0.5))).permute(2, 0, 1)
    if image.shape[-1] != size or image.shape[-2] != size:
        image = F.interpolate(image[None], size=(size, size), mode="bilinear", antialias=True, align_corners=False)[0]
    return image.clamp(0.0, 1.0)


@dataclass(frozen=True)
class SampleSpec:
    """What the dataset needs besides the shards: config, model input size, seed, and the process's place."""

    data: DataConfig
    cond_image_size: int
    seed: int = 0
    rank: int = 0
    world_size: int = 1


def build_sample(ref: ObjectRef, reader: RowReader | ChunkReader, spec: SampleSpec, epoch: int) -> dict[str, Any] | None:
    """Decode one object's input view and V supervision patches (or scattered pixels) with rays in the canonical gauge.

    None when every input candidate of the object is cut by the image border (never train on a cut input).
    """
    cfg = spec.data
    rng = rng_for(spec.seed, epoch, ref.uid)
    where = reader.index.paths[ref.shard]
    input_pos, input_rgba, redraws = choose_input(ref, reader, rng, where)
    if input_pos is None:
        return None
    others = [i for i in range(len(ref.views)) if i != input_pos]
    n_more = cfg.views - 1
    if n_more:
        picked = rng.choice(others, size=n_more, replace=len(others) < n_more) if others else [input_pos] * n_more
    else:
        picked = []
    positions = [input_pos, *(int(p) for p in picked)]
    q, s = geometry.canonical_similarity(ref.views[input_pos].c2w)
    p = cfg.patch_size
    rgb, mask, rays_o, rays_d = [], [], [], []
    inp = None
    for pos in positions:
        view = ref.views[pos]
        rgba = input_rgba if pos == input_pos else decode_rgba(reader.rgba_bytes(ref, view),
                                                                 f"{where} ({ref.uid} view {view.view})")
        if rgba.shape[:2] != (view.height, view.width):
            raise ContractError(f"{where}: {ref.uid} view {view.view} is {rgba.shape[1]}x{rgba.shape[0]}, "
                                f"the row says {view.width}x{view.height}")
        if inp is None:
            inp = input_image(rgba, spec.cond_image_size)
        if cfg.sampling == "scattered":
            u, v = patches.sample_pixels(rgba[..., 3], p * p, cfg.uniform_share, rng)
        else:
            u, v = patches.patch_pixels(*patches.sample_patch(rgba[..., 3], p, cfg.uniform_share, rng), p)
        drawn = rgba[v, u].reshape(p, p, 4)  # row-major: a patch's pixels come back as its crop
        rgb.append(composite(drawn, 1.0))
        mask.append(drawn[..., 3:4])
        o, d = pixel_rays(geometry.transform_c2w(view.c2w, q, s), view.fx, view.fy, view.cx, view.cy, u, v)
        rays_o.append(o)
        rays_d.append(d)
    return {
        "uid": ref.uid,
        "input": inp,
        "rgb": torch.from_numpy(np.stack(rgb)),
        "mask": torch.from_numpy(np.stack(mask)),
        "rays_o": torch.from_numpy(np.stack(rays_o)),
        "rays_d": torch.from_numpy(np.stack(rays_d)),
        "input_redraws": redraws,
    }


def choose_input(ref: ObjectRef, reader: RowReader | ChunkReader, rng: np.random.Generator, where: str
                 ) -> tuple[int | None, np.ndarray | None, int]:
    """(position, decoded RGBA, redraws) of the input view: a random usable view whose object is not cut by the
    image border (tk.framing); a cut one is redrawn. (None, None, n) when every candidate is cut: skip the object."""
    candidates = [int(i) for i in rng.permutation(ref.input_views)]
    for redraws, pos in enumerate(candidates):
        view = ref.views[pos]
        rgba = decode_rgba(reader.rgba_bytes(ref, view), f"{where} ({ref.uid} view {view.view})")
        if not framing.touches_border(rgba[..., 3]):
            return pos, rgba, redraws
    return None, None, len(candidates)


def first_uncut_input(ref: ObjectRef, reader: RowReader, exclude: Sequence[int] = ()) -> tuple[int, np.ndarray] | None:
    """(position, RGBA) of the first input candidate whose object the border does not cut (evaluation's input)."""
    for pos in ref.input_views:
        if ref.views[pos].view in exclude:
            continue
        rgba = decode_rgba(reader.rgba_bytes(ref, ref.views[pos]))
        if not framing.touches_border(rgba[..., 3]):
            return pos, rgba
    return None


FRAMING_CHUNKS = 4  # chunks the framing is measured on: a bounded read (4 shards), whatever the data's size


def input_framing(index: ShardIndex, limit: int = 256, seed: int = 0, chunks: int = FRAMING_CHUNKS) -> dict[str, Any]:
    """How the training inputs are framed (tk.framing): fill quantiles over up to `limit` seeded input candidates of
    up to `chunks` seeded chunks, and how many of them the border cuts. `tk infer` crops a user's image to the median
    (framing.json). Reads at most `chunks` chunks, so rank 0 measures it in about the time of one loader step."""
    picked_chunks = sorted(int(c) for c in rng_for(seed, "framing", "chunks").permutation(len(index.chunks))[:chunks])
    reader = ChunkReader(index, capacity=len(picked_chunks))
    pairs = [(o, p) for c in picked_chunks for o in reader.load(c) for p in o.input_views]
    picked = rng_for(seed, "framing").permutation(len(pairs))[:limit]
    fills, border = [], 0
    for k in sorted(int(i) for i in picked):
        ref, pos = pairs[k]
        alpha = decode_rgba(reader.rgba_bytes(ref, ref.views[pos]))[..., 3]
        if framing.touches_border(alpha):
            border += 1
        else:
            fills.append(framing.foreground_fill(alpha))
    return framing.summarise_fills(fills, border, index.candidates)


MIN_HELD = 4


def chunks_held(index: ShardIndex, shuffle_buffer: int) -> int:
    """Chunks each worker holds at once: enough for `shuffle_buffer` objects on average, and at least `MIN_HELD` (so
    that the objects of a batch come from several shards: with 2, 12% of 4-object batches came from one)."""
    per_chunk = index.n_objects / len(index.chunks)
    return max(MIN_HELD, math.ceil(shuffle_buffer / per_chunk))


def epoch_chunks(n_chunks: int, seed: int, epoch: int) -> list[int]:
    """The chunks in this epoch's seeded order."""
    return [int(c) for c in rng_for(seed, "epoch", epoch).permutation(n_chunks)]


def worker_segments(counts: Sequence[int], order: Sequence[int], worker: int, n_workers: int
                    ) -> list[tuple[int, int, int]]:
    """(chunk, first, stop) object ranges that global worker `worker` of `n_workers` handles: its contiguous share of
    the objects of the chunks in `order` (`counts[c]` objects in chunk c)."""
    total = sum(counts[c] for c in order)
    lo, hi = (int(x) for x in np.linspace(0, total, n_workers + 1).round().astype(int)[[worker, worker + 1]])
    out, start = [], 0
    for c in order:
        a, b = max(lo, start), min(hi, start + counts[c])
        if a < b:
            out.append((c, a - start, b - start))
        start += counts[c]
        if start >= hi:
            break
    return out


def stream_plan(counts: Sequence[int], seed: int, held: int, worker: int, n_workers: int
                ) -> Iterator[tuple[int, int, int, bool]]:
    """Endless (epoch, chunk, object position in the chunk, last use of the chunk) of one global worker.

    Holds up to `held` chunks of its segments; each item is a uniform draw of a held chunk, then of one of the objects
    it has left. A chunk is needed from its first item to its last and never again in the epoch. Drawing chunks
    uniformly (not in proportion to what they have left) keeps them draining together, so that a freshly read chunk
    does not take most of the next draws: 4 chunks held put 1.6% of 4-object batches in one shard (bench.train).
    With a single chunk per worker (the fixture) this is the draw the shuffle buffer made before: the order is
    unchanged there."""
    epoch = 0
    while True:
        segments = worker_segments(counts, epoch_chunks(len(counts), seed, epoch), worker, n_workers)
        rng = rng_for(seed, "buffer", epoch, worker)
        open_: list[tuple[int, list[int]]] = []
        nxt = 0
        while open_ or nxt < len(segments):
            while len(open_) < held and nxt < len(segments):
                c, a, b = segments[nxt]
                open_.append((c, list(range(a, b))))
                nxt += 1
            k = int(rng.integers(len(open_))) if len(open_) > 1 else 0
            chunk, todo = open_[k]
            pos = todo.pop(int(rng.integers(len(todo))))
            if not todo:
                open_.pop(k)
            yield epoch, chunk, pos, not todo
        epoch += 1


def skipped_samples(batches: int, stream: int, n_streams: int, batch_size: int) -> int:
    """Samples stream `stream` of `n_streams` had produced when `batches` batches were consumed (round robin); a
    checkpoint without stream positions (before issue 22) resumes from it, exact when no object was skipped."""
    return ((batches - stream + n_streams - 1) // n_streams if batches > stream else 0) * batch_size


class ShardDataset(IterableDataset):
    """The endless sample stream of one rank; DataLoader workers split it (see the module docstring)."""

    def __init__(self, index: ShardIndex, spec: SampleSpec, skip_batches: int = 0,
                 stream_items: Sequence[int] | None = None) -> None:
        self.index, self.spec, self.skip_batches = index, spec, skip_batches
        self.stream_items = list(stream_items) if stream_items is not None else None

    def __iter__(self) -> Iterator[dict[str, Any]]:
        info = get_worker_info()
        n_loader = max(self.spec.data.num_workers, 1)
        # The DataLoader asks its workers in turn starting from worker 0, so after `skip_batches` batches the
        # next batch belongs to stream (skip_batches % n): DataLoader worker i plays stream (i + skip) % n.
        local = ((info.id if info is not None else 0) + self.skip_batches) % n_loader
        if info is not None:
            torch.set_num_threads(1)  # workers decode PNGs; torch threads would fight the training step
        n_global = self.spec.world_size * n_loader
        worker = self.spec.rank * n_loader + local
        skip = self.stream_items[local] if self.stream_items is not None else \
            skipped_samples(self.skip_batches, local, n_loader, self.spec.data.batch_size)
        counts = [c.objects for c in self.index.chunks]
        held = chunks_held(self.index, self.spec.data.shuffle_buffer)
        plan = stream_plan(counts, self.spec.seed, held, worker, n_global)
        reader = ChunkReader(self.index, capacity=held)
        skipped = 0  # objects with no uncut input view, reported with the next sample
        retried = self.index.retried  # remote reads tried again (train/remote_read.py), reported with the next sample
        for item, (epoch, chunk, pos, last) in enumerate(itertools.islice(plan, skip, None), start=skip + 1):
            sample = build_sample(reader.load(chunk)[pos], reader, self.spec, epoch)
            if last:
                reader.finish(chunk)
            if sample is None:
                skipped += 1
                continue
            sample["inputs_skipped"], skipped = skipped, 0
            sample["read_retries"], retried = self.index.retried - retried, self.index.retried
            sample["stream_item"] = item
            yield sample


class Batches:
    """The batches of a DataLoader, and where each of its streams stands (plan items used) for the checkpoint."""

    def __init__(self, loader: Any, n_streams: int, skip_batches: int, stream_items: list[int]) -> None:
        self.loader, self.n_streams, self.batches, self.items = loader, n_streams, skip_batches, stream_items
        self._it: Iterator[dict[str, Any]] | None = None

    def __iter__(self) -> Batches:
        return self

    def __next__(self) -> dict[str, Any]:
        if self._it is None:
            self._it = iter(self.loader)
        try:
            batch = next(self._it)
        except TkError as e:
            raise from_worker(e) from None
        self.items[self.batches % self.n_streams] = int(batch["stream_item"][-1])
        self.batches += 1
        return batch

    def position(self) -> list[int]:
        """Plan items each stream of this rank has used in the batches taken so far (`make_loader(stream_items=)`)."""
        return list(self.items)


def from_worker(e: TkError) -> TkError:
    """`e` as raised where it happened: torch re-raises a loader worker's error as its class with a message of several
    lines ("Caught ... in DataLoader worker process 0", the traceback, then the error's own line), which a TkError
    shows as one line with the breaks escaped (tk.errors): keep the error's own line."""
    text, name = str(e), f"{type(e).__module__}.{type(e).__qualname__}: "
    if not text.startswith("Caught ") or " in DataLoader worker process " not in text or name not in text:
        return e
    line = text[text.rindex(name) + len(name):]
    while line.endswith("\\n"):
        line = line[:-2]
    return type(e)(line)


def check_feeds(index: ShardIndex, spec: SampleSpec) -> None:
    """Raise TkError when the data cannot feed every worker or the patches do not fit the renders."""
    n_global = spec.world_size * max(spec.data.num_workers, 1)
    if index.n_objects < n_global:
        raise TkError(f"{index.n_objects} object(s) cannot feed {spec.world_size} process(es) x "
                      f"{max(spec.data.num_workers, 1)} loader worker(s); lower data.num_workers or add objects")
    width, height = index.image_size()
    if spec.data.patch_size > min(width, height):
        raise TkError(f"data.patch_size {spec.data.patch_size} exceeds the renders ({width}x{height}); "
                      "lower it or render larger images")


def make_loader(index: ShardIndex, spec: SampleSpec, skip_batches: int = 0,
                stream_items: Sequence[int] | None = None) -> Batches:
    """Batches (B objects) for this rank in a fixed order that resumes exactly: after `skip_batches` batches, with each
    stream at `stream_items` (a `Batches.position()`; None: counted from the batches, exact when nothing was skipped)."""
    check_feeds(index, spec)
    n = spec.data.num_workers
    n_streams = max(n, 1)
    if stream_items is not None and len(stream_items) != n_streams:
        raise TkError(f"the checkpoint's data position has {len(stream_items)} loader stream(s), the config "
                      f"{n_streams}; resume with data.num_workers {len(stream_items)}")
    items = list(stream_items) if stream_items is not None else \
        [skipped_samples(skip_batches, s, n_streams, spec.data.batch_size) for s in range(n_streams)]
    loader = DataLoader(
        ShardDataset(index, spec, skip_batches, items),
        batch_size=spec.data.batch_size,
        num_workers=n,
        persistent_workers=False,
        prefetch_factor=2 if n else None,
        in_order=True,
    )
    return Batches(loader, n_streams, skip_batches, items)
