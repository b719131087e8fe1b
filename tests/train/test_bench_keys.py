"""Bench caches cannot go stale (issue 22): a cached run or eval is reused only while the code that made it, its
config, its data and (for an eval) the checkpoint's bytes are the same."""

from __future__ import annotations

import json
from pathlib import Path

from bench.keys import code_fingerprint


def _package(root: Path, body: str) -> Path:
    (root / "pkg").mkdir(parents=True, exist_ok=True)
    (root / "pkg" / "a.py").write_text(body)
    return root / "pkg"


def test_code_fingerprint_follows_code_not_comments(tmp_path):
    pkg = _package(tmp_path, '"""Doc."""\nX = 1\n\ndef f():\n    """Doc."""\n    return X\n')
    before = code_fingerprint([pkg])
    assert len(before) == 64
    _package(tmp_path, '"""Other doc."""\n# a comment\nX = 1\n\n\ndef f():\n    return X  # why\n')
    assert code_fingerprint([pkg]) == before  # comments, docstrings and blank lines change no result
    _package(tmp_path, '"""Doc."""\nX = 2\n\ndef f():\n    return X\n')
    assert code_fingerprint([pkg]) != before
    _package(tmp_path, '"""Doc."""\nX = 1\n\ndef f():\n    """Doc."""\n    return X\n')
    assert code_fingerprint([pkg]) == before
    (pkg / "b.py").write_text("Y = 1\n")
    assert code_fingerprint([pkg]) != before  # a new module counts
    (pkg / "b.py").unlink()
    (pkg / "weights.bin").write_bytes(b"\1")
    assert code_fingerprint([pkg]) != before  # so does a data file the code reads


def test_default_fingerprint_covers_training_and_model_code():
    from bench.keys import code_roots

    names = {p.name for p in code_roots()}
    assert {"train", "model", "configs"} <= names


def test_generalise_run_key_changes_with_code(tmp_path, monkeypatch):
    import bench.generalise.stages as gen

    release = tmp_path / "release"
    (release / "renders").mkdir(parents=True)
    (release / "SHA256SUMS").write_text("aaa  renders/shards/shard-00000.parquet\n")
    raw = gen.run_config("generalise", 0, None, None)
    monkeypatch.setattr(gen, "code_fingerprint", lambda: "code-a")
    before = gen.key_of(raw, release / "renders")
    monkeypatch.setattr(gen, "code_fingerprint", lambda: "code-b")
    assert gen.key_of(raw, release / "renders") != before


def test_generalise_eval_is_redone_when_the_checkpoint_changes_in_place(tmp_path, monkeypatch):
    """A run retrained in the same folder has the same `latest` path: its eval must not be the old one."""
    import bench.generalise.stages as gen

    run = tmp_path / "run"
    step = run / "checkpoints" / "step-0000010"
    step.mkdir(parents=True)
    (run / "checkpoints" / "latest").symlink_to(step.name)
    (step / "checkpoint.json").write_text(json.dumps({"step": 10, "files": {"model.safetensors": "aaa"}}))
    calls = []

    def fake_tk(*args, log=None):
        calls.append(args)
        dest = Path(args[args.index("--out") + 1])
        dest.mkdir(parents=True, exist_ok=True)
        (dest / "report.json").write_text(json.dumps({"checkpoint": str(step.resolve()), "summary": len(calls)}))

    monkeypatch.setattr(gen, "tk", fake_tk)
    timings = gen.Timings(tmp_path / "timings.json")
    renders = tmp_path / "release" / "renders"
    assert gen.evaluate(tmp_path, run, "seed0-all", renders, "val", timings)["summary"] == 1
    assert gen.evaluate(tmp_path, run, "seed0-all", renders, "val", timings)["summary"] == 1  # cached
    (step / "checkpoint.json").write_text(json.dumps({"step": 10, "files": {"model.safetensors": "bbb"}}))
    assert gen.evaluate(tmp_path, run, "seed0-all", renders, "val", timings)["summary"] == 2
    monkeypatch.setattr(gen, "code_fingerprint", lambda: "other eval code")
    assert gen.evaluate(tmp_path, run, "seed0-all", renders, "val", timings)["summary"] == 3
