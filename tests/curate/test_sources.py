"""Curate's sources sit behind one interface (issue 24): the pipeline holds a `Source` and never asks which."""

from __future__ import annotations

import ast
from pathlib import Path

import duckdb

from tk.curate import pipeline
from tk.curate.config import SOURCES, CurateConfig
from tk.curate.sources import REGISTRY
from tk.curate.sources.base import CANDIDATE_COLUMNS

SAMPLE = Path(__file__).resolve().parents[2] / "manifests" / "sample"


def test_every_source_is_registered_once_and_is_a_cli_choice():
    assert tuple(REGISTRY) == SOURCES == ("objaverse", "objaverse-xl", "local")
    assert all(REGISTRY[name].name == name for name in REGISTRY)


def test_the_pipeline_names_no_source():
    tree = ast.parse(Path(pipeline.__file__).read_text())
    strings = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    assert not strings & set(REGISTRY)  # no `cfg.source == "local"` and no source-named settings


def test_local_source_loads_candidates_with_every_column(tmp_path):
    cfg = CurateConfig(source="local", input=SAMPLE / "objects", out=tmp_path / "out")
    con = duckdb.connect()
    stats: dict = {}
    REGISTRY["local"].load(con, cfg, stats)
    cols = [r[0] for r in con.execute("DESCRIBE candidates").fetchall()]
    assert cols == list(CANDIDATE_COLUMNS)
    n, local = con.execute("SELECT count(*), count(local_path) FROM candidates").fetchone()
    assert n >= 5 and local == n and stats["identical_files"] >= 0
    assert REGISTRY["local"].probe_settings(cfg) == {"input_root": str((SAMPLE / "objects").resolve())}
    assert REGISTRY["objaverse-xl"].fills is not None and REGISTRY["local"].fills is None


def test_a_source_says_what_it_needs_and_the_disk_is_read_by_run(tmp_path):
    import pytest

    from tk.errors import TkError

    with pytest.raises(TkError, match="--source local needs --input DIR"):
        CurateConfig(source="local", out=tmp_path)
    with pytest.raises(TkError, match="--source objaverse-xl needs --xl-dir DIR"):
        CurateConfig(source="objaverse-xl", out=tmp_path)
    cfg = CurateConfig(source="local", input=SAMPLE / "objects", out=tmp_path / "o", scores=tmp_path / "none.csv",
                       min_score=0.5)  # builds: a config reads nothing on disk
    with pytest.raises(TkError, match="--scores .*none.csv: file not found"):
        pipeline.run(cfg)
    assert not (tmp_path / "o").exists()
