"""The shard stream: what a sample holds, each object once per epoch per rank/worker, exact resumption."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
import torch

from tk.train.config import DataConfig
from tk.train.data import SampleSpec, make_loader, stream_plan
from tk.train.patches import patch_pixels, sample_patch, sample_pixels
from tk.train.shards import ShardIndex


def test_sample_holds_input_on_grey_and_patches_on_white(renders: Path) -> None:
    index = ShardIndex(str(renders))
    spec = SampleSpec(DataConfig(views=4, patch_size=16, num_workers=0, batch_size=1), cond_image_size=64)
    batch = next(iter(make_loader(index, spec)))
    assert batch["input"].shape == (1, 3, 64, 64)
    assert batch["rgb"].shape == (1, 4, 16, 16, 3) and batch["mask"].shape == (1, 4, 16, 16, 1)
    assert batch["rays_o"].shape == (1, 4, 256, 3)
    corner = batch["input"][0, :, 0, 0]  # renders have empty corners: grey 0.5 in the input
    torch.testing.assert_close(corner, torch.full((3,), 0.5), atol=1e-3, rtol=0)
    background = batch["mask"][..., 0] == 0
    assert torch.all(batch["rgb"][background] == 1.0)  # targets on white
    # The input view sits at the canonical camera: its rays start at (1.9, 0, 0).
    torch.testing.assert_close(batch["rays_o"][0, 0, 0], torch.tensor([1.9, 0.0, 0.0]), atol=1e-5, rtol=0)
    norms = batch["rays_o"][0, :, 0].norm(dim=-1)
    assert torch.all(norms >= 1.9 * 0.75) and torch.all(norms <= 1.9 * 1.35)  # others scaled by 1.9/d


def test_each_object_once_per_epoch_across_ranks_and_workers() -> None:
    counts = [8, 5, 8, 3, 8, 1]  # objects per chunk
    streams = [list(itertools.islice(stream_plan(counts, 0, 2, w, 4), 60)) for w in range(4)]  # 2 ranks x 2 workers
    for epoch in range(3):
        used = [(c, p) for s in streams for (e, c, p, _) in s if e == epoch]
        assert sorted(used) == [(c, p) for c, n in enumerate(counts) for p in range(n)]
    for s in streams:  # a chunk's last use is flagged once per stream and epoch, and never used after it
        done = set()
        for e, c, p, last in s:
            assert (e, c) not in done
            if last:
                done.add((e, c))
    order = [p for _, c, p, _ in streams[0] if c == 0]
    assert order != sorted(order)  # shuffled within a chunk


@pytest.mark.parametrize("workers", [0, 2])
def test_loader_resumes_exactly(renders: Path, workers: int) -> None:
    index = ShardIndex(str(renders))
    spec = SampleSpec(DataConfig(views=2, patch_size=16, num_workers=workers, batch_size=1, shuffle_buffer=2), 64)
    full = [b["rgb"] for b in itertools.islice(make_loader(index, spec), 7)]
    tail = [b["rgb"] for b in itertools.islice(make_loader(index, spec, skip_batches=3), 4)]
    for a, b in zip(full[3:], tail):
        torch.testing.assert_close(a, b, atol=0, rtol=0)


def test_patch_centres_follow_the_mask() -> None:
    mask = np.zeros((64, 64), dtype=np.float32)
    mask[50:60, 4:12] = 1.0
    rng = np.random.default_rng(0)
    for _ in range(50):
        top, left = sample_patch(mask, 16, uniform_share=0.0, rng=rng)
        assert mask[top:top + 16, left:left + 16].sum() > 0
    hits = [mask[t:t + 16, l:l + 16].sum() > 0 for t, l in (sample_patch(mask, 16, 1.0, rng) for _ in range(200))]
    assert 0.05 < np.mean(hits) < 0.6  # uniform draws do see background-only patches
    u, v = patch_pixels(3, 5, 4)
    assert (u[:4].tolist(), v[:4].tolist()) == ([5, 6, 7, 8], [3, 3, 3, 3])


def test_scattered_pixels_follow_the_mask() -> None:
    mask = np.zeros((64, 64), dtype=np.float32)
    mask[50:60, 4:12] = 1.0
    rng = np.random.default_rng(0)
    u, v = sample_pixels(mask, 256, uniform_share=0.0, rng=rng)
    assert u.shape == v.shape == (256,) and np.all(mask[v, u] == 1.0)
    assert len(set(zip(u.tolist(), v.tolist()))) > 60  # spread over the whole 80-pixel object, not one window
    u, v = sample_pixels(mask, 4000, uniform_share=1.0, rng=rng)
    assert abs(mask[v, u].mean() - mask.mean()) < 0.01  # uniform draws: the object's share of the frame
    u, v = sample_pixels(np.zeros((8, 8)), 10, uniform_share=0.0, rng=rng)  # no object: uniform
    assert u.min() >= 0 and u.max() < 8 and v.min() >= 0 and v.max() < 8


def test_scattered_samples_hold_only_object_pixels_when_all_draws_follow_the_mask(renders: Path) -> None:
    index = ShardIndex(str(renders))
    common = dict(views=4, patch_size=16, num_workers=0, batch_size=2, uniform_share=0.0)
    scattered = next(iter(make_loader(index, SampleSpec(DataConfig(**common, sampling="scattered"), 64))))
    patch = next(iter(make_loader(index, SampleSpec(DataConfig(**common), 64))))
    assert scattered["rgb"].shape == patch["rgb"].shape == (2, 4, 16, 16, 3)
    assert scattered["rays_o"].shape == patch["rays_o"].shape == (2, 4, 256, 3)
    assert float((scattered["mask"] > 0).float().mean()) == 1.0  # every drawn pixel lies on the object
    assert float((patch["mask"] > 0).float().mean()) < 0.9  # a window around a centre on the object also sees background
    torch.testing.assert_close(scattered["input"], patch["input"])  # the same input views: only the rays differ


def test_scattered_sampling_refuses_lpips() -> None:
    from tk.errors import TkError
    from tk.train.config import LossConfig, TrainConfig

    with pytest.raises(TkError, match="scattered.*lambda_lpips"):
        TrainConfig(data=DataConfig(sampling="scattered"), loss=LossConfig(lambda_lpips=1.0))
    with pytest.raises(TkError, match="data.sampling"):
        DataConfig(sampling="random")


def test_shards_on_an_fsspec_filesystem(renders: Path) -> None:
    import fsspec

    from tk.train.data import build_sample
    from tk.train.shards import RowReader

    fs = fsspec.filesystem("memory")
    fs.pipe("/tk-test/renders/shards/shard-00000.parquet", (renders / "shards" / "shard-00000.parquet").read_bytes())
    try:
        index = ShardIndex("memory://tk-test/renders")
        local = ShardIndex(str(renders))
        assert [o.uid for o in index.objects] == [o.uid for o in local.objects]
        spec = SampleSpec(DataConfig(views=2, patch_size=16, num_workers=0), 64)
        a = build_sample(index.objects[0], RowReader(index), spec, epoch=0)
        b = build_sample(local.objects[0], RowReader(local), spec, epoch=0)
        torch.testing.assert_close(a["rgb"], b["rgb"], atol=0, rtol=0)
    finally:
        fs.rm("/tk-test", recursive=True)
