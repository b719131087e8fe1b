"""`tk infer` end to end with the tiny reference weights: same density field as the official code, meshes
with vertex colours, turntables, real RGBA renders, and one-line errors for bad inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from tk.cli import main

RENDERS = Path(__file__).resolve().parents[1] / "data" / "renders"
FAST = ["--turntable-views", "2", "--turntable-size", "24"]


def run(args: list[str], capsys) -> tuple[int, str, str]:
    code = main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_infer_uses_the_official_density_field(tiny_ref_dir, tmp_path, capsys):
    """input.png is already on grey and framed (official --no-remove-bg path): --prepared uses it as is."""
    import trimesh

    from tk.model.mesh import marching_cubes

    code, out, err = run(["infer", str(tiny_ref_dir / "input.png"), "--model", str(tiny_ref_dir), "--out",
                          str(tmp_path), "--prepared", "--resolution", "16", "--save-density", *FAST], capsys)
    assert code == 0, err
    folder = tmp_path / "input"
    grid = torch.load(tiny_ref_dir / "grid.pt", weights_only=True)
    field = np.load(folder / "density.npy")
    np.testing.assert_allclose(field.reshape(-1), grid["density_act"][:, 0].numpy(), rtol=1e-4)
    # the mesh is the isosurface of the official field: same vertices as marching cubes on grid.pt
    ref_verts, ref_faces = marching_cubes(grid["density_act"].view(16, 16, 16).numpy(), 25.0, 0.87)
    mesh = trimesh.load(folder / "mesh.obj", force="mesh", process=False)
    assert len(mesh.vertices) == len(ref_verts) > 0 and len(mesh.faces) == len(ref_faces)
    np.testing.assert_allclose(mesh.vertices, ref_verts, atol=1e-4)
    colours = mesh.visual.vertex_colors[:, :3]
    assert len(np.unique(colours, axis=0)) > 10  # real per-vertex colours, not a constant
    glb = trimesh.load(folder / "mesh.glb", force="mesh", process=False)
    assert len(glb.vertices) == len(ref_verts) and glb.visual.vertex_colors is not None
    gif = Image.open(folder / "turntable.gif")
    assert gif.n_frames == 2 and gif.size == (24, 24)
    assert Image.open(folder / "turntable.png").size == (48, 24)
    assert f"{len(ref_verts)} vertices" in out


def test_infer_on_real_rgba_renders(tiny_ref_dir, tmp_path, capsys):
    """Real Cycles renders from the render stage's fixture (shards contract: rgba = PNG, alpha = mask)."""
    from tk.contracts import SHARD, read_table

    table = read_table(next((RENDERS / "shards").glob("shard-*.parquet")), SHARD)
    rows = table.slice(0, 2).to_pylist()
    paths = []
    for row in rows:
        p = tmp_path / f"{row['uid'][:8]}-{row['view']}.png"
        p.write_bytes(row["rgba"])
        paths.append(str(p))
    code, out, err = run(["infer", *paths, "--model", str(tiny_ref_dir), "--out", str(tmp_path / "out"),
                          "--resolution", "16", "--format", "obj", *FAST], capsys)
    assert code == 0, err
    for p, row in zip(paths, rows):
        folder = tmp_path / "out" / Path(p).stem
        prepared = np.asarray(Image.open(folder / "input.png"))
        assert prepared.shape[0] == prepared.shape[1] and prepared.shape[2] == 3
        # the object is composited on grey: the border is grey 127, the centre is not
        assert (prepared[0] == 127).all() and not (prepared[prepared.shape[0] // 2] == 127).all()
        assert (folder / "mesh.obj").is_file() and (folder / "turntable.gif").is_file()
    assert out.count(" -> ") == 2


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height pixels (a few dozen bytes; Pillow checks the size on open)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


@pytest.mark.parametrize("make, message", [
    (lambda p: Image.new("RGB", (16, 16), (200, 10, 10)).save(p), "has no alpha channel"),
    (lambda p: Image.new("RGBA", (16, 16), (0, 0, 0, 0)).save(p), "alpha channel is empty"),
    (lambda p: p.write_bytes(b"garbage"), "cannot read the image"),
    (lambda p: p.write_bytes(png_header_only(40000, 40000)), "too large to open: Image size (1600000000 pixels)"),  # a decompression bomb
])
@pytest.mark.parametrize("prepared", [False, True])
def test_bad_images_are_one_line(tiny_ref_dir, tmp_path, capsys, make, message, prepared):
    if prepared and "alpha" in message:
        pytest.skip("--prepared images need no alpha")
    path = tmp_path / "bad.png"
    make(path)
    flags = ["--prepared"] if prepared else []
    code, out, err = run(["infer", str(path), "--model", str(tiny_ref_dir), "--out", str(tmp_path / "o"), *flags], capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "bad.png" in lines[0]
    assert not (tmp_path / "o").exists()  # inputs are checked before anything is written


def test_bad_model_folder_and_options_are_one_line(tiny_ref_dir, tmp_path, capsys):
    img = tmp_path / "a.png"
    buf = np.zeros((16, 16, 4), np.uint8)
    buf[4:12, 4:12] = 255
    Image.fromarray(buf).save(img)
    code, _, err = run(["infer", str(img), "--model", str(tmp_path), "--out", str(tmp_path / "o")], capsys)
    assert code == 2 and "no config.yaml" in err and len(err.strip().splitlines()) == 1
    code, _, err = run(["infer", str(img), "--model", str(tiny_ref_dir), "--out", str(tmp_path / "o"),
                        "--format", "fbx"], capsys)
    assert code == 2 and "choose from glb,obj,ply" in err


def test_the_models_own_surface_level_is_the_default(tiny_ref_dir, tmp_path, capsys):
    """A checkpoint's surface.json (the level chosen for it) is what tk infer extracts at without --threshold; an
    explicit --threshold wins; a broken surface.json is one line, not silently the official level."""
    import shutil

    from tk.model.config import read_surface_level, write_surface_level

    model = tmp_path / "model"
    shutil.copytree(tiny_ref_dir, model)
    assert read_surface_level(model)[0] == 25.0
    grid = torch.load(tiny_ref_dir / "grid.pt", weights_only=True)["density_act"].numpy()
    level = float(np.quantile(grid, 0.9))  # a level the field crosses, far from 25
    write_surface_level(model, level, "test: the 90th percentile of the field")
    assert read_surface_level(model) == (level, "surface.json (test: the 90th percentile of the field)")
    args = ["infer", str(tiny_ref_dir / "input.png"), "--model", str(model), "--prepared", "--resolution", "16",
            "--format", "obj", *FAST]
    code, out, err = run([*args, "--out", str(tmp_path / "own")], capsys)
    assert code == 0, err
    assert f"surface at density {level:g} (surface.json (test: the 90th percentile of the field))" in out
    code, out, err = run([*args, "--out", str(tmp_path / "given"), "--threshold", "25"], capsys)
    assert code == 0 and "surface at density 25 (--threshold)" in out
    own = (tmp_path / "own" / "input" / "mesh.obj").read_text().count("\nv ")
    given = (tmp_path / "given" / "input" / "mesh.obj").read_text().count("\nv ")
    assert own != given  # a different level, a different surface
    (model / "surface.json").write_text('{"density_threshold": "low"}')
    code, _, err = run([*args, "--out", str(tmp_path / "bad")], capsys)
    assert code == 2 and "surface.json: not a surface level file" in err and len(err.strip().splitlines()) == 1
    code, _, err = run([*args, "--out", str(tmp_path / "bad"), "--threshold", "0"], capsys)
    assert code == 2 and "--threshold 0 must be above 0" in err
