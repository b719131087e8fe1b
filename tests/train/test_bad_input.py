"""Bad input gets one clear line: configs, shards, checkpoints."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tk.errors import ContractError, TkError
from tk.train.config import config_from_dict, load_config
from tk.train.shards import ShardIndex


def test_presets_load_and_unknown_keys_fail(tmp_path: Path) -> None:
    for name in ("tiny", "small", "triposr"):
        cfg = load_config(name)
        assert cfg.model == name and cfg.data.views == 4
    assert load_config("triposr").data.patch_size == 128
    with pytest.raises(TkError, match=r"section 'optim': unknown key\(s\) \['lr_max'\]"):
        config_from_dict({"model": "tiny", "optim": {"lr_max": 1.0}})
    with pytest.raises(TkError, match=r"unknown section\(s\) \['trainer'\]"):
        config_from_dict({"model": "tiny", "trainer": {}})
    with pytest.raises(TkError, match="uniform_share"):
        config_from_dict({"data": {"uniform_share": 2}})
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: [tiny\n")
    with pytest.raises(TkError, match="not valid YAML"):
        load_config(bad)
    with pytest.raises(TkError, match="not found"):
        load_config(tmp_path / "missing.yaml")


def test_empty_renders_folder(tmp_path: Path) -> None:
    (tmp_path / "shards").mkdir()
    with pytest.raises(TkError, match="no render shards"):
        ShardIndex(str(tmp_path))


def test_shard_of_another_contract_version(renders: Path, tmp_path: Path) -> None:
    table = pq.read_table(renders / "shards" / "shard-00000.parquet")
    meta = dict(table.schema.metadata)
    meta[b"tk.contract_version"] = b"0"
    (tmp_path / "shards").mkdir()
    pq.write_table(table.replace_schema_metadata(meta), tmp_path / "shards" / "shard-00000.parquet")
    with pytest.raises(ContractError, match="contract version 0"):
        ShardIndex(str(tmp_path))


def test_object_split_across_shards(renders: Path, tmp_path: Path) -> None:
    (tmp_path / "shards").mkdir()
    shutil.copy(renders / "shards" / "shard-00000.parquet", tmp_path / "shards" / "shard-00000.parquet")
    shutil.copy(renders / "shards" / "shard-00000.parquet", tmp_path / "shards" / "shard-00001.parquet")
    with pytest.raises(ContractError, match="all views of one object must lie in one shard"):
        ShardIndex(str(tmp_path))


def test_no_objects_in_split_or_no_input_view(renders: Path, tmp_path: Path) -> None:
    with pytest.raises(TkError, match="no 'test' objects"):
        ShardIndex(str(renders), split="test")
    table = pq.read_table(renders / "shards" / "shard-00000.parquet")
    wide = pa.array([f * 0.5 for f in table.column("fy").to_pylist()], pa.float32())  # fovy ~74 deg: not an input
    (tmp_path / "shards").mkdir()
    pq.write_table(table.set_column(table.schema.get_field_index("fy"), "fy", wide), tmp_path / "shards" / "shard-00000.parquet")
    with pytest.raises(TkError, match="had no view with fovy 40"):
        ShardIndex(str(tmp_path))


def test_patch_larger_than_renders(renders: Path, tmp_path: Path, lpips_ready: None) -> None:
    from tk.train import loop
    from tk.train.config import TrainRun
    from train_fixtures import write_config

    cfg = write_config(tmp_path / "big.yaml", data={"patch_size": 128})
    with pytest.raises(TkError, match="exceeds the renders"):
        loop.run(TrainRun(config=cfg, data=renders, out=tmp_path / "run", max_steps=1))


def test_damaged_checkpoint_on_resume(tiny_run: Path, renders: Path, tmp_path: Path) -> None:
    from tk.train import loop
    from tk.train.config import TrainRun

    run = tmp_path / "run"
    shutil.copytree(tiny_run, run, symlinks=True)
    latest = (run / "checkpoints" / "latest").resolve()
    good = (run / "checkpoints" / "step-0000030" / "model.safetensors").read_bytes()
    with open(latest / "model.safetensors", "r+b") as fh:  # flip bytes in the middle of the weights
        fh.seek(2000)
        fh.write(b"\x00" * 64)
    with pytest.raises(TkError, match=r"step-0000040 is damaged .*delete .* to resume from step-0000030"):
        loop.run(TrainRun(config=None, data=renders, out=run, max_steps=41, resume=True))
    assert (run / "checkpoints" / "step-0000030" / "model.safetensors").read_bytes() == good
