"""A small release assembled by hand around real sample objects, for tests of verify, compare and loading
that must not wait for Blender. Manifest rows describe the real files (sha256 uids, SOURCES.csv licenses);
the views are small PNGs drawn here, with cameras and lights written the way the render contract says."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pyarrow as pa

from tk import atomic, contracts
from tk.contracts import release as layout
from tk.contracts import renders
from tk.hashing import sha256_file, stable_unit_float
from tk.release import sums
from tk.release.package import write_metadata
from tk.release.spec import parse_spec

# (path under manifests/sample, status, reason)
OBJECTS = [
    ("objects/bunny.glb", "keep", None),
    ("objects/siameseCat/siameseCat.obj", "keep", None),
    ("objects/pico-neo3.glb", "keep", None),
    ("objects/spider.fbx", "reject", "import_failed"),
]
VIEWS = 2
SIZE = 8


def png(rgba: np.ndarray) -> bytes:
    """PNG bytes of an HxWx4 uint8 array."""
    return renders.encode_rgba(rgba)


def surface(i: int) -> np.ndarray:
    """A small stored surface (64 points with unit normals) for object number i."""
    rng = np.random.default_rng(i)
    normals = rng.normal(size=(64, 3))
    return np.concatenate([rng.uniform(-0.5, 0.5, (64, 3)), normals / np.linalg.norm(normals, axis=1, keepdims=True)], 1)


def _split(uid: str) -> str:
    u = stable_unit_float(uid, 0)
    return "train" if u < 0.8 else ("val" if u < 0.9 else "test")


def make_release(root: Path, sample_dir: Path, policy: str = "commercial") -> Path:
    """Write a complete, sealed release over three kept sample objects into `root`."""
    from tk.curate.licenses import allowed, normalize

    sources = {r["path"]: r for r in csv.DictReader(open(sample_dir / "SOURCES.csv", encoding="utf-8"))}
    manifest = []
    for rel, status, reason in OBJECTS:
        path, src = sample_dir / rel, sources[rel]
        uid = sha256_file(path)
        manifest.append(dict(
            uid=uid, source="local", file_identifier=rel, file_type=path.suffix[1:], sha256=uid,
            license=normalize(src["license"]), license_raw=src["license"],
            attribution=f"{src['author']}, {src['title']}, {src['source_package']}",
            status=status, reason=reason, split=_split(uid), local_path=str(path),
            author=src["author"], title=src["title"], url=src["source_package"],
            size_bytes=path.stat().st_size, vertex_count=None, face_count=None, mesh_count=None,
            material_count=None, texture_count=None, animation_count=None, bbox_extent=[1.0, 0.8, 0.6],
        ))
    (root / layout.MANIFEST_DIR).mkdir(parents=True)
    contracts.write_table(layout.manifest(root), pa.Table.from_pylist(manifest), contracts.MANIFEST)
    kept = [r for r in manifest if r["status"] == "keep"]
    objects = [dict(uid=r["uid"], local_path=r["local_path"], status="ok", error=None, attempts=1, seconds=0.5,
                    center=[0.0, 0.1, 0.2], scale=0.5) for r in kept]
    contracts.write_table(layout.objects(root), pa.Table.from_pylist(objects), contracts.OBJECTS)
    rows = []
    for i, r in enumerate(kept):
        for view in range(VIEWS):
            img = np.zeros((SIZE, SIZE, 4), np.uint8)
            img[2:6, 2:6] = (40 * i, 100 + 50 * view, 200, 255)
            c2w = np.eye(4, dtype=np.float32)
            c2w[0, 3] = 1.9 + 0.1 * view
            rows.append(dict(
                uid=r["uid"], view=view, split=r["split"], rgba=png(img),
                depth=renders.encode_depth(np.full((SIZE, SIZE), 2.0)), normal=None,
                c2w=c2w.ravel().tolist(), fx=22.0, fy=22.0, cx=4.0, cy=4.0, width=SIZE, height=SIZE,
                light=json.dumps({"environment": "studio", "strength": 1.0, "rotation": 0.25 * view}),
                surface=renders.encode_surface(surface(i)) if view == 0 else None,
            ))
    renders.write_shard(renders.shards_dir(root / layout.RENDERS_DIR) / renders.shard_name(0), rows)
    atomic.write_text(renders.render_json_path(root / layout.RENDERS_DIR), json.dumps({"views": VIEWS, "resolution": SIZE, "seed": 0}))
    atomic.write_bytes(root / layout.PREVIEW, png(np.full((SIZE, SIZE * VIEWS, 4), 255, np.uint8)))
    raw = {"name": "synthetic", "version": "0.0.1", "sources": [{"source": "local", "input": "objects"}],
           "curation": {"license": policy}, "render": {"views": VIEWS, "resolution": SIZE}}
    spec = parse_spec(raw, sample_dir)
    ids = allowed(policy)
    write_metadata(root, spec, json.dumps(raw), {"policy": policy, "allowed": None if ids is None else sorted(ids)})
    sums.write_sums(root)
    return root


def reseal(root: Path) -> None:
    """Re-hash a release after a test changed it on purpose, so only the deeper checks can catch the change."""
    (root / layout.SUMS).unlink()
    sums.write_sums(root)
