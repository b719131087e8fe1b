"""The one table of 3D file formats: how curate probes each, how render imports it with Blender.

Every place that lists formats reads `FORMATS`: the folder walks of `tk curate --source local` and
`tk render --input`, curate's `file_type` rule, the probe, and the readers of both the curate probe
and the render worker (`tk.readers`). A type missing from the table is not kept by curate (the
`file_type` rule) and is never imported by render. This module is the table only, so `tk.confine` (which
checks a format's references) and `tk.readers` (which reads files through confine) both stand on it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Format:
    """One file format: its extensions, how it is probed, and how Blender imports it."""

    name: str
    extensions: tuple[str, ...]
    probe: str  # "trimesh": measured in-process; "bpy": imported in a child Blender process
    importer: str  # the bpy operator (`import_scene.gltf`), or "append" (.blend: objects appended, nothing run)
    convert: bool = False  # Blender cannot import it: trimesh converts it to glTF first
    up_axis: str = "Z"  # converted formats: the file's up axis ("file": read from the file); glTF's is Y
    add_only: bool = False  # the importer only adds data-blocks, so a cheap scene reset undoes it
    refs: str | None = None  # "gltf" / "obj": `tk.confine.scan` checks the references before any import
    own_packed_images: bool = False  # its packed images are the file's own data (embedded media)
    whole_file: bool = False  # may look like a zip/tar: a download of this type is never unpacked


GLTF = Format("glTF", ("glb", "gltf"), "trimesh", "import_scene.gltf", add_only=True, refs="gltf", whole_file=True)
OBJ = Format("Wavefront OBJ", ("obj",), "trimesh", "wm.obj_import", add_only=True, refs="obj")
FORMATS: tuple[Format, ...] = (
    GLTF,
    OBJ,
    Format("FBX", ("fbx",), "bpy", "import_scene.fbx", own_packed_images=True),
    Format("PLY", ("ply",), "trimesh", "wm.ply_import", add_only=True),
    Format("STL", ("stl",), "trimesh", "wm.stl_import", add_only=True),
    Format("USD", ("usd", "usda", "usdc"), "bpy", "wm.usd_import"),
    Format("USDZ", ("usdz",), "bpy", "wm.usd_import", own_packed_images=True, whole_file=True),
    Format("COLLADA", ("dae",), "trimesh", "import_scene.gltf", convert=True, up_axis="file"),
    Format("Blender", ("blend",), "bpy", "append", own_packed_images=True, whole_file=True),
    Format("Alembic", ("abc",), "bpy", "wm.alembic_import"),
    Format("OFF", ("off",), "trimesh", "import_scene.gltf", convert=True),
    Format("3MF", ("3mf",), "trimesh", "import_scene.gltf", convert=True, whole_file=True),
)
_BY_EXT = {ext: f for f in FORMATS for ext in f.extensions}
EXTENSIONS: tuple[str, ...] = tuple(_BY_EXT)  # every type curate keeps and render imports


def get(file_type: str) -> Format | None:
    """The format of a type (an extension without the dot, any case), or None when tk does not read it."""
    return _BY_EXT.get(file_type.lower().lstrip("."))


def file_type(path: str | os.PathLike[str]) -> str:
    """The type of a file as tk names it: its extension, lower case, without the dot."""
    return Path(path).suffix.lower().lstrip(".")


def unsupported(file_type: str) -> str:
    """The one-line reason a type is not read."""
    return f"unsupported file type '.{file_type}' (tk reads: {', '.join(EXTENSIONS)})"
