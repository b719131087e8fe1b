"""Which objects a job renders: kept manifest rows with a local_path, or the files of --input (no Blender)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa
import pytest

from tk.contracts import MANIFEST, write_table
from tk.errors import TkError
from tk.hashing import sha256_file
from tk.render.inputs import from_folder, from_manifest
from tk.render.jobs import make_job
from tk.render.pipeline import RenderConfig

OBJECTS = Path(__file__).resolve().parents[2] / "manifests" / "sample" / "objects"


def _manifest(folder: Path, rows: list[dict]) -> None:
    base = {"source": "local", "file_type": "glb", "sha256": None, "license": "cc0-1.0", "license_raw": None,
            "attribution": None, "size_bytes": None, "vertex_count": None, "face_count": None, "mesh_count": None,
            "material_count": None, "texture_count": None, "animation_count": None, "bbox_extent": None,
            "reason": None, "split": "train"}
    write_table(folder / "manifest.parquet", pa.Table.from_pylist([{**base, **r} for r in rows]), MANIFEST)


def test_manifest_gives_kept_rows_with_a_local_path(tmp_path):
    (tmp_path / "files").mkdir()
    shutil.copy(OBJECTS / "bunny.glb", tmp_path / "files" / "bunny.glb")
    _manifest(tmp_path, [
        {"uid": "u1", "file_identifier": "a", "status": "keep", "local_path": "files/bunny.glb", "split": "val"},
        {"uid": "u2", "file_identifier": "b", "status": "reject", "reason": "license", "local_path": "files/x.glb"},
        {"uid": "u3", "file_identifier": "c", "status": "keep", "local_path": None},
    ])
    refs = from_manifest(tmp_path)
    assert [(r.uid, r.split, r.file_type, r.local_path) for r in refs] == [("u1", "val", "glb", "files/bunny.glb")]
    assert Path(refs[0].path) == (tmp_path / "files" / "bunny.glb").resolve()


def test_manifest_without_kept_files_is_a_clear_error(tmp_path):
    _manifest(tmp_path, [{"uid": "u2", "file_identifier": "b", "status": "reject", "reason": "license",
                          "local_path": None}])
    with pytest.raises(TkError, match="no kept rows"):
        from_manifest(tmp_path)
    with pytest.raises(TkError, match="manifest.parquet"):
        from_manifest(tmp_path / "elsewhere")


def test_folder_uids_are_file_hashes_and_duplicates_collapse(tmp_path):
    shutil.copy(OBJECTS / "bunny.glb", tmp_path / "a.glb")
    shutil.copy(OBJECTS / "bunny.glb", tmp_path / "b.GLB")  # same bytes, other name: one object
    shutil.copy(OBJECTS / "025_mug.stl", tmp_path / "mug.stl")
    (tmp_path / "notes.txt").write_text("not a mesh")
    refs = from_folder(tmp_path)
    assert sorted(r.uid for r in refs) == sorted({sha256_file(tmp_path / "a.glb"), sha256_file(tmp_path / "mug.stl")})
    assert {r.split for r in refs} <= {"train", "val", "test"}


def test_jobs_are_a_pure_function_of_the_settings(tmp_path):
    shutil.copy(OBJECTS / "bunny.glb", tmp_path / "a.glb")
    ref = from_folder(tmp_path)[0]
    cfg = RenderConfig(out=str(tmp_path / "o"), input_dir=str(tmp_path), views=3, seed=4)
    paths = cfg.hdri_paths()
    assert make_job(ref, cfg, paths) == make_job(ref, cfg, paths)
    other = make_job(ref, RenderConfig(out=str(tmp_path / "o"), input_dir=str(tmp_path), views=3, seed=5), paths)
    assert [v["c2w"] for v in other["views"]] != [v["c2w"] for v in make_job(ref, cfg, paths)["views"]]
