"""Object files from the internet: glTF/GLB JSON headers, OBJ `mtllib` lines, MTL texture maps, COLLADA up axes.

Properties, for generated files that name other files in every way (relative, `..`, absolute, URIs,
percent-escapes, NUL bytes, very long names, links leaving the folder): `tk.confine.scan` returns its
Refs without raising; the curate probe returns a row (an error is that row's one-line `probe_error`); neither
opens a file outside the object's folder, and neither writes anything.
"""

from __future__ import annotations

import json
import os
import struct
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fuzz.conftest import EXAMPLES
from tk import confine, formats, readers

NAMES = st.one_of(
    st.sampled_from(["a.bin", "a.mtl", "t.png", "sub/t.png", "../secret/secret.bin", "../secret/secret.mtl",
                     "..%2Fsecret%2Fsecret.png", "%2e%2e/secret/secret.png", "{S}/secret.png", "file://{S}/secret.png",
                     "http://127.0.0.1:9/x.png", "C:\\x.png", "\\\\host\\share\\x.png", "link.mtl", "link.png",
                     "data:application/octet-stream;base64,AAAA", "a\x00b.png", "x" * 300, "/".join(["d"] * 40),
                     "sub/../../secret/secret.bin", " ", "", "~/.ssh/id_rsa", "-bm 0.5 t.png", "%00"]),
    st.text(max_size=12),
)
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=6),
                    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3), max_leaves=6)
ITEM = st.one_of(st.fixed_dictionaries({"uri": NAMES}), JSON)
GLTF_DOC = st.one_of(
    st.fixed_dictionaries({}, optional={"asset": st.just({"version": "2.0"}), "buffers": st.lists(ITEM, max_size=3) | JSON,
                                        "images": st.lists(ITEM, max_size=3) | JSON, "animations": JSON,
                                        "meshes": JSON, "scenes": JSON}),
    JSON,
)
OBJ_LINE = st.one_of(NAMES.map(lambda n: f"mtllib {n}"), st.sampled_from(["v 0 0 0", "v 1 0 0", "v 0 1 0", "f 1 2 3",
                                                                          "usemtl m", "vt 0 0", "f 1/1 2/1 3/1", "o x"]),
                     st.text(max_size=20))
MTL_LINE = st.one_of(st.sampled_from(["map_Kd", "map_Bump -bm 0.5", "bump", "norm", "map_Ka"]).flatmap(
    lambda k: NAMES.map(lambda n: f"{k} {n}")), st.sampled_from(["newmtl m", "Kd 1 0 0"]), st.text(max_size=20))


@st.composite
def glb(draw: st.DrawFn) -> bytes:
    body = json.dumps(draw(GLTF_DOC)).encode()
    declared = draw(st.one_of(st.just(len(body)), st.integers(0, 2**32 - 1)))
    head = b"glTF" + struct.pack("<II", 2, 20 + len(body)) + struct.pack("<I", declared) + b"JSON"
    return (head + body)[: draw(st.one_of(st.just(10**9), st.integers(0, 40)))]


FILES = st.one_of(
    st.tuples(st.just("m.gltf"), GLTF_DOC.map(lambda d: json.dumps(d).encode())),
    st.tuples(st.just("m.glb"), glb()),
    st.tuples(st.just("m.obj"), st.lists(OBJ_LINE, max_size=8).map(lambda ls: "\n".join(ls).encode("utf-8", "surrogatepass"))),
    st.tuples(st.sampled_from(["m.gltf", "m.glb", "m.obj", "m.dae"]), st.binary(max_size=64)),
)


def _object(tmp_path: Path, name: str, data: bytes, mtl: list[str]) -> tuple[Path, Path]:
    """A fresh object folder beside a `secret` folder, holding the file, a.mtl and links leaving it."""
    secret = tmp_path / "secret"
    if not secret.is_dir():
        secret.mkdir()
        for f in ("secret.bin", "secret.mtl", "secret.png"):
            (secret / f).write_bytes(b"map_Kd ../x.png\n" if f.endswith(".mtl") else b"\x89PNG secret")
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    (folder / "sub").mkdir()
    data = data.replace(b"{S}", str(secret).encode())
    (folder / name).write_bytes(data)
    (folder / "a.mtl").write_bytes("\n".join(mtl).replace("{S}", str(secret)).encode("utf-8", "surrogatepass"))
    (folder / "a.bin").write_bytes(b"\0" * 12)
    os.symlink(secret / "secret.mtl", folder / "link.mtl")
    os.symlink(secret / "secret.png", folder / "link.png")
    return folder / name, secret


@given(FILES, st.lists(MTL_LINE, max_size=5))
def test_scan(tmp_path, watch, file, mtl):
    path, secret = _object(tmp_path, *file, mtl)
    watch.on = True
    try:
        refs = confine.scan(path, formats.file_type(path))
    finally:
        watch.on = False
    assert refs.fatal is None or isinstance(refs.fatal, str)
    assert all(isinstance(r, str) for r in refs.refused)
    assert watch.under(watch.reads, secret) == []
    assert watch.writes == []


# The probe loads the file with trimesh (~10-50 ms): a fifth of the budget.
@settings(max_examples=max(EXAMPLES // 5, 20))
@given(FILES, st.lists(MTL_LINE, max_size=5))
def test_probe(tmp_path, watch, file, mtl):
    from tk.curate import probe

    path, secret = _object(tmp_path, *file, mtl)
    watch.on = True
    try:
        row = probe.probe_file(path, formats.file_type(path), timeout=30)
    finally:
        watch.on = False
    assert row["probe_error"] is None or (row["probe_error"] and "\n" not in row["probe_error"])
    assert watch.under(watch.reads, secret) == []
    assert watch.writes == []


@given(st.binary(max_size=200), st.sampled_from([b"", b"<up_axis>", b"<up_axis>Z_UP", b"<up_axis> Z_UP</up_axis>"]))
def test_collada_up_axis(tmp_path, head, tag):
    path = tmp_path / "m.dae"
    path.write_bytes(head + tag)
    assert readers._dae_up_axis(path) in ("Y", "Z")


@pytest.mark.parametrize("name, data", [
    ("m.gltf", b'{"buffers": 5}'), ("m.gltf", b'{"images": true}'), ("m.obj", b"mtllib a\x00b.mtl"),
    ("m.obj", b"mtllib " + b"x" * 300 + b".mtl"), ("m.gltf", b"[" * 100000),
    ("m.obj", b"mtllib a.mtl"),
])
def test_headers_fuzzing_found(tmp_path, name, data):
    # Each raised TypeError, ValueError, OSError or RecursionError out of confine.scan before the fix.
    path, _ = _object(tmp_path, name, data, ["map_Kd " + "y" * 300 + ".png", "map_Kd a\x00.png"])
    refs = confine.scan(path, formats.file_type(path))
    assert refs.fatal is None or "\n" not in refs.fatal
