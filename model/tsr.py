"""The TripoSR model: image -> triplane scene codes -> NeRF renders and meshes, with the official API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from tk.errors import TkError
from tk.geometry import INPUT_DISTANCE, INPUT_FOVY_DEG
from tk.model.checkpoint import find_weights, load_weights, save_weights
from tk.model.config import (DENSITY_THRESHOLD, MESH_RESOLUTION, TripoSRConfig, load_model_config,
                             write_model_config)
from tk.model.decoder import NeRFMLP
from tk.model.mesh import mesh_from_scene_code
from tk.model.preprocess import images_to_tensor
from tk.model.renderer import TriplaneNeRFRenderer
from tk.model.transformer1d import Transformer1D
from tk.model.triplane import Triplane1DTokenizer, TriplaneUpsampleNetwork
from tk.model.vit import ViTModel

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class DINOSingleImageTokenizer(nn.Module):
    """ImageNet-normalise, then the DINO ViT: (B, 3, S, S) in [0, 1] -> (B, 1 + N, D) tokens."""

    def __init__(self, cfg: TripoSRConfig) -> None:
        super().__init__()
        self.model = ViTModel(cfg.vit)
        self.model.encoder.gradient_checkpointing = cfg.image_tokenizer.enable_gradient_checkpointing
        # not persistent: the official state_dict has no buffers
        self.register_buffer("image_mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("image_std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.model((images - self.image_mean) / self.image_std)


class TripoSR(nn.Module):
    """TripoSR with the official module tree and state_dict keys (loads released weights strictly)."""

    def __init__(self, cfg: TripoSRConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.image_tokenizer = DINOSingleImageTokenizer(cfg)
        self.tokenizer = Triplane1DTokenizer(cfg.tokenizer)
        self.backbone = Transformer1D(cfg.backbone)
        self.post_processor = TriplaneUpsampleNetwork(cfg.post_processor)
        self.decoder = NeRFMLP(cfg.decoder)
        self.renderer = TriplaneNeRFRenderer(cfg.renderer)

    # ---- loading and saving ------------------------------------------------------------------------
    @classmethod
    def from_pretrained(cls, folder: str | Path, config_name: str = "config.yaml",
                        weight_name: str | None = None) -> "TripoSR":
        """Build from `folder/config.yaml` and load model.safetensors or model.ckpt strictly."""
        folder = Path(folder)
        if not (folder / config_name).is_file():
            raise TkError(f"{folder}: no {config_name}; a checkpoint folder holds config.yaml and model.safetensors "
                          "(or the official model.ckpt)")
        cfg = load_model_config(folder / config_name)
        weights = folder / weight_name if weight_name else find_weights(folder)
        with torch.device("meta"):  # no random init for weights about to be replaced
            model = cls(cfg)
        load_weights(model, weights)
        model.image_tokenizer.image_mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
        model.image_tokenizer.image_std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
        return model.eval()

    def save_pretrained(self, folder: str | Path) -> None:
        """Write config.yaml (official format, ViT config.json beside it) and model.safetensors atomically."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        write_model_config(self.cfg, folder)
        save_weights(self, folder / "model.safetensors")

    def load_dino(self, folder: str | Path) -> None:
        """Initialise the image tokenizer from a local Hugging Face facebook/dino-vitb16 folder."""
        from tk.model.dino import load_dino_into

        load_dino_into(self.image_tokenizer.model, Path(folder))

    def set_gradient_checkpointing(self, tokenizer: bool = False, backbone: bool = False, renderer: bool = False) -> None:
        """Recompute activations in backward: per ViT layer, per backbone block, per render ray chunk."""
        self.image_tokenizer.model.encoder.gradient_checkpointing = tokenizer
        self.backbone.gradient_checkpointing = backbone
        self.renderer.gradient_checkpointing = renderer

    # ---- image -> scene codes ---------------------------------------------------------------------
    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, S, S) float in [0, 1] at cfg.cond_image_size -> scene codes (B, 3, C, H, W); differentiable."""
        b = images.shape[0]
        image_tokens = self.image_tokenizer(images)
        tokens = self.backbone(self.tokenizer(b), encoder_hidden_states=image_tokens)
        return self.post_processor(self.tokenizer.detokenize(tokens))

    def forward(self, image: Any, device: str | torch.device = "cpu") -> torch.Tensor:
        """Official call: PIL image(s) / arrays / tensors (H, W, 3) -> scene codes (B, 3, C, H, W)."""
        x = images_to_tensor(image, self.cfg.cond_image_size).to(device)
        return self.encode(x)

    # ---- scene codes -> images and meshes ---------------------------------------------------------
    def render(self, scene_codes: torch.Tensor, n_views: int, elevation_deg: float = 0.0,
               camera_distance: float = INPUT_DISTANCE, fovy_deg: float = INPUT_FOVY_DEG, height: int = 256, width: int = 256,
               return_type: str = "pil") -> list[list[Any]]:
        """Orbit renders, per scene a list of n_views images (PIL, (H, W, 3) tensor or array), no grad."""
        from PIL import Image

        from tk.model.cameras import get_spherical_cameras

        if return_type not in ("pil", "pt", "np"):
            raise TkError(f"render return_type {return_type!r}: use pil, pt or np")
        rays_o, rays_d = get_spherical_cameras(n_views, elevation_deg, camera_distance, fovy_deg, height, width)
        rays_o, rays_d = rays_o.to(scene_codes.device), rays_d.to(scene_codes.device)
        out = []
        with torch.no_grad():
            for code in scene_codes:
                views = []
                for v in range(n_views):
                    rgb = self.renderer.render_rays(self.decoder, code, rays_o[v], rays_d[v])["rgb"]
                    if return_type == "pt":
                        views.append(rgb)
                    elif return_type == "np":
                        views.append(rgb.float().cpu().numpy())
                    else:
                        views.append(Image.fromarray((rgb.float().cpu().numpy() * 255.0).astype(np.uint8)))
                out.append(views)
        return out

    def extract_mesh(self, scene_codes: torch.Tensor, has_vertex_color: bool = True,
                     resolution: int = MESH_RESOLUTION, threshold: float = DENSITY_THRESHOLD) -> list[Any]:
        """Marching cubes on density_act - threshold per scene -> list of trimesh.Trimesh (vertex colours)."""
        return [mesh_from_scene_code(self.renderer, self.decoder, code, resolution, threshold, has_vertex_color)
                for code in scene_codes]
