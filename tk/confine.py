"""What one object may read: the files of its own folder, and nothing else.

Object files come from the internet and name other files: glTF buffers and images, an OBJ's MTL and
its texture maps, FBX/USD textures, .blend libraries. Curate (the probe) and render apply the same rule,
through this module:
- an object's folder is the folder that holds its file (after a download, the folder tk put it in);
  a folder input (`tk curate --source local --input`, `tk render --input`) is walked without hidden
  files or folders, and a file or sub-folder that is a link resolving outside the input is not read;
- a reference that is absolute, a URI with a scheme (`file://`, `http://`), or that resolves (links
  followed) outside the object's folder is refused: a refused buffer, MTL or .blend library fails the
  object; a refused image is a missing resource, recorded in the row, and never loaded.
"""

from __future__ import annotations

import json
import os
import re
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from tk import formats
from tk.hashing import sha256_text

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_WINDOWS_ABS = re.compile(r"^(?:[A-Za-z]:)?[\\/]")
_MTLLIB = re.compile(rb"^[ \t]*mtllib[ \t]+([^\r\n]+?)[ \t]*\r?$", re.M)
_MTL_MAP = re.compile(rb"^[ \t]*(?:map_\w+|bump|disp|decal|refl|norm)[ \t]+([^\r\n]+?)[ \t]*\r?$", re.M | re.I)
OUTSIDE = "outside the object's folder"


class Refused(ValueError):
    """A reference an object may not follow; the message says which and why."""


@dataclass
class Refs:
    """What a pre-import scan found: `fatal` (why the object must fail, or None) and refused images."""

    fatal: str | None = None
    refused: list[str] = field(default_factory=list)


@dataclass
class Walk:
    """A folder input: its model files (path, why refused or None) and the linked folders not entered."""

    files: list[tuple[Path, str | None]] = field(default_factory=list)
    outside_folders: list[Path] = field(default_factory=list)


def inside(path: str | os.PathLike[str], root: str | os.PathLike[str]) -> bool:
    """True when `path`, links followed, is `root` or lies under it (links in `root` followed too)."""
    real, top = os.path.realpath(path), os.path.realpath(root)
    return real == top or real.startswith(top.rstrip(os.sep) + os.sep)


def resolve(ref: str, folder: str | os.PathLike[str], root: str | os.PathLike[str] | None = None) -> Path:
    """The file a reference names, read relative to `folder`; Refused unless it lies inside `root`
    (default `folder`). `data:` URIs are the importers' business and never reach here."""
    text = unquote(ref.strip())
    if not text:
        raise Refused("an empty file reference")
    if "\x00" in text:  # no file name holds one; os calls raise ValueError on it
        raise Refused(f"{ref!r} is not a file name (it holds a NUL byte)")
    if _WINDOWS_ABS.match(text) or os.path.isabs(text):
        raise Refused(f"{ref!r} is an absolute path ({OUTSIDE})")
    if _SCHEME.match(text):
        raise Refused(f"{ref!r} is a URI ({text.split(':', 1)[0]}:), not a file in the object's folder")
    path = Path(folder) / text
    if not inside(path, root if root is not None else folder):
        raise Refused(f"{ref!r} resolves {OUTSIDE}")
    return path


def refused_uid(relative_path: str) -> str:
    """The uid of a file tk refuses to read (it has no bytes to hash): the sha256 of its relative path."""
    return sha256_text(relative_path)


def check_object(path: str | os.PathLike[str], input_root: str | os.PathLike[str] | None = None) -> str | None:
    """Why the object file itself may not be read (a link leaving its folder or the input), or None."""
    top = input_root if input_root is not None else os.path.dirname(os.path.abspath(path))
    if not inside(path, top):
        where = "the input folder" if input_root is not None else "its folder"
        return f"{os.path.basename(path)} is a link to a file outside {where}; tk does not follow it"
    return None


def model_files(root: str | os.PathLike[str], extensions: tuple[str, ...]) -> Walk:
    """Every file under `root` with one of `extensions`, sorted, each with why it is refused (or None).

    Hidden files and folders are skipped. Linked sub-folders are followed while they stay inside
    `root` (each real folder once); one that leads outside is not entered and is listed in
    `outside_folders`; a file whose real path lies outside `root` is listed with its reason.
    """
    root = Path(root)
    top = os.path.realpath(root)
    seen: set[str] = set()
    walk = Walk()
    for folder, dirs, names in os.walk(root, followlinks=True):
        real = os.path.realpath(folder)
        if real in seen:  # a link loop, or a second link to one folder
            dirs[:] = []
            continue
        seen.add(real)
        keep = []
        for d in sorted(dirs):
            if d.startswith("."):
                continue
            if inside(Path(folder) / d, top):
                keep.append(d)
            else:
                walk.outside_folders.append(Path(folder) / d)
        dirs[:] = keep
        for name in names:
            path = Path(folder) / name
            if name.startswith(".") or path.suffix.lower().lstrip(".") not in extensions or not path.is_file():
                continue
            walk.files.append((path, check_object(path, top)))
    walk.files.sort()
    walk.outside_folders.sort()
    return walk


def scan(path: str | os.PathLike[str], file_type: str) -> Refs:
    """The references of a glTF or OBJ file that leave its folder, read before any importer runs:
    buffers and MTL files outside make the object fail; images outside are refused (missing)."""
    path = Path(path)
    refs = Refs()
    fmt = formats.get(file_type)
    why = check_object(path)
    if why:
        refs.fatal = why
    elif fmt is not None and fmt.refs == "gltf":
        _scan_gltf(path, refs)
    elif fmt is not None and fmt.refs == "obj":
        _scan_obj(path, refs)
    return refs


def _scan_gltf(path: Path, refs: Refs) -> None:
    doc = gltf_json(path)
    if not isinstance(doc, dict):
        return  # not a glTF the importers can read either: they report it
    for kind, fatal in (("buffers", True), ("images", False)):
        items = doc.get(kind)
        if not isinstance(items, list):
            continue  # malformed: the importers refuse it
        for item in items:
            uri = item.get("uri") if isinstance(item, dict) else None
            if not isinstance(uri, str) or uri.startswith("data:"):
                continue
            try:
                resolve(uri, path.parent)
            except Refused as e:
                if fatal:
                    refs.fatal = f"glTF buffer {e}"
                    return
                refs.refused.append(str(e))


def gltf_json(path: Path) -> Any:
    """The JSON document of a .gltf or of a .glb's JSON chunk, read at most 256 MiB; None when unreadable."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(20)
            if head[:4] == b"glTF":
                length = struct.unpack("<I", head[12:16])[0]
                return json.loads(fh.read(min(length, 256 * 2**20)))
            fh.seek(0)
            return json.loads(fh.read(256 * 2**20))
    except (OSError, ValueError, struct.error, RecursionError):  # RecursionError: JSON nested too deep
        return None


def _scan_obj(path: Path, refs: Refs) -> None:
    data = path.read_bytes()
    for m in _MTLLIB.finditer(data):
        name = m.group(1).decode("utf-8", "replace")
        try:
            mtl = resolve(name, path.parent)
        except Refused as e:
            refs.fatal = f"OBJ material library {e}"
            return
        try:
            text = mtl.read_bytes()[: 16 * 2**20] if mtl.is_file() else b""
        except OSError:  # a name too long, unreadable: the importer finds no material either
            text = b""
        if text:
            for t in _MTL_MAP.finditer(text):
                # the file name is the last word; options such as `-bm 0.5` come before it
                words = t.group(1).decode("utf-8", "replace").split()
                try:
                    resolve(words[-1], mtl.parent, path.parent)
                except (Refused, IndexError) as e:
                    refs.refused.append(str(e))




def confine_blender(bpy: Any, folder: str | os.PathLike[str], file_type: str) -> Refs:
    """After a Blender import: a .blend library outside `folder` fails the object; images read (or to be
    read) from outside it are removed before they render, and listed as refused."""
    refs = Refs()
    for lib in bpy.data.libraries:
        if not inside(bpy.path.abspath(lib.filepath), folder):
            refs.fatal = f"linked library {lib.filepath!r} resolves {OUTSIDE}"
            return refs
    for img in list(bpy.data.images):
        if img.source not in ("FILE", "SEQUENCE", "TILED", "MOVIE"):
            continue
        # other importers pack images they read from separate files (glTF): a packed image with a path
        # outside the folder was read from outside
        fmt = formats.get(file_type)
        if img.packed_file is not None and fmt is not None and fmt.own_packed_images:
            continue
        name = img.filepath
        if name and not inside(bpy.path.abspath(name, library=img.library), folder):
            refs.refused.append(f"{name!r} resolves {OUTSIDE}")
            bpy.data.images.remove(img)
    return refs
