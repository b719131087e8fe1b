"""Shared fixtures: paths to the sample objects shipped in the repo; no test touches the network."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "manifests" / "sample"

os.environ.setdefault("TK_NO_PROGRESS", "1")
# Ray and torch must not write into the user's home during tests.
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    """manifests/sample: real objects with their licenses (see its README.md)."""
    return SAMPLE


@pytest.fixture(scope="session")
def sample_objects() -> Path:
    """manifests/sample/objects: the loadable sample objects."""
    return SAMPLE / "objects"
