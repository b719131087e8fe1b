"""The bpy worker: renders one object per job, in this process (`render_object`) or as a persistent
subprocess (`python -m tk.render.worker`) that imports bpy once and serves jobs from its stdin.

Protocol (subprocess): each message is an 8-byte little-endian length and a pickle; jobs arrive on stdin,
results leave on the original stdout, and the process's own fd 1 is pointed at stderr so Blender's
chatter cannot corrupt the stream. The parent (tk.render.process) owns the timeout and the kill.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import struct
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator
from typing import Any, BinaryIO
from tk.contracts import renders
from tk.render import encode, surface
from tk.render.config import EngineSettings

# Set by tests only, for files whose name contains NAME: "abort=NAME" calls os.abort(), "segv=NAME" segfaults,
# "hang=NAME" sleeps forever, "hog=NAME" allocates memory until killed; hooks are separated by ';'.
TEST_HOOK_ENV = "TK_RENDER_TEST_HOOK"


def render_object(job: dict[str, Any]) -> dict[str, Any]:
    """Import, normalise and render every view of one object; errors become a failed result, never raise."""
    import bpy  # noqa: F401  (imported here so importing this module stays cheap)

    from tk.render import passes, scene, world

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


def _test_hook(path: str) -> None:
    for hook in filter(None, os.environ.get(TEST_HOOK_ENV, "").split(";")):
        action, _, name = hook.partition("=")
        if name and name in os.path.basename(path):
            if action == "abort":
                os.abort()
            if action == "segv":
                import ctypes

                ctypes.string_at(0)  # a segmentation fault, as a crashing importer gives
            if action == "hang":
                time.sleep(10**6)
            if action == "hog":
                hoard = []
                while True:
                    hoard.append(bytearray(b"\x01") * 2**26)  # 64 MiB a step, written, so it is resident
                    time.sleep(0.02)


def read_message(stream: BinaryIO) -> Any:
    """One length-prefixed pickle from `stream`; None at end of stream."""
    head = stream.read(8)
    if len(head) < 8:
        return None
    (n,) = struct.unpack("<Q", head)
    return pickle.loads(stream.read(n))


def write_message(stream: BinaryIO, obj: Any) -> None:
    """Write one length-prefixed pickle and flush."""
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(struct.pack("<Q", len(data)) + data)
    stream.flush()


THREADS_ENV = "TK_RENDER_WORKER_THREADS"


@contextlib.contextmanager
def cpu_mask(threads: int) -> Iterator[None]:
    """Import bpy while this process may run on only `threads` CPUs, then give it all of its CPUs back.

    Blender sizes its task-scheduler (TBB) pool from the CPUs it may use when bpy is imported; Cycles'
    `threads` setting limits the render threads only. Two 1-thread workers on 2 cores otherwise each
    keep a 2-thread pool whose idle threads spin, and measured here each object took 1.7x longer.
    The mask is widened again right away, so the OS still places the worker on any free core (no
    pinning, which would collide when several jobs or Ray actors share a node).
    """
    full = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else set()
    if not 0 < threads < len(full):  # unset, or no fewer than the CPUs there are: nothing to narrow
        yield
        return
    os.sched_setaffinity(0, set(sorted(full)[:threads]))
    try:
        yield
    finally:
        for tid in os.listdir("/proc/self/task"):  # threads Blender started inherited the narrow mask
            try:
                os.sched_setaffinity(int(tid), full)
            except OSError:  # a thread that already ended
                pass


def serve() -> None:
    """Serve jobs from stdin until it closes; bpy is imported once, before the first job."""
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # Blender prints to fd 1; keep that out of the result stream
    sys.stdout = sys.stderr
    with cpu_mask(int(os.environ.get(THREADS_ENV, "0"))):
        import bpy  # noqa: F401

    write_message(out, {"ready": True, "pid": os.getpid(), "blender": bpy.app.version_string})
    stdin = sys.stdin.buffer
    while True:
        job = read_message(stdin)
        if job is None:
            return
        _test_hook(job["path"])
        t0 = time.perf_counter()
        result = encode_result(render_object(job))
        result["seconds"]["worker"] = time.perf_counter() - t0  # import + render + encode: the worker's wall time
        write_message(out, result)


if __name__ == "__main__":
    serve()
