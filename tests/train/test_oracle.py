"""bench/fit's oracle on the real fixture: a triplane optimised directly must explain views it never saw.

This is the consistency check of the whole camera/gauge/target path (render cameras, training geometry, renderer,
loss): if any of them disagreed, a per-object fit could match its training views and still miss held-out ones.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import torch


def test_oracle_triplane_predicts_held_out_views_of_a_fixture_object(renders: Path) -> None:
    from bench.fit.measure import Gauge, score_code
    from bench.fit.oracle import fit_triplane
    from tk.model import load_model_config
    from tk.train import geometry
    from tk.train.data import first_uncut_input
    from tk.train.meshes import stored_surfaces
    from tk.train.shards import RowReader, ShardIndex

    torch.set_num_threads(2)
    index = ShardIndex(str(renders))
    reader = RowReader(index)
    ref = index.objects[0]
    held = [i for i, v in enumerate(ref.views) if v.view >= 6]
    train = [i for i, v in enumerate(ref.views) if v.view < 6]
    pos, _ = first_uncut_input(ref, reader, exclude=[ref.views[i].view for i in held])
    q, s = geometry.canonical_similarity(ref.views[pos].c2w)
    gauge = Gauge(pos, q, s)
    code, renderer, decoder = fit_triplane(load_model_config("cpu"), ref, reader, gauge, train, steps=150, rays=1024)
    surface = stored_surfaces(index, [ref]).get(ref.uid)
    fitted = score_code(renderer, decoder, code, ref, reader, gauge, held, surface)
    blank = score_code(renderer, decoder, torch.zeros_like(code), ref, reader, gauge, held, surface)
    assert fitted["iou"] >= 0.75, fitted
    assert fitted["psnr"] > fitted["white_psnr"] + 1.0, fitted
    assert fitted["fscore@0.1"] >= 0.8, fitted
    assert blank["iou"] < 0.3  # a triplane that learned nothing scores low on the same measure
    # the oracle's planes are the model's own: 32 texels for cpu, 16 with bench.fit --upsample-factor 2
    cfg = load_model_config("cpu")
    cfg2 = replace(cfg, post_processor=replace(cfg.post_processor, upsample_factor=2))
    assert code.shape == (3, 16, 32, 32)
    assert fit_triplane(cfg2, ref, reader, gauge, train, steps=1, rays=64)[0].shape == (3, 16, 16, 16)
