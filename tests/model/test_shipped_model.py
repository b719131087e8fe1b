"""The collection-trained model shipped in the repo (models/sweethome3d-cpu): small, documented, loadable with
strict keys, and what `tk infer` uses without --model, reconstructing a real render of an object it never saw."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from tk.cli import main
from tk.model.infer import SHIPPED_MODEL

RENDERS = Path(__file__).resolve().parents[1] / "data" / "renders"


def test_shipped_model_is_small_documented_and_loads():
    from tk.model import TripoSR

    files = {p.name: p.stat().st_size for p in SHIPPED_MODEL.iterdir()}
    assert {"config.yaml", "model.safetensors", "framing.json", "surface.json", "README.md"} <= set(files)
    assert sum(files.values()) <= 20 * 1024 * 1024
    card = (SHIPPED_MODEL / "README.md").read_text()
    release = json.loads((SHIPPED_MODEL / "release.json").read_text())
    # the command, the config and the release it was trained on, so anyone can make it again
    assert "tk train --config" in card and "python -m bench.generalise" in card
    assert len(release["sha256sums_sha256"]) == 64 and release["name"] == "tk-sweethome3d"
    assert (SHIPPED_MODEL / "train_config.yaml").is_file()
    model = TripoSR.from_pretrained(SHIPPED_MODEL)  # strict keys
    assert sum(p.numel() for p in model.parameters()) < 5_000_000


def test_infer_without_model_uses_the_shipped_one(tmp_path, capsys):
    from tk.contracts import SHARD, read_table

    table = read_table(next((RENDERS / "shards").glob("shard-*.parquet")), SHARD)
    row = table.slice(0, 1).to_pylist()[0]  # a sample object (not furniture): never seen by the collection model
    image = tmp_path / "object.png"
    image.write_bytes(row["rgba"])
    code = main(["infer", str(image), "--out", str(tmp_path / "out"), "--resolution", "48", "--format", "obj",
                 "--turntable-views", "2", "--turntable-size", "32"])
    out = capsys.readouterr().out
    # at the level chosen for it on the collection's validation split (its surface.json), a surface
    level = json.loads((SHIPPED_MODEL / "surface.json").read_text())["density_threshold"]
    assert code == 0 and f"surface at density {level:g} (surface.json (" in out
    vertices = int(out.split(" vertices")[0].rsplit(" ", 1)[-1])
    assert vertices > 0
    assert np.asarray(Image.open(tmp_path / "out" / "object" / "turntable.png")).std() > 0
    # its densities stay below the official level 25 on this object (the card says so): an empty mesh, said so
    code = main(["infer", str(image), "--out", str(tmp_path / "official"), "--resolution", "48", "--format", "obj",
                 "--threshold", "25", "--turntable-views", "2", "--turntable-size", "32"])
    out = capsys.readouterr().out
    assert code == 0 and ("0 vertices" in out and "no density above --threshold 25" in out or " 0 vertices" not in out)
