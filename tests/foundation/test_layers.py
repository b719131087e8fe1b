"""The floors of the house (issue 24, docs/design.md "Layers"): the core at the bottom, the stages above it, the
products (release, demo) above the stages, the command line on top. A module imports only from its own floor or
below, and no modules import each other in a circle; read from the source, imports inside functions included."""

from __future__ import annotations

from tests.foundation.imports import Edge, cycles, edges, package_roots

STAGES = ("curate", "render", "model", "train")
PRODUCTS = ("release", "demo")
ENTRY = ("cli", "__main__")
STAGE_USES = {"train": {"model"}}  # the trainer trains the model; no other stage imports another


def floor(module: str) -> tuple[int, str]:
    """(height, room) of a tk module: 0 core, 1 a stage, 2 a product, 3 the command line."""
    part = module.split(".")[1] if module.count(".") else ""
    if part in STAGES:
        return 1, part
    if part in PRODUCTS:
        return 2, part
    if part in ENTRY:
        return 3, part
    return 0, "core"


def test_setup_maps_every_floor_to_its_folder():
    roots = package_roots()
    assert set(roots) == {"tk", *(f"tk.{s}" for s in STAGES), *(f"tk.{p}" for p in PRODUCTS)}
    assert all(roots[f"tk.{p}"] == f"products/{p}" for p in PRODUCTS)  # the products stand apart, on top


def test_no_import_cycles():
    assert cycles(edges()) == []


def test_cycle_finder_finds_one():
    ring = [Edge("a", "b", 1, False), Edge("b", "c", 1, True), Edge("c", "a", 1, False), Edge("c", "d", 1, False)]
    assert cycles(ring) == [["a", "b", "c"]]


def test_each_floor_imports_only_from_below():
    wrong = []
    for e in edges():
        if not (e.source.startswith("tk") and e.target.startswith("tk")):
            continue  # bench/ stands outside the package: it may use any floor
        (h_src, room_src), (h_dst, room_dst) = floor(e.source), floor(e.target)
        if h_dst > h_src or (h_dst == h_src == 1 and room_dst != room_src
                             and room_dst not in STAGE_USES.get(room_src, ())):
            wrong.append(f"{e.source}:{e.line} imports {e.target} ({room_src} -> {room_dst})")
    assert wrong == []


def test_the_package_does_not_import_bench():
    assert [f"{e.source}:{e.line}" for e in edges() if e.source.startswith("tk") and e.target.startswith("bench")] == []



def test_imports_inside_functions_are_only_for_heavy_engines():
    """Imports at the top say what a module stands on; one inside a function is kept only for a module whose import
    starts a heavy engine (torch, bpy, ray, trimesh, matplotlib), so `tk --help` and each stage stay cheap."""
    from tests.foundation.imports import heavy_modules

    heavy = heavy_modules()
    lazy = [f"{e.source}:{e.line} {e.target}" for e in edges()
            if e.lazy and e.source.startswith("tk") and e.target.startswith("tk") and e.target not in heavy]
    assert lazy == []


def test_heavy_modules_follow_imports():
    from tests.foundation.imports import heavy_modules

    heavy = heavy_modules()
    assert {"tk.render.scene", "tk.train.loop"} <= heavy  # bpy at the top; through torch-importing modules
    assert not {"tk.errors", "tk.formats", "tk.splits", "tk.contracts.tables"} & heavy
