"""Builds small hostile object folders in a temp dir: files that name things outside their folder.

`build(root)` writes `root/secret.png` (pure green), `root/secret.bin` (a cube's geometry), `root/outside/`
(a textured cube that is not in the input) and `root/in/`, the input folder:

| file | what it tries |
| --- | --- |
| `up/cube.gltf` | an image `../../secret.png` (up out of the folder) |
| `fileuri/cube.gltf` | an image `file:///.../secret.png` |
| `absolute/cube.gltf` | an image at the absolute path of secret.png |
| `buffer/cube.gltf` | its geometry buffer `../../secret.bin` |
| `mtl/cube.obj` | an MTL whose `map_Kd` is the absolute path of secret.png |
| `linked_tex/cube.gltf` | an image `linked.png` that is a link to secret.png |
| `link.glb` | a link to `outside/cube.glb` |
| `linked_dir/cube.glb` | `linked_dir` is a link to `outside/` |
| `.hidden/cube.glb` | a hidden folder (skipped by curate and render alike) |
| `control/cube.gltf` | the same cube with its own green `tex.png`: what a followed secret looks like |
"""

from __future__ import annotations

import base64
import io
import json
import os
import struct
from pathlib import Path

import numpy as np

GREEN = (0, 255, 0, 255)


def png(color: tuple[int, int, int, int] = GREEN, size: int = 4) -> bytes:
    """A solid-colour RGBA PNG."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGBA", (size, size), color).save(buf, format="PNG")
    return buf.getvalue()


def cube() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A unit cube with 4 vertices per face (positions, uvs, triangle indices)."""
    pos, uv, idx = [], [], []
    for axis in range(3):
        for sign in (-0.5, 0.5):
            a, b = [i for i in range(3) if i != axis]
            base = len(pos)
            for u, v in ((0, 0), (1, 0), (1, 1), (0, 1)):
                p = [0.0, 0.0, 0.0]
                p[axis], p[a], p[b] = sign, u - 0.5, v - 0.5
                pos.append(p)
                uv.append([u, v])
            quad = [base, base + 1, base + 2, base, base + 2, base + 3]
            idx += quad if sign > 0 else quad[::-1]
    return np.array(pos, "<f4"), np.array(uv, "<f4"), np.array(idx, "<u2")


def cube_bin() -> bytes:
    """The cube's buffer: positions, then uvs, then indices."""
    pos, uv, idx = cube()
    return pos.tobytes() + uv.tobytes() + idx.tobytes()


def gltf(buffer_uri: str | None, image_uri: str | None) -> dict:
    """A glTF document of the textured cube; `buffer_uri` None embeds the buffer as a data: URI."""
    pos, uv, idx = cube()
    data = cube_bin()
    uri = buffer_uri or "data:application/octet-stream;base64," + base64.b64encode(data).decode()
    doc = {
        "asset": {"version": "2.0"}, "scene": 0, "scenes": [{"nodes": [0]}], "nodes": [{"mesh": 0}],
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0, "TEXCOORD_0": 1}, "indices": 2, "material": 0}]}],
        "buffers": [{"uri": uri, "byteLength": len(data)}],
        "bufferViews": [
            {"buffer": 0, "byteOffset": 0, "byteLength": pos.nbytes},
            {"buffer": 0, "byteOffset": pos.nbytes, "byteLength": uv.nbytes},
            {"buffer": 0, "byteOffset": pos.nbytes + uv.nbytes, "byteLength": idx.nbytes},
        ],
        "accessors": [
            {"bufferView": 0, "componentType": 5126, "count": len(pos), "type": "VEC3",
             "min": pos.min(0).tolist(), "max": pos.max(0).tolist()},
            {"bufferView": 1, "componentType": 5126, "count": len(uv), "type": "VEC2"},
            {"bufferView": 2, "componentType": 5123, "count": len(idx), "type": "SCALAR"},
        ],
        "materials": [{"pbrMetallicRoughness": {"baseColorFactor": [1, 1, 1, 1], "metallicFactor": 0.0}}],
    }
    if image_uri is not None:
        doc["materials"][0]["pbrMetallicRoughness"]["baseColorTexture"] = {"index": 0}
        doc["textures"] = [{"source": 0}]
        doc["images"] = [{"uri": image_uri}]
    return doc


def glb(image_png: bytes) -> bytes:
    """A binary glTF of the cube with `image_png` embedded as its texture."""
    doc = gltf(None, None)
    data = cube_bin()
    pad = (-len(data)) % 4
    img_offset = len(data) + pad
    blob = data + b"\0" * pad + image_png
    blob += b"\0" * ((-len(blob)) % 4)
    del doc["buffers"][0]["uri"]
    doc["buffers"][0]["byteLength"] = len(blob)
    doc["bufferViews"].append({"buffer": 0, "byteOffset": img_offset, "byteLength": len(image_png)})
    doc["materials"][0]["pbrMetallicRoughness"]["baseColorTexture"] = {"index": 0}
    doc["textures"] = [{"source": 0}]
    doc["images"] = [{"bufferView": 3, "mimeType": "image/png"}]
    text = json.dumps(doc).encode()
    text += b" " * ((-len(text)) % 4)
    body = struct.pack("<I4s", len(text), b"JSON") + text + struct.pack("<I4s", len(blob), b"BIN\0") + blob
    return struct.pack("<4sII", b"glTF", 2, 12 + len(body)) + body


def obj_text(mtl: str) -> str:
    """The cube as OBJ text using material library `mtl`."""
    pos, uv, idx = cube()
    lines = [f"mtllib {mtl}", "o cube"] + [f"v {x} {y} {z}" for x, y, z in pos] + [f"vt {u} {v}" for u, v in uv]
    lines.append("usemtl skin")
    lines += [f"f {a + 1}/{a + 1} {b + 1}/{b + 1} {c + 1}/{c + 1}" for a, b, c in idx.reshape(-1, 3)]
    return "\n".join(lines) + "\n"


def build(root: Path) -> Path:
    """Write the hostile input folder (see the module docstring) under `root`; return `root/in`."""
    secret = root / "secret.png"
    secret.write_bytes(png())
    (root / "secret.bin").write_bytes(cube_bin())
    (root / "outside").mkdir()
    (root / "outside" / "cube.glb").write_bytes(glb(png()))
    src = root / "in"
    cases = {
        "up": gltf(None, "../../secret.png"),
        "fileuri": gltf(None, secret.as_uri()),
        "absolute": gltf(None, str(secret)),
        "buffer": gltf("../../secret.bin", None),
        "linked_tex": gltf(None, "linked.png"),
        "control": gltf(None, "tex.png"),
    }
    for name, doc in cases.items():
        (src / name).mkdir(parents=True)
        (src / name / "cube.gltf").write_text(json.dumps(doc))
    os.symlink(secret, src / "linked_tex" / "linked.png")
    (src / "control" / "tex.png").write_bytes(png())
    (src / "mtl").mkdir()
    (src / "mtl" / "cube.obj").write_text(obj_text("cube.mtl"))
    (src / "mtl" / "cube.mtl").write_text(f"newmtl skin\nKd 1 1 1\nmap_Kd {secret}\n")
    os.symlink(root / "outside" / "cube.glb", src / "link.glb")
    os.symlink(root / "outside", src / "linked_dir")
    (src / ".hidden").mkdir()
    (src / ".hidden" / "cube.glb").write_bytes(glb(png()))
    return src
