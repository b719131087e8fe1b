"""DemoConfig: what `tk demo` runs, as two named presets (full: ~10 min on 2 CPU cores; quick: ~2-3 min)."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from pathlib import Path

from tk.errors import TkError
from tk.sections import setting

SAMPLE = Path(__file__).resolve().parents[2] / "manifests" / "sample"
# License-clean sample objects (CC0, CC-BY, MIT): SOURCES.csv credits each one.
FULL_OBJECTS = (
    "objects/bunny.glb",
    "objects/suzi.glb",
    "objects/basketball/basketball.obj",
    "objects/crate/crate.obj",
    "objects/siameseCat/siameseCat.obj",
    "objects/pico-neo3.glb",
)
QUICK_OBJECTS = FULL_OBJECTS[:4]
# Split seed 0 with 80/0/20 fractions puts the bunny (and only it) in `test` for both object sets,
# so the mesh is inferred on a render of an object the model never trained on. The pipeline checks it.
SPLIT = (0.8, 0.0, 0.2)
SPLIT_SEED = 0


# what --quick changes: the same path, smaller (about 2-3 minutes; CI runs it)
QUICK = {"objects": QUICK_OBJECTS, "views": 6, "samples": 4, "train_steps": 60, "mesh_resolution": 48,
         "turntable_views": 4, "turntable_size": 64}


@dataclass(frozen=True)
class DemoConfig:
    """Every setting of one demo run, and the `tk demo` command line (tk.sections.command)."""

    out: Path = setting(Path("demo-out"), "Folder for the pictures, the mesh and the work files.", cli="--out")
    quick: bool = setting(False, "Same path, smaller: 4 objects, 6 views, 60 steps (~2-3 min); options given "
                          "beside it win.", cli="--quick")
    objects: tuple[str, ...] = setting(FULL_OBJECTS, "Sample objects, as paths under manifests/sample.")
    views: int = setting(12, "Views rendered per object.")
    resolution: int = setting(64, "Render size in pixels: the model's input size.")
    samples: int = setting(16, "Cycles samples per pixel.")
    train_steps: int = setting(1000, "Training steps of the cpu preset (bench/fit measures its full default run), "
                               "cut to fit ~10 minutes.")
    held_out_views: int = setting(2, "The last views of every object, never trained on: the novel views the demo "
                                  "scores.")
    mesh_resolution: int = setting(64, "Marching-cubes grid of the inferred meshes.")
    turntable_views: int = setting(8, "Turntable frames per mesh.")
    turntable_size: int = setting(128, "Turntable frame size in pixels.")
    seed: int = setting(0, "Seed of the renders and the training.")

    def __post_init__(self) -> None:
        if not self.objects:
            raise TkError("the demo needs at least one sample object")
        if self.views < 4 or self.train_steps < 10 or not 1 <= self.held_out_views <= self.views - 2:
            raise TkError("the demo needs at least 4 views per object, 10 training steps and 1..views-2 held-out views")


def resolved(cfg: DemoConfig) -> DemoConfig:
    """With --quick, the QUICK values for every setting left at its full default (a setting given beside --quick
    wins, even one given as its full default: typer cannot tell those apart, so say it in the help)."""
    if not cfg.quick:
        return cfg
    defaults = {f.name: f.default for f in fields(DemoConfig)}
    return replace(cfg, **{k: v for k, v in QUICK.items() if getattr(cfg, k) == defaults[k]})


def check_samples(cfg: DemoConfig) -> None:
    """Every chosen sample object is in the checkout (a disk check: the demo's run makes it, not the config)."""
    missing = [o for o in cfg.objects if not (SAMPLE / o).is_file()]
    if missing:
        raise TkError(f"sample object {missing[0]} not found under {SAMPLE}; is this a full tk checkout?")


def full(out: Path) -> DemoConfig:
    """The default demo: 6 objects x 12 views, 1000 steps of the `cpu` preset (about 10 minutes on 2 CPU cores)."""
    return DemoConfig(out=out)


def quick(out: Path) -> DemoConfig:
    """The same path, smaller: 4 objects x 6 views, 60 steps, a coarse mesh (about 2-3 minutes); CI runs it."""
    return resolved(DemoConfig(out=out, quick=True))
