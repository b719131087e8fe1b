"""Scene preparation inside the Blender process: reset, import one file safely, normalise it.

Only the bpy worker imports this module. Files are untrusted: Python auto-execution stays off, .blend files
are appended object by object (no scripts, no scene settings), and lights and cameras that came with a
file are removed so only tk's lighting is seen. Reads stay in the object's folder (`tk.confine`, the rule
the curate probe applies too): a buffer, MTL or library outside it fails the import, and an image outside
it is removed before its pixels load and listed with the missing textures.
"""

from __future__ import annotations

import os
from typing import Any

import bpy
import numpy as np

from tk import confine
from tk import formats, readers


class ImportFailed(Exception):
    """The file could not be imported or holds nothing to render; the message is the recorded error."""


_pristine: set[int] | None = None  # as_pointer() of the data-blocks right after the last factory reset
_current: str | None = None  # file type of the object imported since the last reset
_clean: str | None = None  # file type of the previous object if it rendered without error, else None
_refused: list[str] = []  # images of the current object that were not loaded because they lie outside its folder


def _all_ids() -> list[Any]:
    ids = []
    for attr in dir(bpy.data):
        coll = getattr(bpy.data, attr, None)
        if isinstance(coll, bpy.types.bpy_prop_collection) and attr not in ("window_managers", "workspaces", "screens"):
            ids.extend(i for i in coll if isinstance(i, bpy.types.ID))
    return ids


def reset_scene(file_type: str | None = None) -> None:
    """Empty the scene and purge every data-block, so memory stays flat and nothing leaks between objects.

    After an object of an add-only format (`tk.formats.Format.add_only`) that imported cleanly, every data-block created since
    the last factory reset is removed (~3 ms); otherwise Blender's factory settings are reloaded (~50 ms).
    `file_type` is the type of the object about to be imported; it is remembered for the next reset.
    """
    global _pristine, _current, _clean
    prev, _clean, _current = _clean, None, file_type
    # add-only importers create data-blocks (objects, meshes, materials, images, collections) and leave the
    # scene's settings alone, apart from ones configure() sets again for every object (glTF switches the
    # engine): removing every data-block that was not there after the factory reset gives the same empty scene
    fmt = formats.get(prev) if prev else None
    if _pristine is not None and fmt is not None and fmt.add_only:
        keep = _pristine
        bpy.data.batch_remove([i for i in _all_ids() if i.as_pointer() not in keep])
        bpy.data.orphans_purge(do_local_ids=True, do_linked_ids=True, do_recursive=True)
    else:
        # factory settings drop user prefs too; auto-exec is re-disabled right after on purpose
        bpy.ops.wm.read_factory_settings(use_empty=True)
        bpy.context.preferences.filepaths.use_scripts_auto_execute = False
        bpy.data.orphans_purge(do_local_ids=True, do_linked_ids=True, do_recursive=True)
        _pristine = {i.as_pointer() for i in _all_ids()}


def mark_clean() -> None:
    """Called after an object rendered without error: the next reset may take the cheap path."""
    global _clean
    _clean = _current


def import_file(path: str, file_type: str) -> None:
    """Import `path` into the empty scene as `tk.formats` says; raise ImportFailed on failure."""
    fmt = formats.get(file_type)
    if fmt is None:
        raise ImportFailed(formats.unsupported(file_type))
    if not os.path.isfile(path):
        raise ImportFailed(f"file not found: {path}")

    _refused.clear()
    refs = confine.scan(path, file_type)
    if refs.fatal:
        raise ImportFailed(refs.fatal)
    try:
        converted_refused = readers.bpy_import(bpy, path, file_type)
        after = confine.confine_blender(bpy, os.path.dirname(os.path.abspath(path)), file_type)
        if after.fatal:
            raise ImportFailed(after.fatal)
        _refused[:] = refs.refused + converted_refused + after.refused
    except ImportFailed:
        raise
    except readers.GaveUp as e:
        raise ImportFailed(str(e)) from None
    except Exception as e:  # importers raise anything from RuntimeError to AttributeError on odd files
        # operator errors end with a "Location: .../ops.py" line; the reason is the line before
        lines = [ln for ln in str(e).strip().splitlines() if ln.strip() and not ln.startswith("Location:")]
        msg = lines[-1] if lines else type(e).__name__
        how = f"converting the {fmt.name} file to glTF" if fmt.convert else f"the .{file_type} importer"
        raise ImportFailed(f"{how} failed: {type(e).__name__}: {msg}"[:500]) from None


def strip_scene() -> None:
    """Remove lights and cameras brought by the file and go to frame 0 (rest pose of animated files)."""
    for obj in list(bpy.data.objects):
        if obj.type in ("LIGHT", "CAMERA", "LIGHT_PROBE", "SPEAKER"):
            bpy.data.objects.remove(obj, do_unlink=True)
    bpy.context.scene.frame_set(0)


def viewport_as_render() -> None:
    """Give modifiers their render settings in the viewport too, so the depsgraph Python evaluates (used for
    the normalisation and the ground-truth surface) holds the geometry Cycles renders (subdivision levels,
    render-only modifiers). Rendering itself reads only the render settings, so the images do not change."""
    for obj in bpy.context.scene.objects:
        for mod in getattr(obj, "modifiers", ()):
            mod.show_viewport = mod.show_render
            if hasattr(mod, "render_levels") and hasattr(mod, "levels"):
                mod.levels = mod.render_levels
    bpy.context.view_layer.update()


def missing_textures() -> list[str]:
    """File paths of images the file references that do not exist on disk or were refused (recorded, not fatal)."""
    missing = list(_refused)
    for img in bpy.data.images:
        if img.source not in ("FILE", "SEQUENCE", "TILED") or img.packed_file is not None:
            continue
        path = bpy.path.abspath(img.filepath, library=img.library)
        if path and not os.path.exists(path):
            missing.append(img.filepath)
    return sorted(set(missing))


def world_bbox() -> tuple[np.ndarray, np.ndarray]:
    """(min, max) corners of all evaluated mesh vertices in world space; ImportFailed if there are none."""
    depsgraph = bpy.context.evaluated_depsgraph_get()
    lo, hi = np.full(3, np.inf), np.full(3, -np.inf)
    n_meshes, n_faces = 0, 0
    for obj in bpy.context.scene.objects:
        if obj.type != "MESH":
            continue
        n_meshes += 1
        ev = obj.evaluated_get(depsgraph)
        mesh = ev.to_mesh()
        try:
            if len(mesh.polygons) == 0:
                continue
            n_faces += len(mesh.polygons)
            co = np.empty(len(mesh.vertices) * 3, dtype=np.float64)
            mesh.vertices.foreach_get("co", co)
            co = co.reshape(-1, 3)
            m = np.array(ev.matrix_world, dtype=np.float64)
            world = co @ m[:3, :3].T + m[:3, 3]
            lo, hi = np.minimum(lo, world.min(axis=0)), np.maximum(hi, world.max(axis=0))
        finally:
            ev.to_mesh_clear()
    if n_meshes == 0:
        raise ImportFailed("the file holds no mesh objects (empty scene)")
    if n_faces == 0:
        raise ImportFailed("the file's meshes have no faces (nothing to render)")
    if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))):
        raise ImportFailed("the file's mesh vertices are not finite")
    return lo, hi


# The longest side tk normalises. Measured with bpy 5.0.1 (Workbench and Cycles): a cube 1e17 units long renders,
# one 1e18 long renders empty views although its scale, 1e-18, is a normal float32; one decade of margin.
MAX_EXTENT = 1e16


def normalise() -> tuple[list[float], float]:
    """Centre the meshes' bbox on the origin and scale its longest side to 1; return (center, scale).

    p_normalised = (p_world - center) * scale, applied to every root object so hierarchies keep their shape.
    """
    lo, hi = world_bbox()
    extent = float((hi - lo).max())
    if not np.isfinite(extent):
        raise ImportFailed("the file's bounding box is not finite")
    if not extent > 1e-12:
        raise ImportFailed("the file's meshes have zero size (all vertices in one point)")
    if extent > MAX_EXTENT:
        raise ImportFailed(f"the file's meshes span {extent:.3g} units; tk renders objects up to {MAX_EXTENT:.0e} units "
                           "long (Blender's float32 transforms lose larger ones: the views would be empty)")
    center = (lo + hi) / 2.0
    scale = 1.0 / extent
    from mathutils import Matrix

    transform = Matrix.Diagonal((scale, scale, scale, 1.0)) @ Matrix.Translation((-center).tolist())
    for obj in bpy.context.scene.objects:
        if obj.parent is None:
            obj.matrix_world = transform @ obj.matrix_world
    bpy.context.view_layer.update()
    return [float(c) for c in center], scale
