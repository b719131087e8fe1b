"""The oracle: a triplane optimised directly per object (no encoder), the ceiling of the representation.

It uses tk's own renderer, decoder, loss and shard reader on the same renders and the same gauge as the
trained model, so its held-out scores are the best the model's triplane size can reach on this data, and a
high score proves that cameras, gauge and targets agree with each other.
"""

from __future__ import annotations

from typing import Any

import torch

from bench.fit.measure import Gauge, view_rays
from tk.contracts.renders import composite, decode_rgba
from tk.train.shards import ObjectRef, RowReader


def fit_triplane(model_cfg: Any, ref: ObjectRef, reader: RowReader, gauge: Gauge, train_pos: list[int],
                 steps: int = 400, rays: int = 2048, lambda_mask: float = 1.0, seed: int = 0
                 ) -> tuple[torch.Tensor, Any, Any]:
    """Optimise (triplane, decoder) on the rays of `train_pos` views; returns (code, renderer, decoder)."""
    from tk.model.decoder import NeRFMLP
    from tk.model.renderer import TriplaneNeRFRenderer
    from tk.train.config import LossConfig
    from tk.train.losses import TrainingLoss

    torch.manual_seed(seed)
    pp = model_cfg.post_processor
    size = model_cfg.plane_resolution  # the post-processor's output planes
    code = torch.nn.Parameter(torch.randn(3, pp.out_channels, size, size) * 0.1)
    decoder = NeRFMLP(model_cfg.decoder)
    renderer = TriplaneNeRFRenderer(model_cfg.renderer)
    loss_fn = TrainingLoss(LossConfig(lambda_lpips=0.0, lambda_mask=lambda_mask))
    os_, ds, rgbs, masks = [], [], [], []
    for pos in train_pos:
        view = ref.views[pos]
        rgba = decode_rgba(reader.rgba_bytes(ref, view))
        o, d = view_rays(view, gauge)
        os_.append(o)
        ds.append(d)
        rgbs.append(torch.from_numpy(composite(rgba, 1.0).reshape(-1, 3)))
        masks.append(torch.from_numpy(rgba[..., 3].reshape(-1, 1)))
    o_all, d_all, rgb_all, mask_all = (torch.cat(t) for t in (os_, ds, rgbs, masks))
    opt = torch.optim.Adam([{"params": [code], "lr": 3e-2}, {"params": decoder.parameters(), "lr": 3e-3}])
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps, eta_min=3e-4)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        idx = torch.randint(0, o_all.shape[0], (rays,), generator=gen)
        out = renderer.render_rays(decoder, code, o_all[idx], d_all[idx])
        loss, _ = loss_fn(out["rgb"][None, None], out["opacity"][None, None], rgb_all[idx][None, None],
                          mask_all[idx][None, None], out["log_transmittance"][None, None])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    return code.detach(), renderer, decoder.eval()
