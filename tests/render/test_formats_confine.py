"""The conversion to glTF (for the types Blender 5 cannot import) reads only the object's folder: a COLLADA
image outside it is refused and listed, never read, and an XML external entity is never resolved."""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

import trimesh

from tk import readers

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "formats"


def _images(glb: bytes) -> int:
    scene = trimesh.load(io.BytesIO(glb), file_type="glb", force="scene")
    return sum(getattr(g.visual.material, "baseColorTexture", None) is not None for g in scene.geometry.values())


def test_a_collada_image_inside_the_folder_is_carried(tmp_path):
    shutil.copy(SAMPLES / "box.dae", tmp_path / "box.dae")
    shutil.copy(SAMPLES / "box_texture.png", tmp_path / "box_texture.png")
    missing: list[str] = []
    assert _images(readers.to_glb(tmp_path / "box.dae", "dae", missing)) == 1 and missing == []


def test_a_collada_image_outside_the_folder_is_refused_and_listed(tmp_path):
    (tmp_path / "obj").mkdir()
    shutil.copy(SAMPLES / "box_texture.png", tmp_path / "box_texture.png")  # one folder up: outside
    text = (SAMPLES / "box.dae").read_text()
    for name, ref in (("up.dae", "../box_texture.png"), ("abs.dae", str(tmp_path / "box_texture.png")),
                      ("uri.dae", (tmp_path / "box_texture.png").as_uri())):
        (tmp_path / "obj" / name).write_text(text.replace("<init_from>box_texture.png</init_from>", f"<init_from>{ref}</init_from>"))
        missing: list[str] = []
        glb = readers.to_glb(tmp_path / "obj" / name, "dae", missing)
        assert _images(glb) == 0, name
        assert len(missing) == 1 and ref in missing[0], (name, missing)


def _with_entity(tmp_path: Path, entity: str) -> dict[str, Path]:
    """box.dae and box.3mf whose first vertex coordinate is `&leak;`, an entity declared as `entity`."""
    dae = (SAMPLES / "box.dae").read_text().replace('id="verts-array-array">-0.5 ', 'id="verts-array-array">&leak; ')
    (tmp_path / "leak.dae").write_text(f"<!DOCTYPE COLLADA [<!ENTITY leak {entity}>]>\n" + dae)
    with zipfile.ZipFile(SAMPLES / "box.3mf") as z:
        parts = {n: z.read(n) for n in z.namelist()}
    head, body = parts["3D/3dmodel.model"].decode().split("?>", 1)
    body = body.replace('<vertex x="-0.5"', '<vertex x="&leak;"', 1)
    parts["3D/3dmodel.model"] = f"{head}?><!DOCTYPE model [<!ENTITY leak {entity}>]>{body}".encode()
    with zipfile.ZipFile(tmp_path / "leak.3mf", "w") as z:
        for name, data in parts.items():
            z.writestr(name, data)
    return {"dae": tmp_path / "leak.dae", "3mf": tmp_path / "leak.3mf"}


def test_an_xml_internal_entity_reaches_the_geometry(tmp_path):
    """The channel the next test watches: an entity's text does become a vertex coordinate."""
    for file_type, path in _with_entity(tmp_path, '"7777"').items():
        assert readers.load_trimesh(path, file_type, []).extents.max() > 7000, file_type


def test_an_xml_external_entity_is_never_read(tmp_path):
    (tmp_path / "secret.txt").write_text("7777")
    for file_type, path in _with_entity(tmp_path, f'SYSTEM "{(tmp_path / "secret.txt").as_uri()}"').items():
        try:
            scene = readers.load_trimesh(path, file_type, [])
        except Exception as e:  # noqa: BLE001 - refusing the file is fine; reading the secret is not
            assert "7777" not in str(e), file_type
            continue
        assert scene.extents.max() < 7000, file_type
