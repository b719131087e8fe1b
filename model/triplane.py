"""Learned triplane tokens (Triplane1DTokenizer) and the post-processor that upsamples them to planes."""

from __future__ import annotations

import torch
from torch import nn

from tk.model.config import PostProcessorConfig, TokenizerConfig


class Triplane1DTokenizer(nn.Module):
    """Three learned C x P x P planes, flattened plane-major into (B, C, 3*P*P) tokens."""

    def __init__(self, cfg: TokenizerConfig) -> None:
        super().__init__()
        self.plane_size = cfg.plane_size
        self.num_channels = cfg.num_channels
        self.embeddings = nn.Parameter(torch.empty(3, cfg.num_channels, cfg.plane_size, cfg.plane_size))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """randn / sqrt(C), the official init."""
        with torch.no_grad():
            self.embeddings.normal_().div_(self.num_channels**0.5)

    def forward(self, batch_size: int) -> torch.Tensor:
        """-> (B, C, 3*P*P), token order (plane, row, column)."""
        tokens = self.embeddings.permute(1, 0, 2, 3).reshape(self.num_channels, -1)
        return tokens.unsqueeze(0).expand(batch_size, -1, -1)

    def detokenize(self, tokens: torch.Tensor) -> torch.Tensor:
        """(B, C, 3*P*P) -> (B, 3, C, P, P)."""
        b, c, _ = tokens.shape
        return tokens.view(b, c, 3, self.plane_size, self.plane_size).permute(0, 2, 1, 3, 4)


class TriplaneUpsampleNetwork(nn.Module):
    """ConvTranspose2d(k=f, s=f) per plane: (B, 3, Cin, P, P) -> (B, 3, Cout, fP, fP); the official f is 2."""

    def __init__(self, cfg: PostProcessorConfig) -> None:
        super().__init__()
        f = cfg.upsample_factor
        self.upsample = nn.ConvTranspose2d(cfg.in_channels, cfg.out_channels, kernel_size=f, stride=f)

    def forward(self, planes: torch.Tensor) -> torch.Tensor:
        b = planes.shape[0]
        out = self.upsample(planes.reshape(b * 3, *planes.shape[2:]))
        return out.view(b, 3, *out.shape[1:])
