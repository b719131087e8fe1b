"""The geometry probe: open one object file and measure what the quality rules read.

trimesh opens glb/gltf/obj/ply/stl/off/dae/3mf in-process; formats only Blender reads (fbx, blend,
usd*, abc) go to `tk.curate.bpy_probe` in a child process with a timeout, so an importer crash or
hang costs one row, not the job. `probe_file` never raises: a file that cannot be measured gets
`probe_error`, which the `unreadable` rule turns into the row's reason.

Every read stays in the object's folder (`tk.confine`, the rule render applies too): a buffer or MTL
outside it fails the probe, an image outside it is never loaded and is listed in `missing_resources`.
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from tk import confine

TRIMESH_TYPES = frozenset({"glb", "gltf", "obj", "ply", "stl", "off", "dae", "3mf"})
BPY_TYPES = frozenset({"fbx", "blend", "usd", "usda", "usdc", "usdz", "abc"})

# What a probe returns; also the schema of the resumable probe store.
PROBE_SCHEMA = pa.schema([
    pa.field("uid", pa.string()),
    pa.field("local_path", pa.string()),
    pa.field("size_bytes", pa.int64()),
    pa.field("vertex_count", pa.int64()),
    pa.field("face_count", pa.int64()),
    pa.field("mesh_count", pa.int64()),
    pa.field("material_count", pa.int64()),
    pa.field("texture_count", pa.int64()),
    pa.field("animation_count", pa.int64()),
    # variable-size on disk: pyarrow misreads null fixed-size lists from Parquet; DuckDB casts to DOUBLE[3].
    pa.field("bbox_extent", pa.list_(pa.float64())),
    pa.field("probe_error", pa.string()),
    pa.field("probed_with", pa.string()),
    pa.field("probe_seconds", pa.float64()),
    pa.field("retryable", pa.bool_()),
    # files the object names that were not read: outside its folder (refused) or not found
    pa.field("missing_resources", pa.list_(pa.string())),
])


def empty_result(uid: str) -> dict[str, Any]:
    """A probe row with every measurement unknown."""
    return {f.name: None for f in PROBE_SCHEMA} | {"uid": uid, "retryable": False}


def probe_file(path: Path, file_type: str, timeout: float = 120.0, input_root: Path | None = None) -> dict[str, Any]:
    """Measure one file: counts, bbox extent, or `probe_error` (one line) when it cannot be read.

    `input_root`: the folder input the file was found in, which it may not leave through a link."""
    t0 = time.perf_counter()
    out: dict[str, Any] = {"local_path": str(path), "probe_error": None}
    try:
        refused = confine.check_object(path, input_root)
        refs = confine.scan(path, file_type) if refused is None else confine.Refs(fatal=refused)
        if refs.fatal:
            raise PermissionError(refs.fatal)
        out["missing_resources"] = list(refs.refused)
        out["size_bytes"] = path.stat().st_size
        if out["size_bytes"] == 0:
            raise ValueError("empty file (0 bytes)")
        if file_type in TRIMESH_TYPES:
            out |= _trimesh_probe(path, file_type, out["missing_resources"])
            out["probed_with"] = "trimesh"
        elif file_type in BPY_TYPES:
            found = _bpy_probe(path, timeout)
            out |= found | {"missing_resources": out["missing_resources"] + found.get("missing_resources", [])}
            out["probed_with"] = "bpy"
        else:
            raise ValueError(f"no reader for file type '{file_type}'")
    except Exception as e:  # noqa: BLE001 - any failure of an untrusted file is that row's result
        out["probe_error"] = _one_line(e)
        out.setdefault("probed_with", "bpy" if file_type in BPY_TYPES else "trimesh")
    out["missing_resources"] = sorted(set(out.get("missing_resources") or [])) or None
    out["probe_seconds"] = round(time.perf_counter() - t0, 4)
    return out


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split()) or type(e).__name__
    return f"{type(e).__name__}: {text}"[:300]


def _confined_resolver(folder: Path, missing: list[str]) -> Any:
    """A trimesh resolver that reads only files inside `folder`, noting each file it did not read."""
    import trimesh

    class Confined(trimesh.resolvers.FilePathResolver):
        def get(self, name: str) -> bytes:
            try:
                target = confine.resolve(name, folder)
                return target.read_bytes()
            except confine.Refused as e:
                missing.append(str(e))
            except OSError:
                missing.append(f"{name!r} not found")
            raise FileNotFoundError(name)

    return Confined(str(folder))


def _trimesh_probe(path: Path, file_type: str, missing: list[str]) -> dict[str, Any]:
    import trimesh

    # An MTL/texture may refuse or be missing: trimesh then loads the geometry without it.
    resolver = _confined_resolver(path.parent, missing)
    scene = trimesh.load(str(path), file_type=file_type, force="scene", process=False, resolver=resolver)
    meshes = [g for g in scene.geometry.values() if isinstance(g, trimesh.Trimesh)]
    for g in meshes:
        # process=False skips trimesh's own checks; a broken index buffer must still fail here.
        if len(g.faces) and (g.faces.max() >= len(g.vertices) or g.faces.min() < 0):
            raise ValueError("face indices out of range")
        if len(g.vertices) and not np.isfinite(g.vertices).all():
            raise ValueError("non-finite vertex coordinates")
    vertices = sum(len(g.vertices) for g in scene.geometry.values() if hasattr(g, "vertices"))
    faces = sum(len(g.faces) for g in meshes)
    materials, images = {}, {}
    for g in meshes:
        mat = getattr(g.visual, "material", None)
        if mat is None:
            continue
        materials[id(mat)] = mat
        for attr in ("image", "baseColorTexture", "normalTexture", "metallicRoughnessTexture", "emissiveTexture", "occlusionTexture"):
            img = getattr(mat, attr, None)
            if img is not None:
                images[id(img)] = img
    extent = scene.extents if vertices else None
    return {
        "vertex_count": int(vertices), "face_count": int(faces), "mesh_count": len(meshes),
        "material_count": len(materials), "texture_count": len(images),
        "animation_count": _gltf_animations(path) if file_type in ("glb", "gltf") else 0,
        "bbox_extent": [float(x) for x in extent] if extent is not None else None,
    }


def _gltf_animations(path: Path) -> int:
    """Number of glTF animations (trimesh does not load them), read from the JSON chunk."""
    with open(path, "rb") as fh:
        head = fh.read(20)
        if head[:4] == b"glTF":
            length = struct.unpack("<I", head[12:16])[0]
            doc = json.loads(fh.read(length))
        else:
            fh.seek(0)
            doc = json.loads(fh.read())
    return len(doc.get("animations") or [])


def _bpy_probe(path: Path, timeout: float) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "tk.curate.bpy_probe", str(path)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise TimeoutError(f"Blender import took longer than {timeout:.0f}s") from None
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("TKPROBE ")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        why = f"crashed (signal {-proc.returncode})" if proc.returncode < 0 else f"failed (exit {proc.returncode})"
        raise RuntimeError(f"Blender importer {why}: {tail}")
    result = json.loads(lines[-1][len("TKPROBE "):])
    if result.get("error"):
        raise RuntimeError(f"Blender import failed: {result['error']}")
    return result
