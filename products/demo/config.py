"""DemoConfig: what `tk demo` runs, as two named presets (full: ~10 min on 2 CPU cores; quick: ~2-3 min)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tk.errors import TkError

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


@dataclass(frozen=True)
class DemoConfig:
    """Every setting of one demo run."""

    out: Path
    objects: tuple[str, ...] = FULL_OBJECTS
    views: int = 12
    resolution: int = 64  # the `tiny` model's input size
    samples: int = 16
    train_steps: int = 1000  # the `cpu` preset (bench/fit measures its full default run), cut to fit ~10 minutes
    held_out_views: int = 2  # the last views of every object are never trained on: the novel views the demo scores
    mesh_resolution: int = 64
    turntable_views: int = 8
    turntable_size: int = 128
    seed: int = 0
    quick: bool = False

    def __post_init__(self) -> None:
        if not self.objects:
            raise TkError("the demo needs at least one sample object")
        missing = [o for o in self.objects if not (SAMPLE / o).is_file()]
        if missing:
            raise TkError(f"sample object {missing[0]} not found under {SAMPLE}; is this a full tk checkout?")
        if self.views < 4 or self.train_steps < 10 or not 1 <= self.held_out_views <= self.views - 2:
            raise TkError("the demo needs at least 4 views per object, 10 training steps and 1..views-2 held-out views")


def full(out: Path) -> DemoConfig:
    """The default demo: 6 objects x 12 views, 1000 steps of the `cpu` preset (about 10 minutes on 2 CPU cores)."""
    return DemoConfig(out=out)


def quick(out: Path) -> DemoConfig:
    """The same path, smaller: 4 objects x 6 views, 60 steps, a coarse mesh (about 2-3 minutes); CI runs it."""
    return DemoConfig(out=out, objects=QUICK_OBJECTS, views=6, samples=4, train_steps=60, mesh_resolution=48,
                      turntable_views=4, turntable_size=64, quick=True)
