"""The `probe` job type of the persistent Blender worker (tk.blender.serve): import one file with bpy, measure it.

Sent by `tk.curate.probe` as `PROBE_JOB`; it runs in the worker subprocess, so an importer crash, hang or memory
blow-up kills only that process (its parent restarts it for the next file). The file is imported as render imports
it (`tk.readers.bpy_import`): scripts embedded in .blend files are
never run (auto-exec stays off, objects are appended). Reads stay in the file's folder
(`tk.confine`): a .blend library outside it fails the probe; an image outside it is dropped before its
pixels load and reported in `missing_resources`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tk import confine, formats, readers

PROBE_JOB = "tk.curate.bpy_probe:measure"  # the job type tk.blender.serve runs for a probe


def measure(job: dict[str, Any]) -> dict[str, Any]:
    """The `probe` job type: the counts of `job["path"]`, or {"error": one line} when Blender cannot import it."""
    try:
        return _measure(Path(job["path"]))
    except Exception as e:  # noqa: BLE001 - reported to the parent as this file's error
        # bpy operator errors carry the importer's whole traceback; its last line says what went wrong.
        lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
        errors = [ln for ln in lines if ln.split(":")[0].endswith(("Error", "Exception"))]
        return {"error": ((errors or lines or [type(e).__name__])[-1])[:300]}


def _measure(path: Path) -> dict[str, Any]:
    """Import `path` into an empty scene and measure it."""
    import bpy
    from mathutils import Vector

    bpy.ops.wm.read_factory_settings(use_empty=True)
    file_type = formats.file_type(path)
    converted_refused = readers.bpy_import(bpy, str(path), file_type)
    refs = confine.confine_blender(bpy, path.parent, file_type)
    if refs.fatal:
        raise PermissionError(refs.fatal)
    meshes = [o for o in bpy.context.scene.objects if o.type == "MESH"]
    depsgraph = bpy.context.evaluated_depsgraph_get()
    vertices = faces = 0
    lo, hi = Vector((float("inf"),) * 3), Vector((float("-inf"),) * 3)
    for obj in meshes:
        mesh = obj.evaluated_get(depsgraph).data
        vertices += len(mesh.vertices)
        faces += len(mesh.polygons)
        for corner in obj.bound_box:
            w = obj.matrix_world @ Vector(corner)
            lo = Vector(map(min, lo, w))
            hi = Vector(map(max, hi, w))
    images = [i for i in bpy.data.images if i.source in ("FILE", "PACKED") and (i.filepath or i.packed_file)]
    return {
        "vertex_count": vertices, "face_count": faces, "mesh_count": len(meshes),
        "material_count": len(bpy.data.materials), "texture_count": len(images),
        "animation_count": len(bpy.data.actions),
        "bbox_extent": [hi[i] - lo[i] for i in range(3)] if meshes else None,
        "missing_resources": converted_refused + refs.refused,
    }

