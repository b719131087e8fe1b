"""Write the sample files of tests/data/formats/: a 1 x 2 x 3 box (x, y, z; +Z up) in every type tk reads.

Run from the repo root: `python tests/data/formats/make.py`. Blender's own exporters write the types it
exports; trimesh writes OFF, 3MF and COLLADA (the types Blender 5 cannot import). The COLLADA box is
textured (a 4 x 4 PNG beside it) and declares Z_UP, so the conversion's axis and image handling are tested.
All files are made here by tk's authors and are CC0.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent

BLENDER = """
import bpy, sys
out = sys.argv[-1]
bpy.ops.wm.read_factory_settings(use_empty=True)
bpy.ops.mesh.primitive_cube_add(size=1.0)
box = bpy.context.active_object
box.name = "box"
box.scale = (1.0, 2.0, 3.0)
bpy.ops.object.transform_apply(scale=True)
bpy.ops.export_scene.gltf(filepath=out + "/box.glb", export_format="GLB")
bpy.ops.export_scene.gltf(filepath=out + "/box.gltf", export_format="GLTF_SEPARATE")
bpy.ops.wm.obj_export(filepath=out + "/box.obj", export_materials=False)
bpy.ops.wm.ply_export(filepath=out + "/box.ply", ascii_format=True)
bpy.ops.wm.stl_export(filepath=out + "/box.stl", ascii_format=True)
bpy.ops.export_scene.fbx(filepath=out + "/box.fbx")
for ext in ("usd", "usda", "usdc", "usdz"):
    box.name = "box_" + ext  # .usd and .usdc are both USD crate files: one name each keeps their bytes apart
    bpy.ops.wm.usd_export(filepath=out + "/box." + ext)
box.name = "box"
bpy.ops.wm.alembic_export(filepath=out + "/box.abc")
bpy.data.libraries.write(out + "/box.blend", {box}, compress=True)  # the object alone, not a whole session
"""


def trimesh_files(out: Path) -> None:
    """OFF and 3MF of the box (+Z up, as both formats are read), and a textured COLLADA box marked Z_UP."""
    import numpy as np
    import trimesh
    from PIL import Image

    box = trimesh.creation.box(extents=(1.0, 2.0, 3.0))
    (out / "box.off").write_text(box.export(file_type="off"))
    (out / "box.3mf").write_bytes(box.export(file_type="3mf"))
    pixels = np.zeros((4, 4, 3), np.uint8)
    pixels[..., 0] = 200
    Image.fromarray(pixels).save(out / "box_texture.png")
    uv = np.c_[box.vertices[:, 0] + 0.5, box.vertices[:, 1] / 2 + 0.5]
    material = trimesh.visual.material.SimpleMaterial(image=Image.open(out / "box_texture.png"))
    textured = trimesh.Trimesh(box.vertices, box.faces, visual=trimesh.visual.TextureVisuals(uv=uv, material=material))
    dae = trimesh.exchange.dae.export_collada(textured).decode()
    # trimesh writes Y_UP and a plain colour: declare Z_UP and sample the PNG beside the file instead
    dae = dae.replace("<up_axis>Y_UP</up_axis>", "<up_axis>Z_UP</up_axis>")
    dae = dae.replace("<library_effects>", '<library_images><image id="tex"><init_from>box_texture.png</init_from>'
                      "</image></library_images>\n  <library_effects>")
    dae = dae.replace('<technique sid="common">', '<newparam sid="surf"><surface type="2D"><init_from>tex</init_from>'
                      '</surface></newparam><newparam sid="samp"><sampler2D><source>surf</source></sampler2D>'
                      '</newparam>\n        <technique sid="common">')
    dae = dae.replace("<diffuse>\n              <color>0.0 0.0 0.0 1.0</color>",
                      '<diffuse>\n              <texture texture="samp" texcoord="UVSET0"/>')
    (out / "box.dae").write_text(dae)


if __name__ == "__main__":
    r = subprocess.run([sys.executable, "-c", BLENDER, str(OUT)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    trimesh_files(OUT)
    for f in sorted(OUT.glob("box*")):
        print(f.name, f.stat().st_size)
