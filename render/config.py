"""RenderConfig: every setting of a render job, validated on construction; the CLI maps its options onto it."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from tk.errors import TkError
from tk.geometry import INPUT_FOVY_DEG

ENGINE_NAMES = ("cycles", "eevee", "workbench")
# settings that change what is rendered; a resumed job must use the same ones (render.json)
RUN_ONLY = ("workers", "timeout", "retries", "address", "threads", "limit", "out", "manifest", "input_dir",
            "objects_per_shard", "max_memory_gb", "max_file_mb")


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


@dataclass
class RenderConfig:
    """One `tk render` job. Sources: `manifest` (a `tk curate` folder) or `input_dir` (files)."""

    out: str
    manifest: str | None = None
    input_dir: str | None = None
    views: int = 12
    resolution: int = 512
    engine: str = "cycles"
    samples: int = 64
    denoise: bool = True
    device: str = "cpu"
    lighting: str = "mixed"
    lighting_per: str = "object"  # one draw per object; "view" contradicts TripoSR's view-independent colour
    hdri_dir: str | None = None
    seed: int = 0
    split_seed: int = 0
    fovy_deg: tuple[float, float] = (INPUT_FOVY_DEG, INPUT_FOVY_DEG)
    distance: tuple[float, float] = (2.66, 3.06)  # tk.framing.default_distance(): no view cuts the object
    elevation_deg: tuple[float, float] = (-10.0, 45.0)
    orbit: bool = False
    depth: bool = True
    normals: bool = True
    workers: int | str = 1  # or "auto": as many as the cluster has room for (tk.render.placement)
    threads: int = 0  # per worker; 0 = the machine's cores split evenly between workers
    timeout: float = 300.0
    retries: int = 2
    max_memory_gb: float = 16.0  # per worker; 0 = no limit
    max_file_mb: float = 1024.0  # bigger files fail without being imported; 0 = no limit
    address: str | None = None
    objects_per_shard: int = 64
    limit: int | None = None

    def __post_init__(self) -> None:
        if (self.manifest is None) == (self.input_dir is None):
            raise TkError("give either a MANIFEST_DIR (from `tk curate`) or --input DIR, not both or neither")
        src = self.manifest or self.input_dir
        if not Path(str(src)).is_dir():
            raise TkError(f"{src}: not a folder; give a `tk curate` output folder or a folder of 3D files")
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
        if self.hdri_dir is not None and not Path(self.hdri_dir).is_dir():
            raise TkError(f"--hdri-dir {self.hdri_dir}: not a folder")
        # build both sub-configs now so their own validation runs before any work starts
        self.camera_config()
        self.lighting_config()

    def camera_config(self) -> Any:
        """The camera ranges as a tk.render.cameras.CameraConfig."""
        from tk.render.cameras import CameraConfig

        return CameraConfig(fovy_deg=tuple(self.fovy_deg), distance=tuple(self.distance),
                            elevation_deg=tuple(self.elevation_deg), orbit=self.orbit)

    def hdri_paths(self) -> dict[str, str]:
        """Environment maps by the name the `light` column records: relative to --hdri-dir, or bundled/NAME."""
        from tk.render.lighting import find_hdris

        if self.hdri_dir is None:
            return {f"bundled/{p.name}": str(p) for p in find_hdris(None)}
        root = Path(self.hdri_dir)
        return {p.relative_to(root).as_posix(): str(p.resolve()) for p in find_hdris(root)}

    def lighting_config(self) -> Any:
        """The lighting preset as a tk.render.lighting.LightingConfig."""
        from tk.render.lighting import LightingConfig

        return LightingConfig(preset=self.lighting, per=self.lighting_per, hdris=tuple(sorted(self.hdri_paths())))

    def engine_settings(self) -> Any:
        """What the worker needs to set up the renderer."""
        return EngineSettings(engine=self.engine, samples=self.samples, denoise=self.denoise, device=self.device,
                              threads=self.worker_threads(), depth=self.depth, normals=self.normals)

    def worker_threads(self) -> int:
        """Render threads per worker: the cores split evenly between workers unless set."""
        if self.threads:
            return self.threads
        return max(1, (os.cpu_count() or 1) // (self.workers if isinstance(self.workers, int) else 1))

    def settings(self) -> dict[str, Any]:
        """The settings that decide the output (render.json); a resumed job must match them."""
        d = asdict(self)
        for k in RUN_ONLY:
            d.pop(k, None)
        d["fovy_deg"], d["distance"], d["elevation_deg"] = (list(d[k]) for k in ("fovy_deg", "distance", "elevation_deg"))
        d["hdris"] = sorted(self.hdri_paths())
        return d

    @classmethod
    def field_names(cls) -> list[str]:
        """Names of all settings (the CLI freeze test uses it)."""
        return [f.name for f in fields(cls)]
