"""Test data builders for tk curate: an XL-schema annotation table, an objaverse cache, bad files, a 127.0.0.1 server.

The XL rows use the raw license spellings the real sources use; the objaverse cache follows the layout
of the objaverse package (see tk.curate.objaverse_adapter). Nothing here touches the network.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import hashlib
import http.server
import json
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

SAMPLE_OBJECTS = Path(__file__).resolve().parents[2] / "manifests" / "sample" / "objects"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@contextlib.contextmanager
def serve(folder: Path) -> Iterator[str]:
    """Serve `folder` over HTTP on 127.0.0.1 (a random port) for the block; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the stdlib's name
        pass


# (fileIdentifier, license, fileType, sha256 key) per source; the sha256 key makes duplicates explicit.
XL_ROWS: dict[str, list[tuple]] = {
    "sketchfab": [
        ("https://sketchfab.com/3d-models/chair-" + "a" * 32, "by", "glb", "s1"),
        ("https://sketchfab.com/3d-models/lamp-" + "b" * 32, "by-nc-sa", "glb", "s2"),
        ("https://sketchfab.com/3d-models/rock-" + "c" * 32, "cc0", "glb", "s3"),
        ("https://sketchfab.com/3d-models/bust-" + "d" * 32, "by-nd", "glb", "s4"),
    ],
    "thingiverse": [
        ("https://www.thingiverse.com/download:101", "Creative Commons - Attribution - Non-Commercial", "stl", "t1"),
        ("https://www.thingiverse.com/download:102", "Creative Commons - Attribution", "stl", "t2"),
        ("https://www.thingiverse.com/download:103", "Creative Commons - Public Domain Dedication", "stl", "t3"),
    ],
    "github": [
        ("https://github.com/a/r/blob/c1/m/b.obj", "MIT", "obj", "g1"),
        ("https://github.com/a/r/blob/c1/m/a.obj", "MIT License", "obj", "g1"),  # duplicate of the row above
        ("https://github.com/a/r/blob/c1/m/0.obj", "GNU General Public License v3.0", "obj", "g1"),  # duplicate, but GPL
        ("https://github.com/b/r/blob/c2/x.fbx", "apache-2.0", "fbx", "g2"),
        ("https://github.com/b/r/blob/c2/y.glb", None, "glb", "g3"),
        ("https://github.com/b/r/blob/c2/readme.txt", "MIT", "txt", "g4"),
        (None, "MIT", "glb", "g5"),  # broken: no identifier
        ("https://github.com/b/r/blob/c2/z.glb", "Creative Commons Zero v1.0 Universal", None, "g6"),  # broken: no type
        ("https://github.com/c/r/blob/c3/w.glb", "CC0-1.0", ".GLB", "not-a-hash"),  # broken hash, odd type spelling
    ],
    "smithsonian": [
        ("https://3d-api.si.edu/content/document/3d_package:1/model.glb", "CC0", "glb", "m1"),
    ],
}


def write_xl(root: Path, rows: dict[str, list[tuple]] = XL_ROWS) -> Path:
    """Write XL annotation Parquet files in the objaverse.xl layout under `root`."""
    for source, items in rows.items():
        table = pa.table({
            "fileIdentifier": [r[0] for r in items],
            "source": [source] * len(items),
            "license": [r[1] for r in items],
            "fileType": [r[2] for r in items],
            "sha256": [sha(r[3]) if len(r[3]) < 5 else r[3] for r in items],
            "metadata": [json.dumps({"repo": "x/y", "stars": i}) for i in range(len(items))],
        })
        (root / source).mkdir(parents=True, exist_ok=True)
        pq.write_table(table, root / source / f"{source}.parquet")
    return root


def write_objaverse_cache(cache: Path, objects: dict[str, dict]) -> Path:
    """An objaverse package cache: object-paths, one metadata shard and LVIS annotations."""
    vdir = cache / "hf-objaverse-v1"
    (vdir / "metadata").mkdir(parents=True, exist_ok=True)
    paths = {uid: f"glbs/000-000/{uid}.glb" for uid in objects}
    _gz(vdir / "object-paths.json.gz", paths)
    _gz(vdir / "metadata" / "000-000.json.gz", {uid: meta for uid, meta in objects.items()})
    lvis: dict[str, list[str]] = {}
    for uid, meta in objects.items():
        lvis.setdefault(meta.get("_category", "misc"), []).append(uid)
    _gz(vdir / "lvis-annotations.json.gz", lvis)
    return cache


def objaverse_meta(uid: str, license: str, faces: int, animations: int = 0, category: str = "misc", size: int = 20000) -> dict:
    """One object's Sketchfab metadata as objaverse stores it (the fields tk reads, plus typical others)."""
    return {
        "uid": uid, "name": f"object {uid[:6]}", "license": license, "faceCount": faces, "vertexCount": faces // 2 + 3,
        "animationCount": animations, "isAgeRestricted": False, "viewerUrl": f"https://sketchfab.com/3d-models/{uid}",
        "user": {"displayName": "Jane Doe", "username": "jdoe"}, "likeCount": 3, "tags": [], "categories": [],
        "archives": {"glb": {"size": size, "textureCount": 1, "faceCount": faces, "vertexCount": faces // 2 + 3}},
        "_category": category,
    }


def _gz(path: Path, data: object) -> None:
    with gzip.open(path, "wb") as fh:
        fh.write(json.dumps(data).encode())


def bad_files(folder: Path) -> dict[str, Path]:
    """Generated bad inputs: an image renamed .glb, a zero-face PLY, a truncated GLB, a flat mesh."""
    folder.mkdir(parents=True, exist_ok=True)
    png = SAMPLE_OBJECTS / "BoxTextured-glTF" / "CesiumLogoFlat.png"
    out = {"image_as_glb": folder / "photo.glb", "zero_faces": folder / "points.ply",
           "truncated": folder / "truncated.glb", "flat": folder / "flat.obj"}
    shutil.copy(png, out["image_as_glb"])
    out["zero_faces"].write_text(
        "ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nproperty float y\nproperty float z\n"
        "element face 0\nproperty list uchar int vertex_indices\nend_header\n0 0 0\n1 0 0\n0 1 0\n"
    )
    data = (SAMPLE_OBJECTS / "pico-neo3.glb").read_bytes()
    out["truncated"].write_bytes(data[: len(data) // 3])
    out["flat"].write_text("v 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0\nf 1 2 3\nf 1 3 4\n")
    return out
