"""Fixtures: one hand-assembled release per session, copied into each test that changes it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.release.synthetic import make_release


@pytest.fixture(scope="session")
def synthetic_release_master(tmp_path_factory, sample_dir) -> Path:
    """A sealed release over three sample objects (built once; do not modify)."""
    return make_release(tmp_path_factory.mktemp("synthetic") / "rel", sample_dir)


@pytest.fixture()
def synthetic_release(synthetic_release_master, tmp_path) -> Path:
    """A private copy of the synthetic release that a test may tamper with."""
    return Path(shutil.copytree(synthetic_release_master, tmp_path / "rel"))
