"""Shared fixtures: paths to the sample objects shipped in the repo, a simulated Ray cluster; no test touches the network."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


@pytest.fixture
def ray_cluster() -> Iterator[Any]:
    """A simulated multi-node Ray cluster (ray.cluster_utils.Cluster): a head with no CPUs, so nothing runs there,
    and the driver connected to it; the test adds worker nodes (the curate and render node-loss tests)."""
    import ray
    from ray.cluster_utils import Cluster

    c = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "include_dashboard": False})
    ray.init(address=c.address, log_to_driver=False, logging_level="ERROR")
    try:
        yield c
    finally:
        ray.shutdown()
        c.shutdown()
