"""DINO ViT image encoder with transformers-4.x parameter names (the names in TripoSR checkpoints).

Module and parameter names mirror transformers 4.35's `ViTModel`, so the official state_dict keys
`image_tokenizer.model.encoder.layer.N.attention.attention.query.weight` etc. load strictly.
"""

from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from tk.model.config import ViTConfig


def _tanh_gelu(x: torch.Tensor) -> torch.Tensor:
    return F.gelu(x, approximate="tanh")


# hidden_act -> function, as transformers' ACT2FN computes it (names listed in tk.model.config.VIT_ACTIVATIONS)
ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "gelu": F.gelu,  # exact (erf) GELU: dino-vitb16's
    "gelu_python": F.gelu,
    "gelu_new": _tanh_gelu,
    "gelu_pytorch_tanh": _tanh_gelu,
    "gelu_fast": _tanh_gelu,
    "gelu_accurate": _tanh_gelu,
    "gelu_10": lambda x: F.gelu(x).clamp(-10.0, 10.0),
    "quick_gelu": lambda x: x * torch.sigmoid(1.702 * x),
    "relu": F.relu,
    "relu2": lambda x: F.relu(x).square(),
    "relu6": F.relu6,
    "leaky_relu": F.leaky_relu,
    "silu": F.silu,
    "swish": F.silu,
    "mish": F.mish,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "linear": lambda x: x,
}


def interpolate_pos_encoding(pos: torch.Tensor, height: int, width: int, patch_size: int) -> torch.Tensor:
    """Resize a (1, 1+N, D) position table to an image of `height` x `width` pixels.

    transformers 4.35's formula, which the TripoSR weights were trained with: bicubic with
    `scale_factor=(h//p + 0.1)/sqrt(N)`. The +0.1 changes the source-coordinate mapping, so this is
    not the same as `size=(h//p, w//p)` (newer transformers): outputs differ by a few percent.
    """
    num_positions = pos.shape[1] - 1
    h0, w0 = height // patch_size, width // patch_size
    if h0 * w0 == num_positions and height == width:
        return pos
    n = int(math.sqrt(num_positions))
    dim = pos.shape[-1]
    grid = pos[:, 1:].reshape(1, n, n, dim).permute(0, 3, 1, 2)
    grid = F.interpolate(grid, scale_factor=((h0 + 0.1) / math.sqrt(num_positions), (w0 + 0.1) / math.sqrt(num_positions)),
                         mode="bicubic", align_corners=False)
    grid = grid.permute(0, 2, 3, 1).reshape(1, -1, dim)
    return torch.cat([pos[:, :1], grid], dim=1)


class ViTPatchEmbeddings(nn.Module):
    def __init__(self, cfg: ViTConfig) -> None:
        super().__init__()
        self.projection = nn.Conv2d(cfg.num_channels, cfg.hidden_size, cfg.patch_size, stride=cfg.patch_size)

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) -> (B, (H//p) * (W//p), D); rows and columns short of a whole patch are dropped."""
        return self.projection(pixel_values).flatten(2).transpose(1, 2)


class ViTEmbeddings(nn.Module):
    def __init__(self, cfg: ViTConfig) -> None:
        super().__init__()
        self.patch_size = cfg.patch_size
        n = (cfg.image_size // cfg.patch_size) ** 2
        self.cls_token = nn.Parameter(torch.zeros(1, 1, cfg.hidden_size))
        self.position_embeddings = nn.Parameter(torch.zeros(1, n + 1, cfg.hidden_size))
        self.patch_embeddings = ViTPatchEmbeddings(cfg)

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) -> (B, 1 + N, D), CLS token first."""
        b, _, h, w = pixel_values.shape
        x = self.patch_embeddings(pixel_values.to(self.patch_embeddings.projection.weight.dtype))
        x = torch.cat([self.cls_token.expand(b, -1, -1), x], dim=1)
        return x + interpolate_pos_encoding(self.position_embeddings, h, w, self.patch_size)


class ViTSelfAttention(nn.Module):
    def __init__(self, cfg: ViTConfig) -> None:
        super().__init__()
        self.num_heads = cfg.num_attention_heads
        self.query = nn.Linear(cfg.hidden_size, cfg.hidden_size, bias=cfg.qkv_bias)
        self.key = nn.Linear(cfg.hidden_size, cfg.hidden_size, bias=cfg.qkv_bias)
        self.value = nn.Linear(cfg.hidden_size, cfg.hidden_size, bias=cfg.qkv_bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, L, D) -> (B, L, D); SDPA equals the eager softmax(QK^T/sqrt(d))V of transformers 4.35."""
        b, n, d = x.shape
        q, k, v = (lin(x).view(b, n, self.num_heads, -1).transpose(1, 2) for lin in (self.query, self.key, self.value))
        return F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(b, n, d)


class ViTSelfOutput(nn.Module):
    def __init__(self, cfg: ViTConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(cfg.hidden_size, cfg.hidden_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dense(x)


class ViTAttention(nn.Module):
    def __init__(self, cfg: ViTConfig) -> None:
        super().__init__()
        self.attention = ViTSelfAttention(cfg)
        self.output = ViTSelfOutput(cfg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.output(self.attention(x))


class ViTIntermediate(nn.Module):
    def __init__(self, cfg: ViTConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(cfg.hidden_size, cfg.intermediate_size)
        self.act = ACTIVATIONS[cfg.hidden_act]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.dense(x))


class ViTOutput(nn.Module):
    def __init__(self, cfg: ViTConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(cfg.intermediate_size, cfg.hidden_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dense(x)


class ViTLayer(nn.Module):
    """Pre-LN block: x += attn(LN(x)); x += MLP(LN(x))."""

    def __init__(self, cfg: ViTConfig) -> None:
        super().__init__()
        self.attention = ViTAttention(cfg)
        self.intermediate = ViTIntermediate(cfg)
        self.output = ViTOutput(cfg)
        self.layernorm_before = nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps)
        self.layernorm_after = nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attention(self.layernorm_before(x))
        return x + self.output(self.intermediate(self.layernorm_after(x)))


class ViTEncoder(nn.Module):
    def __init__(self, cfg: ViTConfig) -> None:
        super().__init__()
        self.layer = nn.ModuleList(ViTLayer(cfg) for _ in range(cfg.num_hidden_layers))
        self.gradient_checkpointing = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layer:
            if self.gradient_checkpointing and torch.is_grad_enabled():
                x = checkpoint(layer, x, use_reentrant=False)
            else:
                x = layer(x)
        return x


class ViTPooler(nn.Module):
    def __init__(self, cfg: ViTConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(cfg.hidden_size, cfg.hidden_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.dense(x[:, 0]))


class ViTModel(nn.Module):
    """transformers-4.x `ViTModel(add_pooling_layer=True)`; forward returns last_hidden_state only.

    The pooler exists so official checkpoints load with strict=True, but TripoSR discards its output,
    so forward does not compute it (and it receives no gradient).
    """

    def __init__(self, cfg: ViTConfig) -> None:
        super().__init__()
        self.config = cfg
        self.embeddings = ViTEmbeddings(cfg)
        self.encoder = ViTEncoder(cfg)
        self.layernorm = nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps)
        self.pooler = ViTPooler(cfg)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """transformers' ViT init: truncated normal(0.02) weights, zero biases, unit LayerNorms."""
        std = self.config.initializer_range
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Conv2d)):
                nn.init.trunc_normal_(m.weight, std=std)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.LayerNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        nn.init.trunc_normal_(self.embeddings.position_embeddings, std=std)
        nn.init.trunc_normal_(self.embeddings.cls_token, std=std)

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) normalised pixels -> (B, 1 + (H/p)(W/p), D) last_hidden_state."""
        return self.layernorm(self.encoder(self.embeddings(pixel_values)))
