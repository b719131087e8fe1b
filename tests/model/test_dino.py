"""--init-dino loads facebook/dino-vitb16 as transformers saves it; tk's ViT then gives transformers' tokens.

The reference is transformers itself: a ViTModel(add_pooling_layer=False) with dino-vitb16's layout
(qkv biases, LayerNorm eps 1e-12, exact GELU, no dropout) at a small size, as the DINO conversion builds
it, saved with save_pretrained. TripoSR calls the ViT with interpolate_pos_encoding=True under
transformers 4.35 (shared/research/triposr.md §5.2); newer transformers interpolate differently, so the
comparison patches in the 4.35 formula, as the tiny reference generator does.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import yaml
from transformers import ViTConfig as HFViTConfig
from transformers import ViTModel as HFViTModel
from transformers.models.vit import modeling_vit

from tk.errors import TkError
from tk.model import TripoSR, load_model_config
from tk.model.config import DINO_VITB16, PRESETS_DIR, config_from_dict
from tk.model.dino import to_v4_key

# dino-vitb16's config, smaller: 3x3 position table (48 px at patch 16), 2 layers of width 32.
SMALL_DINO = {**DINO_VITB16, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
              "intermediate_size": 64, "image_size": 48}


def legacy_interpolate_pos_encoding(self, embeddings, height, width):
    """transformers 4.35.0's ViTEmbeddings.interpolate_pos_encoding (the version TripoSR pins)."""
    num_patches = embeddings.shape[1] - 1
    num_positions = self.position_embeddings.shape[1] - 1
    if num_patches == num_positions and height == width:
        return self.position_embeddings
    class_pos_embed = self.position_embeddings[:, 0]
    patch_pos_embed = self.position_embeddings[:, 1:]
    dim = embeddings.shape[-1]
    patch = self.config.patch_size if hasattr(self, "config") else self.patch_size  # 4.35 / 5.x attribute
    h0, w0 = height // patch + 0.1, width // patch + 0.1
    n = int(math.sqrt(num_positions))
    patch_pos_embed = patch_pos_embed.reshape(1, n, n, dim).permute(0, 3, 1, 2)
    patch_pos_embed = torch.nn.functional.interpolate(
        patch_pos_embed, scale_factor=(h0 / math.sqrt(num_positions), w0 / math.sqrt(num_positions)),
        mode="bicubic", align_corners=False)
    assert int(h0) == patch_pos_embed.shape[-2] and int(w0) == patch_pos_embed.shape[-1]
    patch_pos_embed = patch_pos_embed.permute(0, 2, 3, 1).view(1, -1, dim)
    return torch.cat((class_pos_embed.unsqueeze(0), patch_pos_embed), dim=1)


def hf_dino(folder: Path, writer: str) -> HFViTModel:
    """A seeded transformers DINO-layout ViT (every tensor random, biases and norms too), written to `folder`."""
    torch.manual_seed(0)
    hf = HFViTModel(HFViTConfig(**SMALL_DINO), add_pooling_layer=False).eval()
    with torch.no_grad():
        for name, p in hf.named_parameters():
            unit = 1.0 if "layernorm" in name and name.endswith("weight") else 0.0
            p.copy_(unit + torch.randn_like(p) * (p[0].numel() ** -0.5 if p.ndim > 1 else 0.2))
    hf.save_pretrained(folder)
    if writer == "v4-bin":  # the Hub file of facebook/dino-vitb16: a pickle with transformers-4.x names
        from safetensors.torch import load_file

        sd = load_file(str(folder / "model.safetensors"))
        assert all(k.startswith(("embeddings.", "encoder.layer.", "layernorm.")) for k in sd), sorted(sd)[:3]
        (folder / "model.safetensors").unlink()
        torch.save(sd, folder / "pytorch_model.bin")
    elif writer == "v5-names":  # the names transformers >= 5 uses in memory (layers.N.attention.q_proj, mlp.fc1)
        from safetensors.torch import save_file

        save_file({k: v.contiguous() for k, v in hf.state_dict().items()}, str(folder / "model.safetensors"))
    return hf


def small_dino_train_config(cond_image_size: int):
    """A train config whose model is the tiny preset with the small DINO-layout ViT inline."""
    from tk.train.config import config_from_dict as train_config

    model = yaml.safe_load((PRESETS_DIR / "tiny.yaml").read_text())
    model["cond_image_size"] = cond_image_size
    model["backbone"]["cross_attention_dim"] = SMALL_DINO["hidden_size"]
    model["vit"] = dict(SMALL_DINO)
    return train_config({"model": model})


@pytest.mark.parametrize("writer", ["save_pretrained", "v4-bin", "v5-names"])
def test_init_dino_reproduces_transformers_tokens(tmp_path, monkeypatch, writer):
    """`tk train --init-dino` (build_model) on a transformers save: tokens equal transformers' to 1e-5."""
    from tk.train.loop import build_model

    folder = tmp_path / "dino-vitb16"
    hf = hf_dino(folder, writer)
    monkeypatch.setattr(modeling_vit.ViTEmbeddings, "interpolate_pos_encoding", legacy_interpolate_pos_encoding)
    torch.manual_seed(3)
    # 48: the table's own size; 80: a 5x5 grid from the 3x3 table; 70: not a multiple of 16, floored to 4x4
    for size in (48, 80, 70):
        model = build_model(small_dino_train_config(size), None, folder, seed=0)
        vit = model.image_tokenizer.model.eval()
        x = torch.randn(2, 3, size, size)
        with torch.no_grad():
            ours = vit(x)
            ref = hf(pixel_values=x, interpolate_pos_encoding=True).last_hidden_state
        assert ours.shape == ref.shape == (2, 1 + (size // 16) ** 2, 32)
        torch.testing.assert_close(ours, ref, atol=1e-5, rtol=1e-5)


def test_the_pooler_keeps_its_init_and_gets_no_gradient(tmp_path):
    """DINO weights have no pooler: tk's (kept for strict loading of TripoSR weights) stays as initialised."""
    from tk.train.loop import build_model

    folder = tmp_path / "dino"
    hf_dino(folder, "save_pretrained")
    cfg = small_dino_train_config(48)
    torch.manual_seed(0)
    fresh = TripoSR(cfg.model_config()).image_tokenizer.model.pooler.state_dict()
    model = build_model(cfg, None, folder, seed=0)
    pooler = model.image_tokenizer.model.pooler
    for k, v in pooler.state_dict().items():
        assert torch.equal(v, fresh[k]), k
    assert not any(p.requires_grad for p in pooler.parameters())


def test_dino_vitb16_layout_is_the_triposr_vit_without_pooler():
    """At full size (meta tensors), transformers' DINO ViT has exactly tk's triposr ViT keys and shapes, less the pooler."""
    with torch.device("meta"):
        hf = HFViTModel(HFViTConfig(**DINO_VITB16), add_pooling_layer=False)
        tk_vit = TripoSR(load_model_config("triposr")).image_tokenizer.model
    hf_shapes = {to_v4_key(k): tuple(v.shape) for k, v in hf.state_dict().items()}
    ours = {k: tuple(v.shape) for k, v in tk_vit.state_dict().items() if not k.startswith("pooler.")}
    assert hf_shapes == ours
    assert len(ours) == 12 * 16 + 6


def test_a_dino_folder_of_another_architecture_is_one_line(tmp_path):
    """Same shapes, other head count or LayerNorm eps: refused, since the tokens would silently differ."""
    folder = tmp_path / "dino"
    hf_dino(folder, "save_pretrained")
    cfg = small_dino_train_config(48).model_config()
    for field, value in (("num_attention_heads", 8), ("layer_norm_eps", 1e-6)):
        other = config_from_dict({**cfg.to_official_dict(), "vit": {**SMALL_DINO, field: value}})
        with pytest.raises(TkError, match=field) as e:
            TripoSR(other).load_dino(folder)
        assert "\n" not in str(e.value)
