"""The render job: one object imported, normalised and rendered, in this process (`render_object`) or as the
`render` job type (`RENDER_JOB`, `run_job`) of the persistent Blender worker (tk.blender.serve), which imports bpy
once and serves jobs from its stdin; the parent (tk.blender.process) owns the timeout, the memory cap and the kill.
"""

from __future__ import annotations

import sys
import tempfile
import time
import traceback
from typing import Any

from tk.contracts import renders
from tk.render import encode, surface
from tk.render.config import EngineSettings

RENDER_JOB = "tk.render.worker:run_job"  # the job type tk.blender.serve runs for a render job (make_job sets it)


def render_object(job: dict[str, Any]) -> dict[str, Any]:
    """Import, normalise and render every view of one object; errors become a failed result, never raise."""
    from tk.render import passes, scene, world  # bpy, imported here so importing this module stays cheap

    t0 = time.perf_counter()
    result: dict[str, Any] = {"uid": job["uid"], "ok": False, "error": None, "center": None, "scale": None,
                              "missing_textures": [], "surface": None, "views": [], "seconds": {}}
    with tempfile.TemporaryDirectory(prefix="tk-render-") as tmpdir:
        try:
            scene.reset_scene(job["file_type"])
            scene.import_file(job["path"], job["file_type"])
            scene.strip_scene()
            scene.viewport_as_render()
            result["missing_textures"] = scene.missing_textures()
            result["center"], result["scale"] = scene.normalise()
            # the ground truth of `tk eval`: the normalised geometry the views below show
            result["surface"] = surface.sample_scene(job["surface_points"], job["surface_seed"])
            t_import = time.perf_counter()
            settings = EngineSettings(**job["engine"])
            enabled = passes.configure(settings, job["width"], job["height"], tmpdir)
            t_render = 0.0
            for v in job["views"]:
                passes.set_camera(v["c2w"], v["fovy_deg"], job["width"], job["height"])
                world.apply_lighting(v["light"], job["hdri_paths"])
                png, depth, normal, seconds = passes.render_view(tmpdir, enabled)
                t_render += seconds
                result["views"].append({"view": v["view"], "rgba": png, "depth": depth, "normal": normal})
            result["ok"] = True
            scene.mark_clean()
            result["seconds"] = {"import": t_import - t0, "render": t_render}
        except scene.ImportFailed as e:
            result["error"] = str(e)
        except Exception as e:  # a bug or a Blender error on this object must not end the job
            result["error"] = f"render failed: {type(e).__name__}: {e}"[:500]
            traceback.print_exc(file=sys.stderr)
        finally:
            result["seconds"]["total"] = time.perf_counter() - t0
    if not result["ok"]:
        result["views"], result["surface"] = [], None
    return result


def encode_result(result: dict[str, Any]) -> dict[str, Any]:
    """Turn a result's depth/normal/surface arrays into the contract's bytes (done in the worker, in parallel).

    A view whose mask is empty is never `ok`: the object fails, naming the views (the mask is what training
    learns from, so an object that vanished in the renderer must not pass as rendered).
    """
    if result.get("surface") is not None:
        result["surface"] = renders.encode_surface(result["surface"])
    empty = []
    for v in result["views"]:
        alpha = renders.decode_rgba_u8(v["rgba"])[..., 3]
        if not alpha.any():
            empty.append(v["view"])
        v["depth"] = None if v["depth"] is None else encode.encode_depth(v["depth"], alpha)
        v["normal"] = None if v["normal"] is None else encode.encode_normal(v["normal"], alpha)
    if result["ok"] and empty:
        names = ", ".join(str(i) for i in empty)
        result.update(ok=False, views=[], surface=None, error=f"view{'s' if len(empty) > 1 else ''} {names} of {len(result['views'])} "
                                                f"{'have' if len(empty) > 1 else 'has'} an empty mask (nothing of the object is visible)")
    return result


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    """The `render` job type: render and encode one object; its wall time in the worker as `seconds.worker`."""
    t0 = time.perf_counter()
    result = encode_result(render_object(job))
    result["seconds"]["worker"] = time.perf_counter() - t0  # import + render + encode: the worker's wall time
    return result
