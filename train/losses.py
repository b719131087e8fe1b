"""The training loss: MSE + lambda_lpips * LPIPS(VGG) + lambda_mask * BCE(opacity, mask).

Every term is computed in fp32 outside autocast (the BCE is written out, see mask_bce), and
LPIPS on bf16 features loses the small distances that matter late in training.
"""

from __future__ import annotations

from typing import Any

import torch

from tk.train.config import LossConfig
from tk.train.lpips_weights import load_lpips

_EPS = 1e-5


def view_mse(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error per view, then averaged over views: pred/target (N,P,P,3) -> scalar."""
    return (pred - target).pow(2).flatten(1).mean(1).mean()


def mask_bce(opacity: torch.Tensor, mask: torch.Tensor, log_transmittance: torch.Tensor | None = None) -> torch.Tensor:
    """BCE of accumulated opacity (N,P,P,1) against the mask (N,P,P,1), with no clamp that kills a gradient.

    log(1 - opacity) is taken as the renderer's log transmittance (-sum sigma * delta) when given: where a floater
    saturates the opacity to 1 in float32, log1p(-o) would be -inf and a clamp would give it zero gradient, yet
    this is the case the mask loss exists for. log(opacity) gets a tiny additive epsilon, which keeps a gradient
    at opacity 0 too. Written out rather than F.binary_cross_entropy, which refuses NaN inputs (a RuntimeError on
    CPU, a process-killing device assert on CUDA): here a NaN opacity gives a NaN loss that the loop skips.
    """
    log_o = torch.log(opacity + _EPS)
    log_not_o = log_transmittance if log_transmittance is not None else torch.log1p(-opacity + _EPS)
    return -(mask * log_o + (1.0 - mask) * log_not_o).mean()


def psnr(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """PSNR in dB of images in [0,1] (any shape), over all elements."""
    mse = (pred - target).pow(2).mean().clamp_min(1e-10)
    return -10.0 * torch.log10(mse)


class TrainingLoss(torch.nn.Module):
    """Weighted sum of the three terms; returns (total, {name: value}) with detached parts for logging."""

    def __init__(self, cfg: LossConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.lpips: Any = None
        if cfg.lambda_lpips > 0:
            self.lpips = load_lpips(cfg.lpips_net)

    def forward(
        self, rgb: torch.Tensor, opacity: torch.Tensor, target: torch.Tensor, mask: torch.Tensor,
        log_transmittance: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """rgb/target (N,P,P,3) in [0,1], opacity/mask/log_transmittance (N,P,P,1); N = objects x views."""
        with torch.autocast(device_type=rgb.device.type, enabled=False):
            rgb, opacity, target, mask = (t.float() for t in (rgb, opacity, target, mask))
            log_t = None if log_transmittance is None else log_transmittance.float()
            mse = view_mse(rgb, target)
            bce = mask_bce(opacity, mask, log_t)
            total = mse + self.cfg.lambda_mask * bce
            parts = {"mse": float(mse.detach()), "bce": float(bce.detach())}
            if self.lpips is not None:
                lp = self.lpips(rgb.permute(0, 3, 1, 2), target.permute(0, 3, 1, 2), normalize=True).mean()
                total = total + self.cfg.lambda_lpips * lp
                parts["lpips"] = float(lp.detach())
            parts["psnr"] = float(psnr(rgb.detach(), target))
        return total, parts
