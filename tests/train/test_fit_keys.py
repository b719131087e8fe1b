"""bench.fit keys its oracle cache and run folders by what the results depend on (issue 22): the resolved config,
the model preset and the renders' bytes, so an edited config file or re-rendered data never returns old results."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from bench.keys import renders_fingerprint, result_key
from tk.train.config import load_config

RENDERS = Path(__file__).resolve().parents[1] / "data" / "renders"


def test_key_changes_when_the_config_file_is_edited(tmp_path):
    path = tmp_path / "cpu.yaml"
    raw = load_config("cpu").to_dict()
    path.write_text(yaml.safe_dump(raw))
    before = result_key(load_config(path).to_dict())
    raw["loss"]["lambda_mask"] = 0.25  # same file name, other recipe
    path.write_text(yaml.safe_dump(raw))
    assert result_key(load_config(path).to_dict()) != before
    path.write_text(yaml.safe_dump({**raw, "loss": {**raw["loss"], "lambda_mask": 0.5}}))
    assert result_key(load_config(path).to_dict()) == before  # same content, same key


def test_fingerprint_follows_the_renders_bytes(tmp_path):
    data = tmp_path / "renders"
    shutil.copytree(RENDERS, data)
    before = renders_fingerprint(data)
    assert renders_fingerprint(data) == before and len(before) == 64
    shard = next((data / "shards").glob("*.parquet"))
    shard.write_bytes(shard.read_bytes() + b"\0")
    assert renders_fingerprint(data) != before
