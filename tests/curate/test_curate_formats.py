"""Curate keeps exactly the types `tk.formats` lists, and each of them for real (issue 13): one sample file
per type (tests/data/formats, see make.py there) is probed and kept; a type outside the table is
rejected by the `file_type` rule whose reason names the types tk renders. That every kept type renders is
tests/render/test_formats.py, on the same files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tk import contracts, formats
from tk.curate.pipeline import CurateConfig, run as curate

from curate_fixtures import write_xl

pytest.importorskip("bpy")

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "formats"


@pytest.fixture(scope="module")
def curated(tmp_path_factory, ray_session) -> dict[str, dict]:
    root = tmp_path_factory.mktemp("formats")
    shutil.copytree(SAMPLES, root / "in")
    (root / "in" / "LICENSE").write_text("CC0 1.0 Universal\n")
    curate(CurateConfig(source="local", input=root / "in", out=root / "out", workers=2))
    table = contracts.read_table(root / "out" / "manifest.parquet", contracts.MANIFEST)
    return {r["file_type"]: r for r in table.to_pylist()}


def test_every_type_in_the_table_is_probed_and_kept(curated):
    assert sorted(curated) == sorted(formats.EXTENSIONS)  # one sample each, nothing else walked
    for file_type, r in curated.items():
        assert r["status"] == "keep", (file_type, r["reason"], r["probe_error"])
        assert r["probed_with"] == formats.get(file_type).probe
        assert r["face_count"] in (6, 12) and r["mesh_count"] == 1, file_type  # quads or triangles
        assert sorted(r["bbox_extent"]) == pytest.approx([1.0, 2.0, 3.0], abs=1e-5), file_type
    assert curated["dae"]["texture_count"] == 1  # the PNG beside it, read inside the folder


def test_a_type_outside_the_table_is_rejected_with_the_reason(tmp_path):
    types = ("3ds", "max", "skp", "x3d", "glb")
    rows = [(f"https://github.com/a/r/blob/c/m.{t}", "CC0-1.0", t, f"h{i}") for i, t in enumerate(types)]
    xl = write_xl(tmp_path / "xl", {"github": rows})
    summary = curate(CurateConfig(source="objaverse-xl", xl_dir=xl, out=tmp_path / "out", no_download=True))
    table = contracts.read_table(tmp_path / "out" / "manifest.parquet", contracts.MANIFEST)
    reasons = {r["file_type"]: r["reason"] for r in table.to_pylist()}
    assert reasons == {"3ds": "file_type", "max": "file_type", "skp": "file_type", "x3d": "file_type", "glb": None}
    [rule] = [r for r in summary["rules"] if r["name"] == "file_type"]
    assert rule["doc"] == f"a file type tk renders ({', '.join(formats.EXTENSIONS)})"
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["rejected_by_reason"] == {"file_type": 4}
