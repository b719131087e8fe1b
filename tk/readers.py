"""How tk reads a 3D file: trimesh loads within the file's folder, converts what Blender cannot import, and the one
Blender importer of the curate probe and the render worker.

Blender 5.0.1 has no importer for COLLADA (.dae; removed in 5.0), OFF or 3MF. Those are read by trimesh
(the same loader the curate probe measures with) and converted to glTF before Blender imports them, so
whatever curate keeps, render can import. Reads stay in the object's folder (`tk.confine`): trimesh reads
a referenced file (a COLLADA image) only through `confined_resolver`, XML entities are not resolved
(trimesh's and lxml's parser defaults), and no converter runs code from a file. Which format is which lives in
`tk.formats`.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from tk import confine
from tk.formats import Format, get, unsupported


# ---- trimesh: the probe of the trimesh formats and the converter of the ones Blender cannot import ----

def confined_resolver(folder: Path, missing: list[str]) -> Any:
    """A trimesh resolver that reads only files inside `folder`, noting each file it did not read."""
    import trimesh

    class Confined(trimesh.resolvers.FilePathResolver):
        def get(self, name: str) -> bytes:
            try:
                return confine.resolve(name, folder).read_bytes()
            except confine.Refused as e:
                missing.append(str(e))
            except OSError:
                missing.append(f"{name!r} not found")
            raise FileNotFoundError(name)

    return Confined(str(folder))


def load_trimesh(path: Path, file_type: str, missing: list[str]) -> Any:
    """The file as a trimesh Scene, reading other files only from its folder (refused ones go to `missing`)."""
    import trimesh

    # An MTL/texture may refuse or be missing: trimesh then loads the geometry without it.
    resolver = confined_resolver(path.parent, missing)
    return trimesh.load(str(path), file_type=file_type, force="scene", process=False, resolver=resolver)


def to_glb(path: Path, file_type: str, missing: list[str]) -> bytes:
    """A converted format as glTF binary (see `export_glb`)."""
    return export_glb(load_trimesh(path, file_type, missing), path, file_type)


def export_glb(scene: Any, path: Path, file_type: str) -> bytes:
    """The loaded `scene` of the file at `path` as glTF binary, turned so its up axis becomes glTF's +Y.

    Changes `scene` in place (measure it first)."""
    import numpy as np

    fmt = get(file_type)
    assert fmt is not None and fmt.convert, file_type
    up = _dae_up_axis(path) if fmt.up_axis == "file" else fmt.up_axis
    if up == "Z":  # +Z up -> +Y up, +Y -> -Z (Blender's glTF importer turns it back)
        scene.apply_transform(np.array([[1, 0, 0, 0], [0, 0, 1, 0], [0, -1, 0, 0], [0, 0, 0, 1]], dtype=np.float64))
    return scene.export(file_type="glb")


def _dae_up_axis(path: Path) -> str:
    """COLLADA's <up_axis> (Y_UP when absent, as the spec says); X_UP is read as Y_UP."""
    with open(path, "rb") as fh:
        head = fh.read(1 << 16)
    i = head.find(b"<up_axis>")
    return "Z" if i >= 0 and head[i + 9:i + 40].strip().startswith(b"Z_UP") else "Y"


# ---- Blender: the one importer of the curate probe and the render worker ----

def bpy_import(bpy: Any, path: str, file_type: str) -> list[str]:
    """Import `path` into the current (empty) scene; return the images refused by a conversion.

    Raises ValueError for a type tk does not read, GaveUp when an importer gives up, and whatever a
    converter or importer raises on a bad file. Auto-exec stays off; a .blend is appended, never opened.
    """
    fmt = get(file_type)
    if fmt is None:
        raise ValueError(unsupported(file_type))
    bpy.context.preferences.filepaths.use_scripts_auto_execute = False
    if fmt.importer == "append":
        _append_blend(bpy, path)
        return []
    if not fmt.convert:
        _run_op(bpy, fmt, path, file_type)
        return []
    missing: list[str] = []
    data = to_glb(Path(path), file_type, missing)
    with tempfile.TemporaryDirectory(prefix="tk-convert-") as tmp:
        glb = os.path.join(tmp, "converted.glb")
        with open(glb, "wb") as fh:
            fh.write(data)
        _run_op(bpy, fmt, glb, file_type)  # a .glb's images are packed: nothing refers to the temp file
    return missing


class GaveUp(RuntimeError):
    """A Blender importer returned without finishing (the message says which and how)."""


def _run_op(bpy: Any, fmt: Format, path: str, file_type: str) -> None:
    group, name = fmt.importer.split(".")
    result = getattr(getattr(bpy.ops, group), name)(filepath=path)
    if "FINISHED" not in result:
        raise GaveUp(f"the .{file_type} importer gave up ({', '.join(sorted(result))})")


def _append_blend(bpy: Any, path: str) -> None:
    """Append the objects of a .blend (never opened as the main file, so its scripts cannot run)."""
    with bpy.data.libraries.load(path, link=False) as (src, dst):
        dst.objects = list(src.objects)
    for obj in dst.objects:
        if obj is not None and obj.users_collection == ():
            bpy.context.scene.collection.objects.link(obj)
    # texts arrive as dependencies of nothing we asked for, but drop any that did so none can be run later
    for text in list(bpy.data.texts):
        bpy.data.texts.remove(text)
