"""Curate reads nothing outside an object's folder (issue 12): glTF images that climb out, are file:// URIs
or absolute paths, a glTF buffer outside, an MTL's absolute map_Kd, a texture that is a link to a secret,
and links (a file, a sub-folder) leaving the input. The secret never reaches the probe; the row says why.
Render applies the same rule through the same module: the walk is compared here, the pixels in
tests/render/test_confine_render.py.
"""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from tests.data import hostile
from tk import confine
from tk.curate.pipeline import CurateConfig, run as curate
from tk.curate.probe import probe_file
from tk.curate.sources import local
from tk.render.inputs import from_folder


@pytest.fixture(scope="module")
def src(tmp_path_factory):
    return hostile.build(tmp_path_factory.mktemp("hostile"))


def _probe(src, rel):
    path = src / rel
    return probe_file(path, path.suffix[1:], input_root=src)


def test_control_cube_reads_its_own_texture(src):
    r = _probe(src, "control/cube.gltf")
    assert (r["probe_error"], r["face_count"], r["texture_count"], r["missing_resources"]) == (None, 12, 1, None)


@pytest.mark.parametrize("rel, why", [
    ("up/cube.gltf", "'../../secret.png' resolves outside the object's folder"),
    ("fileuri/cube.gltf", "is a URI (file:)"),
    ("absolute/cube.gltf", "is an absolute path"),
    ("linked_tex/cube.gltf", "'linked.png' resolves outside the object's folder"),
    ("mtl/cube.obj", "is an absolute path"),
])
def test_images_outside_are_missing_and_recorded(src, rel, why):
    r = _probe(src, rel)
    assert r["probe_error"] is None and r["face_count"] == 12
    assert r["texture_count"] == 0  # the green secret was not loaded as a texture
    assert len(r["missing_resources"]) == 1 and why in r["missing_resources"][0]


def test_buffer_outside_fails_the_probe(src):
    r = _probe(src, "buffer/cube.gltf")
    assert "glTF buffer '../../secret.bin' resolves outside the object's folder" in r["probe_error"]
    assert r.get("face_count") is None  # the secret's bytes were not read as geometry


def test_links_leaving_the_input_are_not_read(src):
    r = _probe(src, "link.glb")
    assert "link.glb is a link to a file outside the input folder" in r["probe_error"] and r.get("face_count") is None
    # Reached through a linked folder, the file is refused as well, even without its folder being walked.
    r = _probe(src, "linked_dir/cube.glb")
    assert "outside the input folder" in r["probe_error"] and r.get("face_count") is None


def test_curate_and_render_walk_the_folder_alike(src):
    stats: dict = {}
    rows = {r["file_identifier"]: r for r in local.rows(src, stats=stats)}
    assert set(rows) == {"absolute/cube.gltf", "buffer/cube.gltf", "control/cube.gltf", "fileuri/cube.gltf",
                         "link.glb", "linked_tex/cube.gltf", "mtl/cube.obj", "up/cube.gltf"}  # no .hidden/
    assert stats["outside_folders"] == ["linked_dir"]
    link = rows["link.glb"]
    assert link["local_path"] is None and link["sha256"] is None and link["uid"] == confine.refused_uid("link.glb")
    assert "outside the input folder" in json.loads(link["metadata"])["refused"]
    refs = {r.uid: r for r in from_folder(src)}
    assert set(refs) == {r["uid"] for r in rows.values()}
    assert refs[link["uid"]].refused and all(r.refused is None for u, r in refs.items() if u != link["uid"])


def test_hidden_files_and_folders_are_skipped(tmp_path, sample_objects):
    (tmp_path / ".cache").mkdir()
    (tmp_path / ".cache" / "a.glb").write_bytes((sample_objects / "bunny.glb").read_bytes())
    (tmp_path / ".b.glb").write_bytes((sample_objects / "suzi.glb").read_bytes())
    (tmp_path / "c.stl").write_bytes((sample_objects / "025_mug.stl").read_bytes())
    assert [p.name for p in local.model_files(tmp_path)] == ["c.stl"]
    assert [r.local_path for r in from_folder(tmp_path)] == [str(tmp_path / "c.stl")]


def test_sidecar_license_link_is_not_read(tmp_path, sample_objects):
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n")
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.stl").write_bytes((sample_objects / "025_mug.stl").read_bytes())
    (src / "a.stl.license").symlink_to(secret)
    (src / "LICENSE").symlink_to(secret)
    [row] = list(local.rows(src))
    assert row["license_raw"] is None


def test_resolve_refuses_every_way_out(tmp_path):
    (tmp_path / "obj" / "tex").mkdir(parents=True)
    (tmp_path / "obj" / "tex" / "a.png").write_bytes(b"x")
    assert confine.resolve("tex/a.png", tmp_path / "obj") == tmp_path / "obj" / "tex" / "a.png"
    assert confine.resolve("tex/../tex/a%2Epng", tmp_path / "obj").name == "a.png"
    for ref in ("../x.png", "tex/../../x.png", "/etc/passwd", "file:///etc/passwd", "http://example.com/a.png",
                "C:\\textures\\a.png", "\\\\server\\share\\a.png", "%2E%2E/x.png", ""):
        with pytest.raises(confine.Refused):
            confine.resolve(ref, tmp_path / "obj")


def test_curate_rejects_with_the_reason_and_records_missing(src, tmp_path, ray_session):
    out = tmp_path / "out"
    summary = curate(CurateConfig(source="local", input=src, out=out, license="all", workers=1, flat_ratio=0.0))
    rows = {r["file_identifier"]: r for r in pq.read_table(out / "manifest.parquet").to_pylist()}
    assert rows["link.glb"]["reason"] == "unreadable" and "outside the input folder" in rows["link.glb"]["probe_error"]
    assert rows["buffer/cube.gltf"]["reason"] == "unreadable"
    assert "secret.bin' resolves outside" in rows["buffer/cube.gltf"]["probe_error"]
    for rel in ("up/cube.gltf", "fileuri/cube.gltf", "absolute/cube.gltf", "mtl/cube.obj", "linked_tex/cube.gltf"):
        assert rows[rel]["status"] == "keep" and rows[rel]["texture_count"] == 0, rel
        assert len(rows[rel]["missing_resources"]) == 1, rel
    assert rows["control/cube.gltf"]["texture_count"] == 1 and rows["control/cube.gltf"]["missing_resources"] is None
    assert summary["outside_folders"] == ["linked_dir"]
    assert "`linked_dir`" in (out / "report.md").read_text()
