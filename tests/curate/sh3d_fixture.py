"""A tiny stand-in for Debian's sweethome3d-furniture package: the real layout (ar + data.tar.xz, .sh3f zips
with PluginFurnitureCatalog.properties, a machine-readable copyright file) around three real sample models."""

from __future__ import annotations

import io
import tarfile
import time
import zipfile
from pathlib import Path

COPYRIGHT = """Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: SweetHome3D Additional 3D models

Files: Tiny-CC-0/*
Copyright: 2014, someone
License: CC0

Files: Tiny-CC-BY/*
Copyright: 2010, someone else
License: CC-BY-3.0-USA

Files: debian/*
Copyright: 2012, packager
License: GPL-2+
"""


def catalog(models: list[tuple[str, Path, str, str, str]], extra: dict[str, bytes] | None = None,
            properties: str | None = None) -> bytes:
    """A .sh3f zip: per model (folder, source folder, name, category, creator) its files and catalog entry."""
    lines = ["# PluginFurnitureCatalog.properties", "id=test#catalog", "name=test catalog"]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for n, (folder, src, name, category, creator) in enumerate(models, start=1):
            obj = next(src.glob("*.obj"))
            for f in sorted(src.iterdir()):
                if f.suffix.lower() in (".obj", ".mtl", ".jpg", ".png"):
                    zf.writestr(f"{folder}/{f.name}", f.read_bytes())
            zf.writestr(f"{folder}.png", b"icon, not a model")
            lines += [f"id#{n}={folder}", f"name#{n}={name}", f"category#{n}={category}", f"creator#{n}={creator}",
                      f"model#{n}=/{folder}/{obj.name}", f"width#{n}=40.0"]
        zf.writestr("PluginFurnitureCatalog.properties",
                    (properties if properties is not None else "\n".join(lines) + "\n").encode("latin-1"))
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return buf.getvalue()


def deb(path: Path, catalogs: dict[str, bytes], copyright_text: str = COPYRIGHT) -> Path:
    """Write a Debian package (ar: debian-binary, control.tar.xz, data.tar.xz) holding the catalogs."""
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w:xz") as tar:
        members = {"./usr/share/doc/sweethome3d-furniture/copyright": copyright_text.encode()}
        members.update({f"./usr/share/sweethome3d/furniture/{k}.sh3f": v for k, v in catalogs.items()})
        for name, blob in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(blob), int(time.time())
            tar.addfile(info, io.BytesIO(blob))
    control = io.BytesIO()
    with tarfile.open(fileobj=control, mode="w:xz"):
        pass
    out = [b"!<arch>\n"]
    for name, blob in (("debian-binary", b"2.0\n"), ("control.tar.xz", control.getvalue()),
                       ("data.tar.xz", data.getvalue())):
        header = f"{name:<16}{0:<12}{0:<6}{0:<6}{'100644':<8}{len(blob):<10}`\n".encode()
        out += [header, blob, b"\n" if len(blob) % 2 else b""]
    path.write_bytes(b"".join(out))
    return path


def tiny_package(path: Path, sample_objects: Path) -> Path:
    """Two catalogs, three real OBJ models (crate, bread, basketball) in three categories."""
    return deb(path, {
        "Tiny-CC-0": catalog([("tiny-cc-0/crate", sample_objects / "crate", "Crate", "Miscellaneous", "Alice"),
                              ("tiny-cc-0/bread", sample_objects / "bread", "Bread \\u00e0 la mode", "Kitchen", "Bob")]),
        "Tiny-CC-BY": catalog([("tiny-cc-by/basketball", sample_objects / "basketball", "Ball", "Exterior", "Carol")]),
    })
