"""Downloads against a 127.0.0.1 server: caps, hashes, unsafe archives, XL URLs and objaverse load_objects."""

from __future__ import annotations

import hashlib
import shutil
import tarfile
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tk import contracts
from tk.curate import download
from tk.curate.pipeline import CurateConfig, run as curate

from curate_fixtures import SAMPLE_OBJECTS, objaverse_meta, serve, write_objaverse_cache


def sha_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


@pytest.fixture()
def site(tmp_path) -> Path:
    """Files the local server offers: a GLB, an OBJ folder zipped, a zip and a tar escaping their folder."""
    root = tmp_path / "site"
    root.mkdir()
    shutil.copy(SAMPLE_OBJECTS / "bunny.glb", root / "bunny.glb")
    crate = SAMPLE_OBJECTS / "crate"
    make_zip(root / "crate.zip", {f"crate/{p.name}": p.read_bytes() for p in crate.iterdir()})
    make_zip(root / "evil.zip", {"../../escaped.obj": b"v 0 0 0\n", "ok.obj": b"v 0 0 0\n"})
    with tarfile.open(root / "evil.tar", "w") as tf:
        info = tarfile.TarInfo("link.obj")
        info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tf.addfile(info)
    return root


def test_fetch_checks_hash_cap_and_status(site, tmp_path):
    with serve(site) as base:
        good = download.fetch(f"{base}/bunny.glb", tmp_path / "d" / "b.glb", 10**6, sha256=sha_of(site / "bunny.glb"))
        assert good.read_bytes() == (site / "bunny.glb").read_bytes()
        with pytest.raises(download.DownloadError, match="sha256 mismatch") as e:
            download.fetch(f"{base}/bunny.glb", tmp_path / "d" / "c.glb", 10**6, sha256="0" * 64)
        assert not e.value.retryable
        with pytest.raises(download.DownloadError, match="too large"):
            download.fetch(f"{base}/bunny.glb", tmp_path / "d" / "e.glb", 1000)
        with pytest.raises(download.DownloadError, match="HTTP 404"):
            download.fetch(f"{base}/missing.glb", tmp_path / "d" / "f.glb", 10**6, retries=0)
    assert sorted(p.name for p in (tmp_path / "d").iterdir()) == ["b.glb"]  # no partial files


def test_unsafe_archives_are_refused(site, tmp_path):
    target = tmp_path / "x" / "target"
    with pytest.raises(download.DownloadError, match="escapes the target"):
        download.extract(site / "evil.zip", target, 10**6)
    with pytest.raises(download.DownloadError, match="link"):
        download.extract(site / "evil.tar", target, 10**6)
    assert not target.exists() and not (tmp_path / "escaped.obj").exists() and not (tmp_path / "x" / "escaped.obj").exists()
    files = download.extract(site / "crate.zip", target, 10**6)
    assert {p.name for p in files} == {p.name for p in (SAMPLE_OBJECTS / "crate").iterdir()}
    with pytest.raises(download.DownloadError, match="too large"):
        download.extract(site / "crate.zip", tmp_path / "y", 1000)


def test_github_blob_urls_resolve_to_raw():
    assert download.resolve_url("https://github.com/o/r/blob/abc/dir/m.glb") == "https://raw.githubusercontent.com/o/r/abc/dir/m.glb"
    assert download.resolve_url("https://www.thingiverse.com/download:1") == "https://www.thingiverse.com/download:1"


def test_xl_curate_downloads_from_local_server(site, tmp_path, ray_session):
    with serve(site) as base:
        rows = [
            (f"{base}/bunny.glb", "Creative Commons - Attribution", "glb", sha_of(site / "bunny.glb")),
            (f"{base}/bunny.glb?copy=2", "Creative Commons - Attribution", "glb", "0" * 64),  # wrong hash
            (f"{base}/missing.glb", "Creative Commons - Attribution", "glb", None),
            (f"{base}/crate.zip", "Creative Commons - Attribution", "obj", sha_of(site / "crate.zip")),
            (f"{base}/evil.zip", "Creative Commons - Attribution", "obj", None),
        ]
        xl = tmp_path / "xl" / "thingiverse"
        xl.mkdir(parents=True)
        pq.write_table(pa.table({
            "fileIdentifier": [r[0] for r in rows], "source": ["thingiverse"] * 5, "license": [r[1] for r in rows],
            "fileType": [r[2] for r in rows], "sha256": [r[3] for r in rows], "metadata": ["{}"] * 5,
        }), xl / "thingiverse.parquet")
        out = tmp_path / "out"
        summary = curate(CurateConfig(source="objaverse-xl", xl_dir=tmp_path / "xl", out=out, retries=0, workers=2))
    got = {r["file_identifier"]: r for r in contracts.read_table(out / "manifest.parquet", contracts.MANIFEST).to_pylist()}
    bunny = got[f"{base}/bunny.glb"]
    assert bunny["status"] == "keep" and bunny["face_count"] == 5648
    assert Path(bunny["local_path"]).is_file() and sha_of(Path(bunny["local_path"])) == bunny["sha256"]
    assert Path(bunny["local_path"]).is_relative_to(out / "objects")
    assert "sha256 mismatch" in got[f"{base}/bunny.glb?copy=2"]["probe_error"]
    assert "HTTP 404" in got[f"{base}/missing.glb"]["probe_error"]
    crate = got[f"{base}/crate.zip"]
    assert crate["status"] == "keep" and crate["local_path"].endswith("crate.obj") and crate["texture_count"] == 1
    assert "unsafe archive" in got[f"{base}/evil.zip"]["probe_error"]
    assert summary["kept"] == 2 and summary["rejected_by_reason"] == {"download_failed": 3}


def test_objaverse_annotations_offline_and_load_objects_via_adapter(tmp_path, ray_session):
    uids = ["a" * 32, "b" * 32, "c" * 32, "d" * 32]
    cache = write_objaverse_cache(tmp_path / "cache", {
        uids[0]: objaverse_meta(uids[0], "by", 999, category="mug"),
        uids[1]: objaverse_meta(uids[1], "by-nc", 5000, category="mug"),
        uids[2]: objaverse_meta(uids[2], "cc0", 7000, animations=2, category="chair"),
        uids[3]: objaverse_meta(uids[3], "by", 100, category="mug"),
    })
    # --no-download: annotation counts drive the rules; LVIS categories cap per category.
    s = curate(CurateConfig(source="objaverse", objaverse_dir=cache, out=tmp_path / "meta", no_download=True, max_per_category=1))
    got = {r["uid"]: r for r in contracts.read_table(tmp_path / "meta" / "manifest.parquet", contracts.MANIFEST).to_pylist()}
    assert got[uids[1]]["reason"] == "license" and got[uids[2]]["reason"] == "animated"
    assert got[uids[0]]["status"] == "keep" and got[uids[3]]["reason"] == "category_cap"  # uid order breaks the tie
    assert got[uids[0]]["face_count"] == 999 and got[uids[0]]["category"] == "mug"
    assert "Jane Doe" in got[uids[0]]["attribution"] and s["kept"] == 1

    # With downloads: objaverse.load_objects fetches from the 127.0.0.1 mirror into the cache; the probe's
    # counts replace the annotation's.
    mirror = tmp_path / "mirror" / "glbs" / "000-000"
    mirror.mkdir(parents=True)
    for uid, name in zip(uids, ("bunny.glb", "suzi.glb", "pico-neo3.glb", "meta-quest-touch-plus.glb")):
        shutil.copy(SAMPLE_OBJECTS / name, mirror / f"{uid}.glb")
    with serve(tmp_path / "mirror") as base:
        curate(CurateConfig(source="objaverse", objaverse_dir=cache, objaverse_url=base, out=tmp_path / "dl", workers=2))
    got = {r["uid"]: r for r in contracts.read_table(tmp_path / "dl" / "manifest.parquet", contracts.MANIFEST).to_pylist()}
    path = Path(got[uids[0]]["local_path"])
    assert path == cache / "hf-objaverse-v1" / "glbs" / "000-000" / f"{uids[0]}.glb" and path.is_file()
    assert got[uids[0]]["face_count"] == 5648 and got[uids[0]]["status"] == "keep"
    assert got[uids[1]]["local_path"] is None  # rejected by license: never downloaded
    assert not (cache / "hf-objaverse-v1" / "glbs" / "000-000" / f"{uids[1]}.glb").exists()
