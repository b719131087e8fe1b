"""RenderConfig is defined once: the CLI, release specs and Python callers build the same typed config."""

from __future__ import annotations

from pathlib import Path

import pytest

import tk.render.lighting as lighting
from tk.render.config import RenderConfig
from tk.render.inputs import from_folder
from tk.render.jobs import make_job

SAMPLE = Path(__file__).resolve().parents[2] / "manifests" / "sample" / "objects"


def test_make_job_does_not_scan_the_hdri_folder(tmp_path, monkeypatch):
    hdris = tmp_path / "hdris"
    (hdris / "sub").mkdir(parents=True)
    for name in ("a.hdr", "sub/b.exr"):
        (hdris / name).write_bytes(b"not read")
    scans = []
    real = lighting.find_hdris
    monkeypatch.setattr(lighting, "find_hdris", lambda folder: scans.append(folder) or real(folder))
    cfg = RenderConfig(out=str(tmp_path / "o"), input_dir=str(SAMPLE), views=4, hdri_dir=str(hdris), lighting="hdri")
    assert len(scans) == 1  # the folder is read once, when the config is built
    paths = cfg.hdri_paths()
    objects = from_folder(str(SAMPLE), 0)[:5]
    jobs = [make_job(o, cfg, paths) for o in objects]
    assert len(scans) == 1, f"{len(scans) - 1} more scans of --hdri-dir for {len(objects)} jobs"
    assert {f for j in jobs for f in j["hdri_paths"]} <= {"a.hdr", "sub/b.exr"}
    assert all(v["light"]["env"]["file"] in ("a.hdr", "sub/b.exr") for j in jobs for v in j["views"])
    assert cfg.settings()["hdris"] == ["a.hdr", "sub/b.exr"] and len(scans) == 1
