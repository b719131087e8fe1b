"""The training stream: one sample per object, built inside DataLoader workers from the shards.

Order. Per epoch, objects are put in a seeded order of their row groups (so reads stay sequential),
cut into one contiguous block per (rank, worker), and passed through a shuffle buffer. Each object
is therefore used once per epoch over all ranks and workers. The stream is endless (epoch after
epoch), so ranks never wait on each other at an epoch's end; the loop counts steps instead.

Determinism. Everything random in a sample (input view, other views, patches) is drawn from a
generator seeded by (seed, epoch, uid), and the shuffle works on object references, so resuming
only skips references: `skip_batches` batches already consumed cost no PNG decoding.

A sample holds: `input` (3,S,S) the input view composited on grey 0.5 and resized to the model's
cond_image_size; `rgb` (V,P,P,3) patches on white; `mask` (V,P,P,1); `rays_o`, `rays_d` (V,P*P,3)
in the canonical gauge (train/geometry.py); `uid`.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from tk.contracts.renders import composite, decode_rgba  # the contract's codecs; patchable here for tests
from tk.errors import ContractError, TkError
from tk.geometry import pixel_rays, rng_for
from tk.train import geometry, patches
from tk.train.config import DataConfig
from tk.train.shards import ObjectRef, RowReader, ShardIndex


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


def build_sample(ref: ObjectRef, reader: RowReader, spec: SampleSpec, epoch: int) -> dict[str, Any] | None:
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


def choose_input(ref: ObjectRef, reader: RowReader, rng: np.random.Generator, where: str
                 ) -> tuple[int | None, np.ndarray | None, int]:
    """(position, decoded RGBA, redraws) of the input view: a random usable view whose object is not cut by the
    image border (tk.framing); a cut one is redrawn. (None, None, n) when every candidate is cut: skip the object."""
    from tk import framing

    candidates = [int(i) for i in rng.permutation(ref.input_views)]
    for redraws, pos in enumerate(candidates):
        view = ref.views[pos]
        rgba = decode_rgba(reader.rgba_bytes(ref, view), f"{where} ({ref.uid} view {view.view})")
        if not framing.touches_border(rgba[..., 3]):
            return pos, rgba, redraws
    return None, None, len(candidates)


def first_uncut_input(ref: ObjectRef, reader: RowReader, exclude: Sequence[int] = ()) -> tuple[int, np.ndarray] | None:
    """(position, RGBA) of the first input candidate whose object the border does not cut (evaluation's input)."""
    from tk import framing

    for pos in ref.input_views:
        if ref.views[pos].view in exclude:
            continue
        rgba = decode_rgba(reader.rgba_bytes(ref, ref.views[pos]))
        if not framing.touches_border(rgba[..., 3]):
            return pos, rgba
    return None


def input_framing(index: ShardIndex, limit: int = 256, seed: int = 0) -> dict[str, Any]:
    """How the training inputs are framed (tk.framing): fill quantiles over up to `limit` seeded input candidates,
    and how many of them the border cuts. `tk infer` crops a user's image to the median (framing.json)."""
    from tk import framing

    pairs = [(o, p) for o in index.objects for p in o.input_views]
    picked = rng_for(seed, "framing").permutation(len(pairs))[:limit]
    reader = RowReader(index)
    fills, border = [], 0
    for k in sorted(int(i) for i in picked):
        ref, pos = pairs[k]
        alpha = decode_rgba(reader.rgba_bytes(ref, ref.views[pos]))[..., 3]
        if framing.touches_border(alpha):
            border += 1
        else:
            fills.append(framing.foreground_fill(alpha))
    return framing.summarise_fills(fills, border, len(pairs))


def epoch_order(index: ShardIndex, seed: int, epoch: int) -> list[int]:
    """Object positions for one epoch: row groups in a seeded order, objects of a group kept together."""
    groups: dict[tuple[int, int], list[int]] = {}
    for i, ref in enumerate(index.objects):
        groups.setdefault((ref.shard, ref.first_row_group), []).append(i)
    keys = list(groups)
    order = rng_for(seed, "epoch", epoch).permutation(len(keys))
    return [i for k in order for i in groups[keys[k]]]


def worker_block(order: list[int], worker: int, n_workers: int) -> list[int]:
    """The contiguous block of `order` that global worker `worker` of `n_workers` handles."""
    bounds = np.linspace(0, len(order), n_workers + 1).round().astype(int)
    return order[bounds[worker]:bounds[worker + 1]]


def buffer_shuffle(items: list[int], size: int, rng: np.random.Generator) -> Iterator[int]:
    """Yield `items` through a shuffle buffer of `size`: local randomness, streaming reads."""
    buf: list[int] = []
    for item in items:
        buf.append(item)
        if len(buf) >= size:
            yield buf.pop(int(rng.integers(len(buf))))
    while buf:
        yield buf.pop(int(rng.integers(len(buf))))


def worker_stream(index: ShardIndex, spec: SampleSpec, worker: int, n_workers: int) -> Iterator[tuple[int, int]]:
    """Endless (epoch, object position) pairs of one global worker."""
    epoch = 0
    while True:
        block = worker_block(epoch_order(index, spec.seed, epoch), worker, n_workers)
        yield from ((epoch, i) for i in buffer_shuffle(block, spec.data.shuffle_buffer,
                                                         rng_for(spec.seed, "buffer", epoch, worker)))
        epoch += 1


def skipped_samples(batches: int, stream: int, n_streams: int, batch_size: int) -> int:
    """Samples stream `stream` of `n_streams` had produced when `batches` batches were consumed (round robin)."""
    return ((batches - stream + n_streams - 1) // n_streams if batches > stream else 0) * batch_size


class ShardDataset(IterableDataset):
    """The endless sample stream of one rank; DataLoader workers split it (see the module docstring)."""

    def __init__(self, index: ShardIndex, spec: SampleSpec, skip_batches: int = 0) -> None:
        self.index, self.spec, self.skip_batches = index, spec, skip_batches

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
        reader = RowReader(self.index)
        skip = skipped_samples(self.skip_batches, local, n_loader, self.spec.data.batch_size)
        skipped = 0  # objects with no uncut input view, reported with the next sample
        for epoch, i in itertools.islice(worker_stream(self.index, self.spec, worker, n_global), skip, None):
            sample = build_sample(self.index.objects[i], reader, self.spec, epoch)
            if sample is None:
                skipped += 1
                continue
            sample["inputs_skipped"], skipped = skipped, 0
            yield sample


def check_feeds(index: ShardIndex, spec: SampleSpec) -> None:
    """Raise TkError when the data cannot feed every worker or the patches do not fit the renders."""
    n_global = spec.world_size * max(spec.data.num_workers, 1)
    if len(index.objects) < n_global:
        raise TkError(f"{len(index.objects)} object(s) cannot feed {spec.world_size} process(es) x "
                      f"{max(spec.data.num_workers, 1)} loader worker(s); lower data.num_workers or add objects")
    width, height = index.image_size()
    if spec.data.patch_size > min(width, height):
        raise TkError(f"data.patch_size {spec.data.patch_size} exceeds the renders ({width}x{height}); "
                      "lower it or render larger images")


def make_loader(index: ShardIndex, spec: SampleSpec, skip_batches: int = 0) -> Any:
    """A DataLoader of batches (B objects) for this rank, in a fixed order that resumes exactly."""
    check_feeds(index, spec)
    n = spec.data.num_workers
    return DataLoader(
        ShardDataset(index, spec, skip_batches),
        batch_size=spec.data.batch_size,
        num_workers=n,
        persistent_workers=False,
        prefetch_factor=2 if n else None,
        in_order=True,
    )
