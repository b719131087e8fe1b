"""Fixtures of the model tests: the official tiny reference and a random tiny model."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

DATA = Path(__file__).resolve().parents[1] / "data"
TINY_REF = DATA / "triposr_tiny"


@pytest.fixture(scope="session")
def tiny_ref_dir() -> Path:
    """The tiny model built and run with the official code (see tests/data/triposr_tiny/NOTE.md)."""
    return TINY_REF


@pytest.fixture(scope="session")
def ref_model():
    """The tiny reference loaded through from_pretrained (strict)."""
    from tk.model import TripoSR

    torch.set_num_threads(2)
    return TripoSR.from_pretrained(TINY_REF)


@pytest.fixture()
def tiny_model():
    """A randomly initialised `tiny` preset (seeded)."""
    from tk.model import TripoSR, load_model_config

    torch.manual_seed(0)
    return TripoSR(load_model_config("tiny"))
