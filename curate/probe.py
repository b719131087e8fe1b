"""The geometry probe: open one object file and measure what the quality rules read.

`tk.formats` says how each type is probed: trimesh opens its formats in-process (and converts the ones
render converts to glTF, so a file that cannot be converted fails here, not in render); formats only
Blender reads go to the persistent Blender worker (tk.blender.process, render's too) as a `probe` job
(`tk.curate.bpy_probe`), with a timeout and a memory cap, so an importer crash, hang or blow-up costs
one row, not the job. `probe_file` never raises: a file that cannot be measured gets
`probe_error`, which the `unreadable` rule turns into the row's reason.

Every read stays in the object's folder (`tk.confine`, the rule render applies too): a buffer or MTL
outside it fails the probe, an image outside it is never loaded and is listed in `missing_resources`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from tk import confine, formats, readers
from tk.blender.process import WorkerDied, WorkerProcess
from tk.contracts.manifest import PROBE_FIELDS
from tk.curate.bpy_probe import PROBE_JOB

# A Blender probe worker above this resident memory is killed and the file fails (render's default --max-memory-gb):
# one huge or malicious file must not take the machine down.
MAX_MEMORY_GB = 16.0

# What a probe returns; also the schema of the resumable probe store.
PROBE_SCHEMA = pa.schema([
    pa.field("uid", pa.string()),
    pa.field("local_path", pa.string()),
    *PROBE_FIELDS,  # size and counts, as the manifest stores them
    # variable-size on disk: pyarrow misreads null fixed-size lists from Parquet; DuckDB casts to DOUBLE[3].
    pa.field("bbox_extent", pa.list_(pa.float64())),
    pa.field("probe_error", pa.string()),
    pa.field("probed_with", pa.string()),
    pa.field("probe_seconds", pa.float64()),
    pa.field("retryable", pa.bool_()),
    # files the object names that were not read: outside its folder (refused) or not found
    pa.field("missing_resources", pa.list_(pa.string())),
])


def probe_file(path: Path, file_type: str, timeout: float = 120.0, input_root: Path | None = None,
               blender: WorkerProcess | None = None) -> dict[str, Any]:
    """Measure one file: counts, bbox extent, or `probe_error` (one line) when it cannot be read.

    `input_root`: the folder input the file was found in, which it may not leave through a link. `blender`: the
    persistent Blender worker to probe Blender-only formats in (a probe actor keeps one); None starts one for the
    file."""
    t0 = time.perf_counter()
    out: dict[str, Any] = {"local_path": str(path), "probe_error": None}
    fmt = formats.get(file_type)
    probe = fmt.probe if fmt is not None else "trimesh"
    try:
        refused = confine.check_object(path, input_root)
        refs = confine.scan(path, file_type) if refused is None else confine.Refs(fatal=refused)
        if refs.fatal:
            raise PermissionError(refs.fatal)
        out["missing_resources"] = list(refs.refused)
        out["size_bytes"] = path.stat().st_size
        if out["size_bytes"] == 0:
            raise ValueError("empty file (0 bytes)")
        if fmt is None:
            raise ValueError(f"no reader for file type '{file_type}'")
        if probe == "trimesh":
            out |= _trimesh_probe(path, fmt, file_type, out["missing_resources"])
        else:
            found = _bpy_probe(path, timeout, blender)
            out |= found | {"missing_resources": out["missing_resources"] + found.get("missing_resources", [])}
        out["probed_with"] = probe
    except Exception as e:  # noqa: BLE001 - any failure of an untrusted file is that row's result
        out["probe_error"] = _one_line(e)
        out.setdefault("probed_with", probe)
    out["missing_resources"] = sorted(set(out.get("missing_resources") or [])) or None
    out["probe_seconds"] = round(time.perf_counter() - t0, 4)
    return out


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split()) or type(e).__name__
    return f"{type(e).__name__}: {text}"[:300]


def _trimesh_probe(path: Path, fmt: formats.Format, file_type: str, missing: list[str]) -> dict[str, Any]:
    import trimesh

    scene = readers.load_trimesh(path, file_type, missing)
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
    animations = _gltf_animations(path) if fmt is formats.GLTF else 0
    if fmt.convert:  # render imports the converted file: converting must work too
        readers.export_glb(scene, path, file_type)
    return {
        "vertex_count": int(vertices), "face_count": int(faces), "mesh_count": len(meshes),
        "material_count": len(materials), "texture_count": len(images),
        "animation_count": animations,
        "bbox_extent": [float(x) for x in extent] if extent is not None else None,
    }


def _gltf_animations(path: Path) -> int:
    """Number of glTF animations (trimesh does not load them), read from the JSON chunk (confine's capped reader)."""
    doc = confine.gltf_json(path)
    return len(doc.get("animations") or []) if isinstance(doc, dict) else 0


def _bpy_probe(path: Path, timeout: float, blender: WorkerProcess | None) -> dict[str, Any]:
    worker = blender or WorkerProcess(max_memory_gb=MAX_MEMORY_GB, preload=(PROBE_JOB.partition(":")[0],))
    try:
        result = worker.run({"type": PROBE_JOB, "path": str(path)}, timeout, doing="probing")
    except WorkerDied as e:  # killed and replaced: the next file gets a fresh process
        raise RuntimeError(f"Blender importer failed: {e}") from None
    finally:
        if blender is None:
            worker.close()
    if result.get("error"):
        raise RuntimeError(f"Blender import failed: {result['error']}")
    return result
