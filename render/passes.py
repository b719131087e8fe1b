"""Render settings and per-view passes inside the Blender process.

The RGBA image is Blender's own PNG (colour managed, straight alpha). Depth and normals come from the view
layer's Z and Normal passes, written as single-layer float EXRs by a File Output node of the Blender 5
compositor (a node group on the scene, items added with `file_output_items.new`) and read back with
`bpy.data.images.load`, which gives float pixels bottom row first.
"""

from __future__ import annotations

import math
import os
import time
from typing import Any

import bpy
import numpy as np

from tk.render.config import EngineSettings
from tk.render.encode import CLIP_END, strip_png_metadata

ENGINES = {"cycles": "CYCLES", "eevee": "BLENDER_EEVEE", "workbench": "BLENDER_WORKBENCH"}


def configure(settings: EngineSettings, width: int, height: int, tmpdir: str) -> dict[str, bool]:
    """Set engine, film and passes on the current scene; return which passes will be produced."""
    scene = bpy.context.scene
    scene.render.engine = ENGINES[settings.engine]
    scene.render.resolution_x, scene.render.resolution_y = width, height
    scene.render.resolution_percentage = 100
    scene.render.film_transparent = True
    scene.render.threads_mode = "FIXED" if settings.threads > 0 else "AUTO"
    if settings.threads > 0:
        scene.render.threads = settings.threads
    # Standard keeps texture colours as authored; AgX/Filmic would shift them per scene
    scene.view_settings.view_transform = "Standard"
    scene.view_settings.look = "None"
    # no date, host or file name written into the images (render times are stripped in render_view)
    for attr in dir(scene.render):
        if attr.startswith("use_stamp"):
            setattr(scene.render, attr, False)
    img = scene.render.image_settings
    img.file_format, img.color_mode, img.color_depth, img.compression = "PNG", "RGBA", "8", 15
    if settings.engine == "cycles":
        _configure_cycles(scene, settings)
    elif settings.engine == "eevee":
        scene.eevee.taa_render_samples = settings.samples
    else:
        scene.display.shading.light = "STUDIO"
        scene.display.shading.color_type = "TEXTURE"
        scene.display.render_aa = "8"
    layer = scene.view_layers[0]
    layer.use_pass_z = settings.depth
    # Workbench has no normal pass
    want_normals = settings.normals and settings.engine != "workbench"
    layer.use_pass_normal = want_normals
    _file_outputs(scene, tmpdir, depth=settings.depth, normals=want_normals)
    return {"depth": settings.depth, "normals": want_normals}


def _configure_cycles(scene: Any, settings: EngineSettings) -> None:
    cyc = scene.cycles
    cyc.samples = settings.samples
    cyc.use_adaptive_sampling = True
    cyc.use_denoising = settings.denoise
    # bounce limits of the common Objaverse render scripts: enough for glossy/transparent objects
    cyc.max_bounces, cyc.diffuse_bounces, cyc.glossy_bounces = 6, 1, 1
    cyc.transparent_max_bounces, cyc.transmission_bounces = 3, 3
    cyc.filter_width = 1.0
    cyc.device = "CPU"
    if settings.device == "gpu":
        prefs = bpy.context.preferences.addons["cycles"].preferences
        for backend in ("OPTIX", "CUDA", "HIP", "ONEAPI", "METAL"):
            try:
                prefs.compute_device_type = backend
            except TypeError:
                continue
            prefs.refresh_devices()
            gpus = [d for d in prefs.devices if d.type == backend]
            if gpus:
                for d in prefs.devices:
                    d.use = d.type == backend
                cyc.device = "GPU"
                break
        else:
            raise RuntimeError("--device gpu: Cycles found no CUDA/OptiX/HIP/oneAPI/Metal device")


def _file_outputs(scene: Any, tmpdir: str, depth: bool, normals: bool) -> None:
    """A compositor node group writing the Depth and Normal passes to `tmpdir` as float EXRs."""
    scene.render.use_compositing = depth or normals
    if not (depth or normals):
        return
    tree = bpy.data.node_groups.new("tk_passes", "CompositorNodeTree")
    scene.compositing_node_group = tree
    layers = tree.nodes.new("CompositorNodeRLayers")
    out = tree.nodes.new("CompositorNodeOutputFile")
    out.directory = tmpdir
    out.file_name = "pass_"
    out.format.media_type = "IMAGE"
    out.format.file_format = "OPEN_EXR"
    out.format.color_depth = "32"
    for name, socket_type, wanted in (("Depth", "FLOAT", depth), ("Normal", "VECTOR", normals)):
        if wanted:
            out.file_output_items.new(socket_type, name)
            tree.links.new(layers.outputs[name], out.inputs[name])


def render_view(tmpdir: str, passes: dict[str, bool]
                ) -> tuple[bytes, np.ndarray | None, np.ndarray | None, float]:
    """Render the current camera: (RGBA PNG, depth (H, W) or None, normals (H, W, 3) or None, seconds rendering)."""
    scene = bpy.context.scene
    png_path = os.path.join(tmpdir, "rgba.png")
    scene.render.filepath = png_path
    t0 = time.perf_counter()
    bpy.ops.render.render(write_still=True)
    seconds = time.perf_counter() - t0
    with open(png_path, "rb") as f:
        png = strip_png_metadata(f.read())
    depth = _read_exr(os.path.join(tmpdir, "pass_Depth.exr"))[..., 0] if passes["depth"] else None
    normal = _read_exr(os.path.join(tmpdir, "pass_Normal.exr"))[..., :3] if passes["normals"] else None
    return png, depth, normal, seconds


def _read_exr(path: str) -> np.ndarray:
    """Float pixels (H, W, C) of an EXR, row 0 at the top; the file is removed after reading."""
    img = bpy.data.images.load(path, check_existing=False)
    try:
        img.colorspace_settings.is_data = True  # raw values: no colour transform on passes
        w, h, c = img.size[0], img.size[1], img.channels
        buf = np.empty(w * h * c, dtype=np.float32)
        img.pixels.foreach_get(buf)
    finally:
        bpy.data.images.remove(img)
    os.remove(path)
    return buf.reshape(h, w, c)[::-1].copy()


def set_camera(c2w: np.ndarray, fovy_deg: float, width: int, height: int) -> None:
    """Place the scene camera: c2w in Blender's camera convention and the vertical field of view."""
    from mathutils import Matrix

    scene = bpy.context.scene
    cam = scene.camera
    if cam is None:
        cam = bpy.data.objects.new("tk_camera", bpy.data.cameras.new("tk_camera"))
        scene.collection.objects.link(cam)
        scene.camera = cam
    cam.data.sensor_fit = "VERTICAL"
    cam.data.angle_y = math.radians(fovy_deg)
    cam.data.shift_x = cam.data.shift_y = 0.0
    cam.data.clip_start, cam.data.clip_end = 0.01, CLIP_END
    cam.matrix_world = Matrix(np.asarray(c2w, dtype=np.float64).reshape(4, 4).tolist())
