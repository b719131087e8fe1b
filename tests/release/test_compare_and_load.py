"""compare: a copy is equal; a changed camera fails; a small image change passes at >= 40 dB, a large one fails.
Shards load with pyarrow, DuckDB and `datasets`."""

from __future__ import annotations

import io
import json
import shutil

import numpy as np
import pyarrow as pa
import pytest
from PIL import Image

from tests.release.synthetic import SIZE, png
from tk import contracts
from tk.contracts import release as layout
from tk.contracts import renders
from tk.release.compare import compare_releases, psnr

SHARD = "renders/shards/shard-00000.parquet"


def _by_what(rows):
    return {r.what: r for r in rows}


def _edit_view(root, edit):
    path = root / SHARD
    rows = contracts.read_table(path, contracts.SHARD).to_pylist()
    edit(rows[0])
    contracts.write_table(path, pa.Table.from_pylist(rows), contracts.SHARD)


def test_copy_compares_equal(synthetic_release_master, tmp_path):
    copy = shutil.copytree(synthetic_release_master, tmp_path / "copy")
    rows = compare_releases(synthetic_release_master, copy)
    assert all(r.ok for r in rows), rows
    assert _by_what(rows)["rgba"].equal == 6 and _by_what(rows)["manifest"].equal == 4


def test_changed_camera_is_a_mismatch(synthetic_release_master, tmp_path):
    copy = shutil.copytree(synthetic_release_master, tmp_path / "copy")
    _edit_view(copy, lambda r: r.update(fx=r["fx"] + 0.5))
    row = _by_what(compare_releases(synthetic_release_master, copy))["cameras"]
    assert not row.ok and row.equal == 5


def test_image_noise_is_judged_by_psnr(synthetic_release_master, tmp_path):
    def nudge(level):
        def edit(r):
            img = np.asarray(Image.open(io.BytesIO(r["rgba"]))).copy()
            img[0, 0, 0] = min(255, int(img[0, 0, 0]) + level)
            r["rgba"] = png(img)
        return edit

    small = shutil.copytree(synthetic_release_master, tmp_path / "small")
    _edit_view(small, nudge(3))  # one channel of one pixel off by 3/255: ~60 dB
    row = _by_what(compare_releases(synthetic_release_master, small))["rgba"]
    assert row.ok and row.equal == 5 and row.worst.startswith("min ") and row.worst.endswith(" dB")
    big = shutil.copytree(synthetic_release_master, tmp_path / "big")
    _edit_view(big, lambda r: r.update(rgba=png(np.full((SIZE, SIZE, 4), 255, np.uint8))))
    assert not _by_what(compare_releases(synthetic_release_master, big))["rgba"].ok


def test_reencoded_png_with_same_pixels_is_equal(synthetic_release_master, tmp_path):
    copy = shutil.copytree(synthetic_release_master, tmp_path / "copy")

    def reencode(r):
        img = Image.open(io.BytesIO(r["rgba"]))
        buf = io.BytesIO()
        img.save(buf, format="PNG", compress_level=1)
        assert buf.getvalue() != r["rgba"]
        r["rgba"] = buf.getvalue()

    _edit_view(copy, reencode)
    row = _by_what(compare_releases(synthetic_release_master, copy))["rgba"]
    assert row.ok and row.equal == 6 and row.worst == "all equal" and row.note == "1 re-encoded"


def test_surfaces_are_compared_within_a_tolerance(synthetic_release_master, tmp_path):
    copy = shutil.copytree(synthetic_release_master, tmp_path / "copy")
    row = _by_what(compare_releases(synthetic_release_master, copy))["surface"]
    assert row.ok and (row.compared, row.equal, row.worst) == (3, 3, "all equal")

    def shift(by):
        def edit(r):
            points, normals = renders.decode_surface(r["surface"])
            r["surface"] = renders.encode_surface(np.concatenate([points + by, normals], 1))
        return edit

    rounding = shutil.copytree(synthetic_release_master, tmp_path / "rounding")
    _edit_view(rounding, shift(5e-4))  # a float16 step or two: what another CPU's rounding may give
    row = _by_what(compare_releases(synthetic_release_master, rounding))["surface"]
    assert row.ok and row.equal == 2 and row.worst.startswith("max diff ")
    moved = shutil.copytree(synthetic_release_master, tmp_path / "moved")
    _edit_view(moved, shift(0.05))
    row = _by_what(compare_releases(synthetic_release_master, moved))["surface"]
    assert not row.ok and row.equal == 2 and float(row.worst.split()[-1]) == pytest.approx(0.05, rel=0.05)
    gone = shutil.copytree(synthetic_release_master, tmp_path / "gone")
    _edit_view(gone, lambda r: r.update(surface=None))
    row = _by_what(compare_releases(synthetic_release_master, gone))["surface"]
    assert not row.ok and row.equal == 2 and row.worst == "missing or other size"


def test_psnr_of_known_error():
    x = np.zeros((10, 10))
    assert np.isclose(psnr(x, x + 0.1), 20.0)


def test_shards_load_with_common_readers(synthetic_release_master, tmp_path, monkeypatch):
    # Offline, and nothing written into $HOME: datasets reads these when it is first imported.
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    import duckdb
    import pyarrow.dataset as ds
    from datasets import load_dataset

    shards = synthetic_release_master / "renders" / "shards"
    table = ds.dataset(shards, format="parquet").to_table()
    assert table.num_rows == 6 and table.schema.field("c2w").type == pa.list_(pa.float32(), 16)
    n = duckdb.sql(f"SELECT count(DISTINCT uid) FROM '{shards}/*.parquet' WHERE view = 1").fetchall()[0][0]
    assert n == 3
    data = load_dataset("parquet", data_files={"train": str(shards / "*.parquet")}, cache_dir=str(tmp_path / "hf"))["train"]
    assert len(data) == 6
    first = data[0]
    img = Image.open(io.BytesIO(first["rgba"]))
    assert img.size == (SIZE, SIZE) and img.mode == "RGBA" and len(first["c2w"]) == 16
    assert layout.shards(synthetic_release_master)[0].name == "shard-00000.parquet"


def test_rebuild_table_exits_1_on_mismatch(synthetic_release_master, tmp_path, capsys):
    import pytest
    import typer

    from tk.release.build import BuildResult
    from tk.release.cli import print_rebuild
    from tk.release.rebuild import RebuildResult

    copy = shutil.copytree(synthetic_release_master, tmp_path / "copy")
    _edit_view(copy, lambda r: r.update(light=json.dumps({"environment": "city"})))
    result = RebuildResult(BuildResult(copy, {}, 0), compare_releases(synthetic_release_master, copy),
                           [("tk", "0.1.0", "0.1.0")])
    with pytest.raises(typer.Exit) as e:
        print_rebuild(result, synthetic_release_master)
    assert e.value.exit_code == 1
    err = capsys.readouterr().err
    assert "MISMATCH" in err and "rebuild differs from the release: lights" in err
