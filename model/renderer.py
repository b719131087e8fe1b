"""Triplane NeRF volume rendering as pure tensor functions, plus the chunked renderer module.

The numerics follow the official TripoSR renderer on purpose, quirks included, because the released
weights were trained with them: normalised constant deltas 1/S (not world distances), 1e-10 added
inside the transmittance cumprod, a box shrunk by 1e-3, tiny direction components replaced by +1e-6.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from tk.model.config import RendererConfig

TRANSMITTANCE_EPS = 1e-10


def rays_intersect_box(rays_o: torch.Tensor, rays_d: torch.Tensor, radius: float, near: float = 0.0,
                       valid_thresh: float = 0.01) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Slab test against the cube [-r, r]^3 shrunk by (1 - 1e-3).

    rays_o, rays_d: (N, 3) -> t_near (N, 1), t_far (N, 1), valid (N,) bool; invalid rays get t = 0.
    |d_i| < 1e-6 is replaced by +1e-6 (the sign is lost, as in the official code).
    """
    d = torch.where(rays_d.abs() < 1e-6, torch.full_like(rays_d, 1e-6), rays_d)
    r = torch.tensor(radius, dtype=rays_o.dtype, device=rays_o.device) * (1.0 - 1.0e-3)  # float32 like official
    t0 = (r - rays_o) / d
    t1 = (-r - rays_o) / d
    t_near = torch.minimum(t0, t1).amax(dim=-1).clamp_min(near)
    t_far = torch.maximum(t0, t1).amin(dim=-1)
    valid = t_far - t_near > valid_thresh
    zero = torch.zeros_like(t_near)
    return torch.where(valid, t_near, zero)[:, None], torch.where(valid, t_far, zero)[:, None], valid


def midpoint_samples(num_samples: int, device: torch.device | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """t_vals (S+1,) = linspace(0, 1) and their S midpoints (S,)."""
    t_vals = torch.linspace(0, 1, num_samples + 1, device=device)
    return t_vals, (t_vals[:-1] + t_vals[1:]) / 2.0


def sample_points(rays_o: torch.Tensor, rays_d: torch.Tensor, t_near: torch.Tensor, t_far: torch.Tensor,
                  t_mid: torch.Tensor) -> torch.Tensor:
    """(N, 3), (N, 3), (N, 1), (N, 1), (S,) -> points (N, S, 3) at the midpoints between near and far."""
    z = t_near * (1 - t_mid[None]) + t_far * t_mid[None]
    return rays_o[:, None, :] + z[..., None] * rays_d[:, None, :]


def composite(density_act: torch.Tensor, color: torch.Tensor, deltas: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Alpha compositing. density_act (N, S), color (N, S, 3), deltas (S,) -> rgb (N, 3), opacity (N,).

    alpha = 1 - exp(-delta * sigma); T_i = prod_{j<i} (1 - alpha_j + 1e-10); w = alpha * T.
    """
    alpha = 1 - torch.exp(-deltas * density_act)
    trans = torch.cumprod(1 - alpha[:, :-1] + TRANSMITTANCE_EPS, dim=-1)
    trans = torch.cat([torch.ones_like(alpha[:, :1]), trans], dim=-1)
    weights = alpha * trans
    return (weights[..., None] * color).sum(dim=-2), weights.sum(dim=-1)


def log_transmittance(density_act: torch.Tensor, deltas: torch.Tensor) -> torch.Tensor:
    """log of the light left after the ray, -sum(delta * sigma): density_act (N, S), deltas (S,) -> (N,).

    Equals log(1 - opacity) up to composite's 1e-10 terms, but never saturates: where opacity rounds to 1 in
    float32 this still has a gradient, which is what lets the mask loss push back on a saturated floater.
    """
    return -(density_act * deltas).sum(dim=-1)


def triplane_features(triplane: torch.Tensor, points: torch.Tensor, reduction: str = "concat") -> torch.Tensor:
    """Bilinear triplane lookup. triplane (3, C, H, W), points (N, 3) in [-1, 1] -> (N, 3C) or (N, C).

    Planes are indexed by (x, y), (x, z), (y, z); points outside [-1, 1] get zeros (grid_sample padding).
    """
    uv = torch.stack([points[:, [0, 1]], points[:, [0, 2]], points[:, [1, 2]]], dim=0)  # (3, N, 2)
    # Never round the sample coordinates down to the planes' dtype: under bf16 autocast the planes are bf16, and
    # bf16 coordinates (8 mantissa bits) would land up to 1/8 texel off on a 64² plane. Sample in the wider dtype.
    dtype = torch.promote_types(triplane.dtype, uv.dtype)
    out = F.grid_sample(triplane.to(dtype), uv[:, None].to(dtype), mode="bilinear", align_corners=False)  # (3, C, 1, N)
    if reduction == "concat":
        return out[:, :, 0].permute(2, 0, 1).reshape(points.shape[0], -1)
    return out[:, :, 0].mean(0).transpose(0, 1)


def _activation(name: str) -> Callable[[torch.Tensor], torch.Tensor]:
    """The official get_activation: case-insensitive; besides its own names, any torch.nn.functional one."""
    name = name.lower()
    own = {"exp": torch.exp, "sigmoid": torch.sigmoid, "tanh": torch.tanh, "softplus": F.softplus, "none": lambda x: x}
    return own[name] if name in own else getattr(F, name)


class TriplaneNeRFRenderer(nn.Module):
    """Renders triplane scene codes with a decoder; no parameters. `chunk_size` counts sample points."""

    def __init__(self, cfg: RendererConfig, chunk_size: int = 0) -> None:
        super().__init__()
        self.cfg = cfg
        self.chunk_size = chunk_size
        self.gradient_checkpointing = False

    def set_chunk_size(self, chunk_size: int) -> None:
        """Official API: points per decoder call, 0 for no chunking."""
        if chunk_size < 0:
            raise ValueError("chunk_size must be >= 0 (0 for no chunking)")
        self.chunk_size = chunk_size

    def _decode(self, decoder: nn.Module, points: torch.Tensor, triplane: torch.Tensor) -> dict[str, torch.Tensor]:
        """points (N, 3) in world units -> raw decoder outputs plus activations."""
        r = self.cfg.radius
        unit = (points + r) / (2 * r) * 2 - 1  # (-r, r) -> (-1, 1) in the official operation order
        out = dict(decoder(triplane_features(triplane, unit, self.cfg.feature_reduction)))
        out["density_act"] = _activation(self.cfg.density_activation)(out["density"] + self.cfg.density_bias)
        out["color"] = _activation(self.cfg.color_activation)(out["features"])
        return out

    def query_triplane(self, decoder: nn.Module, positions: torch.Tensor, triplane: torch.Tensor) -> dict[str, torch.Tensor]:
        """positions (..., 3), triplane (3, C, H, W) -> density, features, density_act, color, each (..., k)."""
        shape = positions.shape[:-1]
        flat = positions.reshape(-1, 3)
        n = self.chunk_size if self.chunk_size > 0 else max(flat.shape[0], 1)
        parts = [self._decode(decoder, flat[i:i + n], triplane) for i in range(0, flat.shape[0], n)]
        return {k: torch.cat([p[k] for p in parts], 0).view(*shape, -1) for k in parts[0]}

    def _render_chunk(self, decoder: nn.Module, triplane: torch.Tensor, rays_o: torch.Tensor,
                      rays_d: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """rays (N, 3) -> rgb (N, 3) on black, opacity (N,), log transmittance (N,); invalid rays give 0."""
        t_near, t_far, valid = rays_intersect_box(rays_o, rays_d, self.cfg.radius)
        t_vals, t_mid = midpoint_samples(self.cfg.num_samples_per_ray, rays_o.device)
        pts = sample_points(rays_o[valid], rays_d[valid], t_near[valid], t_far[valid], t_mid)
        out = self._decode(decoder, pts.reshape(-1, 3), triplane)
        s = self.cfg.num_samples_per_ray
        deltas = t_vals[1:] - t_vals[:-1]
        rgb_v, opa_v = composite(out["density_act"].view(-1, s), out["color"].view(-1, s, 3), deltas)
        logt_v = log_transmittance(out["density_act"].view(-1, s), deltas)
        rgb = rgb_v.new_zeros(rays_o.shape[0], 3).index_put((valid,), rgb_v)
        opacity = opa_v.new_zeros(rays_o.shape[0]).index_put((valid,), opa_v)
        log_t = logt_v.new_zeros(rays_o.shape[0]).index_put((valid,), logt_v)
        return rgb, opacity, log_t

    def render_rays(self, decoder: nn.Module, triplane: torch.Tensor, rays_o: torch.Tensor,
                    rays_d: torch.Tensor) -> dict[str, torch.Tensor]:
        """triplane (3, C, H, W), rays (..., 3) -> {"rgb": (..., 3) on white, "opacity", "log_transmittance": (..., 1)}.

        Rays are processed in chunks of chunk_size // num_samples rays; with gradient checkpointing on,
        each chunk's activations are recomputed in backward, so memory does not grow with the ray count.
        """
        shape = rays_o.shape[:-1]
        o, d = rays_o.reshape(-1, 3), rays_d.reshape(-1, 3)
        n = max(self.chunk_size // self.cfg.num_samples_per_ray, 1) if self.chunk_size > 0 else max(o.shape[0], 1)
        rgbs, opas, logts = [], [], []
        for i in range(0, o.shape[0], n):
            if self.gradient_checkpointing and torch.is_grad_enabled():
                # the renderer draws no random numbers, so skip saving/restoring RNG state per chunk
                rgb, opa, logt = checkpoint(self._render_chunk, decoder, triplane, o[i:i + n], d[i:i + n],
                                            use_reentrant=False, preserve_rng_state=False)
            else:
                rgb, opa, logt = self._render_chunk(decoder, triplane, o[i:i + n], d[i:i + n])
            rgbs.append(rgb)
            opas.append(opa)
            logts.append(logt)
        rgb, opacity = torch.cat(rgbs), torch.cat(opas)[:, None]
        return {"rgb": (rgb + 1 - opacity).view(*shape, 3), "opacity": opacity.view(*shape, 1),
                "log_transmittance": torch.cat(logts).view(*shape, 1)}

    def forward(self, decoder: nn.Module, triplane: torch.Tensor, rays_o: torch.Tensor, rays_d: torch.Tensor) -> torch.Tensor:
        """Official call: triplane (3, C, H, W) or (B, 3, C, H, W) with matching rays -> rgb (..., 3)."""
        if triplane.ndim == 4:
            return self.render_rays(decoder, triplane, rays_o, rays_d)["rgb"]
        return torch.stack([self.render_rays(decoder, t, o, d)["rgb"] for t, o, d in zip(triplane, rays_o, rays_d)])
