"""RayPool resolves --workers/--threads into its own copy of the config, never into the caller's (issue 22)."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest


class _Handle:
    def __init__(self) -> None:
        self.hello = types.SimpleNamespace(remote=lambda: "hello-ref")
        self.warm = types.SimpleNamespace(remote=lambda: None)


class _ActorClass:
    def options(self, **_: object) -> "_ActorClass":
        return self

    def remote(self, *_: object) -> _Handle:
        return _Handle()


def _fake_ray() -> types.ModuleType:
    """Just enough of ray for RayPool's constructor: a running cluster of one 4-CPU node."""
    ray = types.ModuleType("ray")
    ray.is_initialized = lambda: True
    ray.remote = lambda cls: _ActorClass()
    ray.nodes = lambda: [{"NodeID": "n1", "Alive": True, "Resources": {"CPU": 4.0, "memory": 16.0 * 2**30}}]
    return ray


def test_raypool_does_not_write_into_the_callers_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tk.render.config import RenderConfig
    from tk.render.pool import RayPool

    monkeypatch.setitem(sys.modules, "ray", _fake_ray())
    src = tmp_path / "in"
    src.mkdir()
    cfg = RenderConfig(input_dir=str(src), out=str(tmp_path / "out"), views=2, resolution=32, engine="workbench",
                       lighting="studio", workers="auto", max_memory_gb=2.0)
    pool = RayPool(cfg)
    assert (cfg.workers, cfg.threads) == ("auto", 0)  # the caller's config as it was given
    assert pool.cfg is not cfg and (pool.cfg.workers, pool.cfg.threads) == (pool.placement.workers, pool.placement.threads)
    assert isinstance(pool.cfg.workers, int) and pool.cfg.workers >= 1
    assert pool.cfg.engine_settings().threads == pool.placement.threads  # what the jobs carry: what each actor reserved
