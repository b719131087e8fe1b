"""Apply a lighting description (from tk.render.lighting) to the Blender scene: world shader and area lamps."""

from __future__ import annotations

import math
from typing import Any

import bpy
import numpy as np
from tk.geometry import look_at


def apply_lighting(light: dict[str, Any], hdri_paths: dict[str, str]) -> None:
    """Replace the scene's world and tk lamps with what `light` describes."""
    scene = bpy.context.scene
    for obj in list(bpy.data.objects):
        if obj.type == "LIGHT" and obj.name.startswith("tk_lamp"):
            bpy.data.objects.remove(obj, do_unlink=True)
    world = scene.world or bpy.data.worlds.new("tk_world")
    scene.world = world
    # Cycles rebuilds the environment's importance map every render call; at the map's own resolution
    # (1024x512 and up) that costs ~1.5 s a view, at 256 about 0.05 s with the same noise at our sample counts
    world.cycles.sampling_method = "MANUAL"
    world.cycles.sample_map_resolution = 256
    _environment(world, light["env"], hdri_paths)
    for i, lamp in enumerate(light["lamps"]):
        _area_lamp(scene, f"tk_lamp{i}_{lamp['role']}", lamp)


def _environment(world: Any, env: dict[str, Any], hdri_paths: dict[str, str]) -> None:
    # a fresh node tree each time, so no node of a previous view's lighting lingers
    tree = world.node_tree
    if tree is None:
        world.use_nodes = True
        tree = world.node_tree
    tree.nodes.clear()
    out = tree.nodes.new("ShaderNodeOutputWorld")
    bg = tree.nodes.new("ShaderNodeBackground")
    bg.inputs["Strength"].default_value = float(env["strength"])
    tree.links.new(bg.outputs["Background"], out.inputs["Surface"])
    if env["type"] == "color":
        bg.inputs["Color"].default_value = (*env["color"], 1.0)
    elif env["type"] == "sky":
        sky = tree.nodes.new("ShaderNodeTexSky")
        sky.sky_type = "SINGLE_SCATTERING"
        sky.sun_elevation = math.radians(env["sun_elevation_deg"])
        sky.sun_rotation = math.radians(env["sun_azimuth_deg"])
        tree.links.new(sky.outputs["Color"], bg.inputs["Color"])
    elif env["type"] == "hdri":
        tex = tree.nodes.new("ShaderNodeTexEnvironment")
        tex.image = _load_hdri(hdri_paths[env["file"]])
        mapping = tree.nodes.new("ShaderNodeMapping")
        mapping.inputs["Rotation"].default_value = (0.0, 0.0, math.radians(env["rotation_deg"]))
        coords = tree.nodes.new("ShaderNodeTexCoord")
        tree.links.new(coords.outputs["Generated"], mapping.inputs["Vector"])
        tree.links.new(mapping.outputs["Vector"], tex.inputs["Vector"])
        tree.links.new(tex.outputs["Color"], bg.inputs["Color"])
    else:
        raise ValueError(f"unknown environment type {env['type']!r}")


def _load_hdri(path: str) -> Any:
    for img in bpy.data.images:  # views of one object share the map: load it once
        if img.filepath == path:
            return img
    return bpy.data.images.load(path, check_existing=True)


def _area_lamp(scene: Any, name: str, lamp: dict[str, Any]) -> None:
    from mathutils import Matrix

    data = bpy.data.lights.new(name, "AREA")
    data.shape = "DISK"
    data.size = float(lamp["size"])
    data.energy = float(lamp["power_w"])
    data.color = tuple(lamp["color"])
    obj = bpy.data.objects.new(name, data)
    scene.collection.objects.link(obj)
    # an area lamp emits along its local -Z, like a camera looks: aim it with the camera's look-at
    obj.matrix_world = Matrix(look_at(np.array(lamp["location"])).tolist())
