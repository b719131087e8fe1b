"""One framing rule (tk.framing) for renders, training inputs and `tk infer`; never train on a cut input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tk import framing
from tk.train.config import DataConfig
from tk.train.data import SampleSpec, build_sample, decode_rgba, input_framing
from tk.train.shards import RowReader, ShardIndex


def _alphas(renders: Path) -> list[np.ndarray]:
    index = ShardIndex(str(renders))
    reader = RowReader(index)
    return [decode_rgba(reader.rgba_bytes(o, o.views[p]))[..., 3] for o in index.objects for p in o.input_views]


def test_no_input_view_of_the_real_renders_touches_the_border(renders: Path) -> None:
    """The fixture is rendered with the default cameras: every input candidate holds the whole object."""
    alphas = _alphas(renders)
    assert len(alphas) >= 16
    assert sum(framing.touches_border(a) for a in alphas) == 0
    record = input_framing(ShardIndex(str(renders)))
    assert record["touching_border"] == 0 and record["inputs_measured"] == len(alphas)
    assert 0.2 < record["fill_p10"] <= record["foreground_ratio"] <= record["fill_p90"] < 0.95


def test_a_cut_input_is_redrawn_and_an_object_with_only_cut_inputs_is_skipped(renders: Path, monkeypatch) -> None:
    from tk.train import data

    index = ShardIndex(str(renders))
    reader = RowReader(index)
    spec = SampleSpec(DataConfig(views=2, patch_size=16, num_workers=0), cond_image_size=64)
    ref = index.objects[0]
    cut = {ref.input_views[0], ref.input_views[1]}
    real = data.decode_rgba

    def decode(payload, where=""):  # views `cut` get an object pixel in the top-left corner
        rgba = real(payload, where)
        if any(f"view {ref.views[p].view})" in where for p in cut):
            rgba = rgba.copy()
            rgba[0, 0, 3] = 1.0
        return rgba

    monkeypatch.setattr(data, "decode_rgba", decode)
    redraws = []
    for epoch in range(12):
        sample = build_sample(ref, reader, spec, epoch)
        assert sample is not None
        redraws.append(sample["input_redraws"])
        # the input view is never one of the cut ones: its corner pixel is grey background
        assert float(sample["input"][0, 0, 0]) == pytest.approx(0.5, abs=1e-3)
    assert max(redraws) >= 1  # some epochs drew a cut view first and drew again
    cut |= set(ref.input_views)
    assert build_sample(ref, reader, spec, 0) is None


def test_infer_frames_a_user_image_like_the_training_inputs(renders: Path, tmp_path: Path) -> None:
    """`tk infer` crops to the median fill recorded in framing.json: the object's size after preprocessing lies
    inside the training inputs' distribution (the official 0.85 does not: the inputs fill far less)."""
    from tk.model.preprocess import prepare_rgba

    record = input_framing(ShardIndex(str(renders)))
    (tmp_path / framing.FRAMING_FILE).write_text(json.dumps(record))
    ratio, source = framing.read_ratio(tmp_path)
    assert ratio == record["foreground_ratio"] and "framing.json" in source
    for alpha in _alphas(renders)[:8]:
        rgba = np.zeros((*alpha.shape, 4), np.uint8)
        rgba[..., 3] = (alpha * 255).astype(np.uint8)
        image = prepare_rgba(rgba, ratio)
        grey = np.abs(image.astype(int) - 127).sum(-1) > 3  # the object: black pixels on grey
        fill = framing.foreground_fill(grey.astype(float))
        assert record["fill_p10"] - 0.03 <= fill <= record["fill_p90"] + 0.03
    assert framing.OFFICIAL_FOREGROUND_RATIO > record["fill_p90"]
    assert framing.read_ratio(tmp_path / "nowhere") == (0.85, framing.read_ratio(tmp_path / "nowhere")[1])


def test_fit_distance_is_where_the_unit_cube_sphere_fits() -> None:
    assert framing.fit_distance(40.0, fill=1.0) == pytest.approx(2.532, abs=1e-3)  # the d = 2.53
    near, far = framing.default_distance()
    assert near >= framing.fit_distance(40.0) - 0.01 and far > near
