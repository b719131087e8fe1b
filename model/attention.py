"""Multi-head attention and the feed-forward (GEGLU in TripoSR) of the backbone (diffusers parameter names)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class Attention(nn.Module):
    """Self- or cross-attention via SDPA: q,k,v without bias, output projection with bias."""

    def __init__(self, query_dim: int, heads: int, dim_head: int, cross_attention_dim: int | None = None,
                 bias: bool = False, dropout: float = 0.0) -> None:
        super().__init__()
        inner = heads * dim_head
        kv_dim = cross_attention_dim or query_dim
        self.heads = heads
        self.to_q = nn.Linear(query_dim, inner, bias=bias)
        self.to_k = nn.Linear(kv_dim, inner, bias=bias)
        self.to_v = nn.Linear(kv_dim, inner, bias=bias)
        # ModuleList (not Sequential) keeps the official key names to_out.0.*
        self.to_out = nn.ModuleList([nn.Linear(inner, query_dim, bias=True), nn.Dropout(dropout)])

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        """x (B, L, Dq), context (B, S, Dkv) or None for self-attention -> (B, L, Dq)."""
        context = x if context is None else context
        b, n, _ = x.shape
        q = self.to_q(x).view(b, n, self.heads, -1).transpose(1, 2)
        k = self.to_k(context).view(b, context.shape[1], self.heads, -1).transpose(1, 2)
        v = self.to_v(context).view(b, context.shape[1], self.heads, -1).transpose(1, 2)
        out = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(b, n, -1)
        return self.to_out[1](self.to_out[0](out.to(q.dtype)))


class GEGLU(nn.Module):
    """proj -> (value, gate) halves -> value * GELU(gate), exact GELU."""

    def __init__(self, dim_in: int, dim_out: int) -> None:
        super().__init__()
        self.proj = nn.Linear(dim_in, dim_out * 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        value, gate = self.proj(x).chunk(2, dim=-1)
        return value * F.gelu(gate)


class GELU(nn.Module):
    """proj -> GELU, exact or tanh-approximated (activation_fn gelu / gelu-approximate)."""

    def __init__(self, dim_in: int, dim_out: int, approximate: str = "none") -> None:
        super().__init__()
        self.proj = nn.Linear(dim_in, dim_out)
        self.approximate = approximate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.gelu(self.proj(x), approximate=self.approximate)


class ApproximateGELU(nn.Module):
    """proj -> x * sigmoid(1.702 x) (activation_fn geglu-approximate, named so in the official code)."""

    def __init__(self, dim_in: int, dim_out: int) -> None:
        super().__init__()
        self.proj = nn.Linear(dim_in, dim_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.proj(x)
        return x * torch.sigmoid(1.702 * x)


def _projection(activation_fn: str, dim: int, inner: int) -> nn.Module:
    if activation_fn == "geglu":
        return GEGLU(dim, inner)
    if activation_fn == "geglu-approximate":
        return ApproximateGELU(dim, inner)
    return GELU(dim, inner, approximate="tanh" if activation_fn == "gelu-approximate" else "none")


class FeedForward(nn.Module):
    """act(dim -> 4*dim) -> Dropout -> Linear(4*dim -> dim); keys net.0.proj, net.2. TripoSR's act is GEGLU."""

    def __init__(self, dim: int, mult: int = 4, dropout: float = 0.0, activation_fn: str = "geglu") -> None:
        super().__init__()
        inner = dim * mult
        self.net = nn.ModuleList([_projection(activation_fn, dim, inner), nn.Dropout(dropout), nn.Linear(inner, dim)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for module in self.net:
            x = module(x)
        return x
