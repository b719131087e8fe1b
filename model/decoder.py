"""NeRFMLP: the per-point decoder from concatenated triplane features to density and colour logits."""

from __future__ import annotations

import torch
from torch import nn

from tk.model.config import DecoderConfig


class NeRFMLP(nn.Module):
    """Linear -> act -> (Linear -> act) x (n_hidden_layers-1) -> Linear(4); keys layers.0, 2, ..."""

    def __init__(self, cfg: DecoderConfig) -> None:
        super().__init__()
        act = nn.SiLU if cfg.activation == "silu" else nn.ReLU
        dims = [cfg.in_channels] + [cfg.n_neurons] * max(cfg.n_hidden_layers, 1)  # official: 0 builds one layer too
        layers: list[nn.Module] = []
        for d_in, d_out in zip(dims[:-1], dims[1:]):
            layers += [nn.Linear(d_in, d_out, bias=cfg.bias), act()]
        layers.append(nn.Linear(cfg.n_neurons, 4, bias=cfg.bias))
        self.layers = nn.Sequential(*layers)
        self.weight_init, self.bias_init = cfg.weight_init, cfg.bias_init
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Official init: kaiming-uniform (relu gain) weights; biases PyTorch default or zero."""
        for m in self.layers:
            if isinstance(m, nn.Linear):
                if self.weight_init == "kaiming_uniform":
                    nn.init.kaiming_uniform_(m.weight, nonlinearity="relu")
                if m.bias is not None and self.bias_init == "zero":
                    nn.init.zeros_(m.bias)

    def forward(self, features: torch.Tensor) -> dict[str, torch.Tensor]:
        """(N, in_channels) -> {"density": (N, 1), "features": (N, 3)} (raw, before activations)."""
        out = self.layers(features)
        return {"density": out[..., 0:1], "features": out[..., 1:4]}
