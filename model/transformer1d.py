"""TripoSR's backbone: a 1D transformer over triplane tokens with cross-attention to image tokens."""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from tk.model.attention import Attention, FeedForward
from tk.model.config import BackboneConfig


class BasicTransformerBlock(nn.Module):
    """h += attn1(LN(h)); h += attn2(LN(h), image tokens); h += ff(LN(h)).

    The official switches: only_cross_attention makes attn1 attend to the image tokens too;
    double_self_attention gives attn2 key/value projections from `dim` (it is still handed the image
    tokens, as in the official code, so they must be `dim` wide). upcast_attention changes nothing:
    the official attention runs through SDPA, which ignores it, as tk's does.
    """

    def __init__(self, dim: int, heads: int, dim_head: int, cross_attention_dim: int, dropout: float = 0.0,
                 attention_bias: bool = False, elementwise_affine: bool = True, activation_fn: str = "geglu",
                 only_cross_attention: bool = False, double_self_attention: bool = False) -> None:
        super().__init__()
        self.only_cross_attention = only_cross_attention
        self.norm1 = nn.LayerNorm(dim, elementwise_affine=elementwise_affine)
        self.attn1 = Attention(dim, heads, dim_head, cross_attention_dim if only_cross_attention else None,
                               bias=attention_bias, dropout=dropout)
        self.norm2 = nn.LayerNorm(dim, elementwise_affine=elementwise_affine)
        self.attn2 = Attention(dim, heads, dim_head, None if double_self_attention else cross_attention_dim,
                               bias=attention_bias, dropout=dropout)
        self.norm3 = nn.LayerNorm(dim, elementwise_affine=elementwise_affine)
        self.ff = FeedForward(dim, dropout=dropout, activation_fn=activation_fn)

    def forward(self, h: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        """h (B, N, dim), context (B, S, cross_attention_dim) -> (B, N, dim)."""
        h = self.attn1(self.norm1(h), context if self.only_cross_attention else None) + h
        h = self.attn2(self.norm2(h), context) + h
        return self.ff(self.norm3(h)) + h


class Transformer1D(nn.Module):
    """GroupNorm -> proj_in -> blocks -> proj_out, with a residual around the whole stack."""

    def __init__(self, cfg: BackboneConfig) -> None:
        super().__init__()
        inner = cfg.num_attention_heads * cfg.attention_head_dim
        self.norm = nn.GroupNorm(cfg.norm_num_groups, cfg.in_channels, eps=1e-6, affine=True)
        self.proj_in = nn.Linear(cfg.in_channels, inner)
        self.transformer_blocks = nn.ModuleList(
            BasicTransformerBlock(inner, cfg.num_attention_heads, cfg.attention_head_dim, cfg.cross_attention_dim,
                                  cfg.dropout, cfg.attention_bias, cfg.norm_elementwise_affine, cfg.activation_fn,
                                  cfg.only_cross_attention, cfg.double_self_attention)
            for _ in range(cfg.num_layers)
        )
        self.proj_out = nn.Linear(inner, cfg.in_channels)
        self.gradient_checkpointing = cfg.gradient_checkpointing

    def forward(self, tokens: torch.Tensor, encoder_hidden_states: torch.Tensor) -> torch.Tensor:
        """tokens (B, C, N), encoder_hidden_states (B, S, D) -> (B, C, N)."""
        residual = tokens
        h = self.norm(tokens).permute(0, 2, 1)
        h = self.proj_in(h)
        for block in self.transformer_blocks:
            if self.gradient_checkpointing and torch.is_grad_enabled():
                h = checkpoint(block, h, encoder_hidden_states, use_reentrant=False)
            else:
                h = block(h, encoder_hidden_states)
        h = self.proj_out(h)
        return h.permute(0, 2, 1).contiguous() + residual
