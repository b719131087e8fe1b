"""RenderConfig: every setting of a render job, validated on construction.

Defined once: `tk render`'s options are generated from these fields and release specs are built from them
by tk.sections.build (see docs/design.md, "Configs").
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from tk.errors import TkError
from tk.render import lighting as lights  # a module the tests patch; `lighting` is also a field
from tk.render.cameras import CameraConfig
from tk.sections import setting

_CAMERA = CameraConfig()

ENGINE_NAMES = ("cycles", "eevee", "workbench")


@dataclass(frozen=True)
class EngineSettings:
    """What the worker needs to set up the renderer (a subset of RenderConfig, sent with each job)."""

    engine: str = "cycles"
    samples: int = 64
    denoise: bool = True
    device: str = "cpu"
    threads: int = 0  # 0 = all cores
    depth: bool = True
    normals: bool = True


@dataclass(frozen=True)
class RenderConfig:
    """One `tk render` job. Sources: `manifest` (a `tk curate` folder) or `input_dir` (files).

    Each field is also its `tk render` option and its release-spec key (tk.sections.setting): help,
    option name and default are written here only.
    """

    out: str = setting(help="output folder: shards/, objects.parquet, render.json", run_only=True)
    manifest: str | None = setting(None, "a `tk curate` output folder (kept rows with a local_path)", argument=True,
                                   run_only=True)
    input_dir: str | None = setting(None, "render the 3D files of this folder instead", cli="--input", run_only=True)
    views: int = setting(12, "views per object")
    resolution: int = setting(512, "image width and height in pixels")
    engine: str = setting("cycles", "cycles | eevee | workbench")
    samples: int = setting(64, "samples per pixel (Cycles, EEVEE)")
    denoise: bool = setting(True, "Cycles denoising (OpenImageDenoise)")
    device: str = setting("cpu", "cpu | gpu (Cycles with CUDA/OptiX/HIP when present)")
    lighting: str = setting("mixed", "mixed | hdri | sky | studio | uniform")
    # one draw per object; "view" contradicts TripoSR's view-independent colour
    lighting_per: str = setting("object", "draw lighting once per 'object' (for TripoSR) or per 'view' "
                                "(view-dependent models only)")
    hdri_dir: str | None = setting(None, "folder of .exr/.hdr maps (default: Blender's bundled CC0 set)")
    seed: int = setting(0, "seed of cameras and lighting")
    split_seed: int = setting(0, "seed of the train/val/test split for --input files")
    # the camera ranges' defaults are CameraConfig's (the input camera's fovy, tk.framing's distance): written once
    fovy_deg: tuple[float, float] = setting(_CAMERA.fovy_deg,
                                            "vertical field of view in degrees, or MIN,MAX", cli="--fovy", span=True)
    distance: tuple[float, float] = setting(_CAMERA.distance, "camera distance MIN,MAX (object's longest side is 1; "
                                            "the default never cuts it at fovy 40)", span=True)
    elevation_deg: tuple[float, float] = setting(_CAMERA.elevation_deg, "camera elevation MIN,MAX in degrees",
                                                 cli="--elevation", span=True)
    orbit: bool = setting(False, "evenly spaced orbit views instead of random ones (evaluation)")
    depth: bool = setting(True, "store the depth pass")
    normals: bool = setting(True, "store the world-normal pass")
    # or "auto": as many as the cluster has room for (tk.render.placement)
    workers: int | str = setting(1, "parallel Blender workers (Ray actors), or auto: as many as fit the cluster",
                                 run_only=True)
    threads: int = setting(0, "CPUs each worker reserves and renders with (0: cores split between workers; 1 with "
                           "--workers auto)", run_only=True)
    timeout: float = setting(300.0, "seconds per object before its worker is killed", run_only=True)
    retries: int = setting(2, "retries of an object whose worker crashed or hung", run_only=True)
    max_memory_gb: float = setting(16.0, "kill a worker above this resident memory (0: no limit)", run_only=True)
    max_file_mb: float = setting(1024.0, "fail files bigger than this without importing them (0: no limit)",
                                 run_only=True)
    address: str | None = setting(None, "join this Ray cluster (e.g. auto or HOST:6379)", run_only=True)
    objects_per_shard: int = setting(64, "objects per shard file", run_only=True)
    limit: int | None = setting(None, "render at most this many objects", run_only=True)

    def __post_init__(self) -> None:
        """Check the values together (nothing on disk: `check_folders` and `hdri_paths` read it, in `run`)."""
        if (self.manifest is None) == (self.input_dir is None):
            raise TkError("give either a MANIFEST_DIR (from `tk curate`) or --input DIR, not both or neither")
        checks = [
            (self.views >= 1, f"--views {self.views}: must be at least 1"),
            (8 <= self.resolution <= 8192, f"--resolution {self.resolution}: expected 8..8192 pixels"),
            (self.engine in ENGINE_NAMES, f"--engine {self.engine!r}: choose one of {', '.join(ENGINE_NAMES)}"),
            (self.samples >= 1, f"--samples {self.samples}: must be at least 1"),
            (self.device in ("cpu", "gpu"), f"--device {self.device!r}: choose cpu or gpu"),
            (self.workers == "auto" or (isinstance(self.workers, int) and self.workers >= 1),
             f"--workers {self.workers}: must be at least 1, or auto"),
            (self.threads >= 0, f"--threads {self.threads}: must be 0 (auto) or more"),
            (self.timeout > 0, f"--timeout {self.timeout}: must be positive seconds"),
            (self.retries >= 0, f"--retries {self.retries}: must be 0 or more"),
            (self.max_memory_gb >= 0, f"--max-memory-gb {self.max_memory_gb}: must be 0 (no limit) or more"),
            (self.max_file_mb >= 0, f"--max-file-mb {self.max_file_mb}: must be 0 (no limit) or more"),
            (self.objects_per_shard >= 1, f"objects per shard {self.objects_per_shard}: must be at least 1"),
            (self.limit is None or self.limit >= 0, f"--limit {self.limit}: must be 0 or more"),
            (self.device == "cpu" or self.engine == "cycles", "--device gpu works with --engine cycles only"),
        ]
        for ok, msg in checks:
            if not ok:
                raise TkError(msg)
        # the sub-configs' own checks run before any work starts
        self.camera_config()
        lights.check_preset(self.lighting, self.lighting_per)

    def check_folders(self) -> None:
        """The input folder exists (a disk check: `run` makes it before any work)."""
        src = self.manifest or self.input_dir
        if not Path(str(src)).is_dir():
            raise TkError(f"{src}: not a folder; give a `tk curate` output folder or a folder of 3D files")

    def camera_config(self) -> Any:
        """The camera ranges as a tk.render.cameras.CameraConfig."""
        return CameraConfig(fovy_deg=tuple(self.fovy_deg), distance=tuple(self.distance),
                            elevation_deg=tuple(self.elevation_deg), orbit=self.orbit)

    def hdri_paths(self) -> dict[str, str]:
        """Environment maps by the name the `light` column records: relative to --hdri-dir, or bundled/NAME.

        Reads the folder: `run` lists it once and hands the list to every job (`make_job`) and to `settings`."""
        if self.hdri_dir is None:
            return {f"bundled/{p.name}": str(p) for p in lights.find_hdris(None)}
        root = Path(self.hdri_dir)
        return {p.relative_to(root).as_posix(): str(p.resolve()) for p in lights.find_hdris(root)}

    def lighting_config(self, hdri_paths: dict[str, str]) -> Any:
        """The lighting preset as a tk.render.lighting.LightingConfig over the listed environment maps."""
        return lights.LightingConfig(preset=self.lighting, per=self.lighting_per, hdris=tuple(sorted(hdri_paths)))

    def engine_settings(self) -> Any:
        """What the worker needs to set up the renderer."""
        return EngineSettings(engine=self.engine, samples=self.samples, denoise=self.denoise, device=self.device,
                              threads=self.worker_threads(), depth=self.depth, normals=self.normals)

    def worker_threads(self) -> int:
        """Render threads per worker: the cores split evenly between workers unless set."""
        if self.threads:
            return self.threads
        return max(1, (os.cpu_count() or 1) // (self.workers if isinstance(self.workers, int) else 1))

    def settings(self, hdri_paths: dict[str, str]) -> dict[str, Any]:
        """The settings that decide the output (render.json), with the listed environment maps; a resumed job must
        match them."""
        d = asdict(self)
        for f in fields(self):
            if f.metadata.get("run_only"):
                d.pop(f.name)
        d["fovy_deg"], d["distance"], d["elevation_deg"] = (list(d[k]) for k in ("fovy_deg", "distance", "elevation_deg"))
        d["hdris"] = sorted(hdri_paths)
        return d

    @classmethod
    def field_names(cls) -> list[str]:
        """Names of all settings (the CLI freeze test uses it)."""
        return [f.name for f in fields(cls)]
