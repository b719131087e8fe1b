"""The loader's reads scale with the data, not with the shuffle (issue 22): each row group once per epoch, files closed,
a bounded framing sample, exact resume when objects are skipped."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tk.train.config import DataConfig
from tk.train.data import SampleSpec, input_framing, make_loader
from tk.train.shards import RowReader, ShardIndex
from bench.train.synthetic import write_synthetic

SHARDS, PER_SHARD = 12, 8


@pytest.fixture(scope="module")
def many(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12 one-row-group shards of 8 objects (copies of the fixture's real renders)."""
    return write_synthetic(tmp_path_factory.mktemp("many"), SHARDS, PER_SHARD)


@pytest.fixture
def image_reads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Every row group read with its image column, as (file, row group), however the reader asks pyarrow."""
    reads: list[tuple[str, int]] = []
    one, several = pq.ParquetFile.read_row_group, pq.ParquetFile.read_row_groups

    def read_row_group(self, i, columns=None, **kw):
        if columns is None or "rgba" in columns:
            reads.append((id(self), i))
        return one(self, i, columns=columns, **kw)

    def read_row_groups(self, groups, columns=None, **kw):
        if columns is None or "rgba" in columns:
            reads.extend((id(self), i) for i in groups)
        return several(self, groups, columns=columns, **kw)

    monkeypatch.setattr(pq.ParquetFile, "read_row_group", read_row_group)
    monkeypatch.setattr(pq.ParquetFile, "read_row_groups", read_row_groups)
    return reads


def _open_files(folder: Path) -> list[str]:
    links = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            links.append(os.readlink(f"/proc/self/fd/{fd}"))
        except FileNotFoundError:  # the fd of the listing itself
            pass
    return [p for p in links if p.startswith(str(folder))]


def test_an_epoch_reads_each_row_group_once_and_mixes_shards(many: Path, image_reads: list) -> None:
    index = ShardIndex(str(many))
    spec = SampleSpec(DataConfig(views=2, patch_size=16, num_workers=0, batch_size=1, shuffle_buffer=16), 64)
    n = SHARDS * PER_SHARD
    uids = [b["uid"][0] for b in itertools.islice(make_loader(index, spec), n)]
    assert sorted(uids) == sorted(o.uid for o in index.objects)  # one epoch: every object once
    assert len(image_reads) == SHARDS  # the ideal: each row group read once per epoch
    shard_of = {o.uid: o.shard for o in index.objects}
    first = [shard_of[u] for u in uids[:16]]
    assert len(set(first)) >= 2  # consecutive samples mix the row groups held at once


def test_readers_close_their_files(many: Path) -> None:
    index = ShardIndex(str(many))
    reader = RowReader(index)
    by_shard = {o.shard: o for o in index.objects}
    for ref in by_shard.values():
        assert reader.rgba_bytes(ref, ref.views[0])[:4] == b"\x89PNG"
    assert _open_files(many) == []
    spec = SampleSpec(DataConfig(views=2, patch_size=16, num_workers=0, batch_size=1, shuffle_buffer=16), 64)
    for _ in itertools.islice(make_loader(index, spec), 40):
        assert _open_files(many) == []


def test_framing_reads_a_bounded_sample(many: Path, image_reads: list) -> None:
    record = input_framing(ShardIndex(str(many)))
    assert len(image_reads) <= 4  # never a scan over every shard, however many there are
    assert record["inputs_measured"] > 0 and record["touching_border"] == 0


@pytest.mark.parametrize("workers", [0, 2])
def test_resume_is_exact_when_objects_are_skipped(renders: Path, monkeypatch: pytest.MonkeyPatch, workers: int) -> None:
    """An object whose every input view is cut is skipped; resuming still continues with the very next sample."""
    from tk.train import data

    index = ShardIndex(str(renders))
    doomed = index.objects[1].uid
    real = data.decode_rgba

    def decode(payload, where=""):  # every view of `doomed` touches the border: no usable input
        rgba = real(payload, where)
        if doomed in where:
            rgba = rgba.copy()
            rgba[0, 0, 3] = 1.0
        return rgba

    monkeypatch.setattr(data, "decode_rgba", decode)
    spec = SampleSpec(DataConfig(views=2, patch_size=16, num_workers=workers, batch_size=1, shuffle_buffer=4), 64)
    loader = make_loader(index, spec)
    full, position = [], None
    for i, batch in enumerate(itertools.islice(loader, 12)):
        full.append(batch["uid"][0])
        if i == 4:
            position = loader.position()  # what a checkpoint after 5 batches saves
    assert doomed not in full
    tail = [b["uid"][0] for b in itertools.islice(make_loader(index, spec, skip_batches=5, stream_items=position), 7)]
    assert tail == full[5:]


def test_max_objects_streams_the_first_objects_by_hash(many: Path) -> None:
    """data.max_objects (the first objects by a hash of their uid) in the training index, which keeps no objects."""
    from tk.train.shards import first_by_hash

    want = set(first_by_hash((o.uid for o in ShardIndex(str(many)).objects), 10))
    index = ShardIndex(str(many), keep_objects=False, max_objects=10)
    assert index.objects == [] and index.n_objects == 10
    spec = SampleSpec(DataConfig(views=2, patch_size=16, num_workers=0, batch_size=1, shuffle_buffer=16), 64)
    assert {b["uid"][0] for b in itertools.islice(make_loader(index, spec), 10)} == want
