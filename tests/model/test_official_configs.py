"""Every config the official TripoSR code accepts loads in tk and computes what the official code computes.

The official code builds transformers' ViT from the tokenizer's config.json and passes
`interpolate_pos_encoding=True`, so neither the input size (`cond_image_size`) nor the ViT's own
`image_size` has to be a multiple of the patch size: the stride-p patch convolution floors them.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
import yaml

from tk.errors import TkError
from tk.model import TripoSR, load_model_config


def ref_copy(tiny_ref_dir: Path, tmp_path: Path, cond_image_size: int | None = None, **vit: object) -> Path:
    """The official tiny reference folder, with config.yaml / the ViT config.json edited."""
    dst = tmp_path / "ckpt"
    shutil.copytree(tiny_ref_dir, dst)
    if cond_image_size is not None:
        raw = yaml.safe_load((dst / "config.yaml").read_text())
        raw["cond_image_size"] = cond_image_size
        (dst / "config.yaml").write_text(yaml.safe_dump(raw))
    if vit:
        path = dst / "tiny-dino-vit" / "config.json"
        path.write_text(json.dumps({**json.loads(path.read_text()), **vit}))
    return dst


def test_cond_image_size_not_a_multiple_of_the_patch_is_floored(tiny_ref_dir, tmp_path):
    """cond_image_size 70 at patch 16: floor(70/16)^2 = 16 patches; the last 6 rows and columns are never seen."""
    model = TripoSR.from_pretrained(ref_copy(tiny_ref_dir, tmp_path, cond_image_size=70))
    assert model.cfg.cond_image_size == 70
    torch.manual_seed(0)
    x = torch.rand(2, 3, 70, 70)
    with torch.no_grad():
        tokens = model.image_tokenizer(x)
        assert tokens.shape == (2, 1 + (70 // 16) ** 2, 64)
        # a stride-16 convolution ignores what does not fill a whole patch: the 64x64 crop gives the same tokens
        torch.testing.assert_close(tokens, model.image_tokenizer(x[..., :64, :64]), atol=0, rtol=0)
        x[..., 64:, :] = 0.5
        x[..., :, 64:] = 0.5
        torch.testing.assert_close(model.image_tokenizer(x), tokens, atol=0, rtol=0)
        codes = model.encode(x)
        assert codes.shape == (2, 3, 8, 16, 16) and torch.isfinite(codes).all()
        # the official call resizes any image to cond_image_size first
        assert model([torch.rand(40, 50, 3)], device="cpu").shape == (1, 3, 8, 16, 16)


def test_vit_image_size_not_a_multiple_of_the_patch_loads(tiny_ref_dir, tmp_path):
    """A ViT config.json with image_size 40 at patch 16 has a 2x2 table, as transformers builds it: the
    reference weights (made with image_size 32, also 2x2) load strictly and give the official scene codes."""
    from PIL import Image

    model = TripoSR.from_pretrained(ref_copy(tiny_ref_dir, tmp_path, image_size=40))
    assert model.cfg.vit.image_size == 40
    pil = Image.open(tiny_ref_dir / "input.png").convert("RGB")
    with torch.no_grad():
        codes = model([pil], device="cpu")
    torch.testing.assert_close(codes, torch.load(tiny_ref_dir / "scene_codes.pt", weights_only=True),
                               atol=1e-4, rtol=1e-4)


def test_vit_activations_equal_transformers():
    """Every ViT hidden_act tk accepts computes transformers' ACT2FN of that name."""
    from transformers.activations import ACT2FN

    from tk.model.config import VIT_ACTIVATIONS
    from tk.model.vit import ACTIVATIONS

    assert set(ACTIVATIONS) == set(VIT_ACTIVATIONS)
    x = torch.linspace(-12, 12, 2001, dtype=torch.float64).float()
    for name, fn in ACTIVATIONS.items():
        torch.testing.assert_close(fn(x), ACT2FN[name](x), atol=2e-6, rtol=1e-5, msg=name)


def test_a_vit_with_another_activation_loads_and_uses_it(tiny_ref_dir, tmp_path):
    """hidden_act quick_gelu (accepted by transformers' ViT) changes the tokens; an unknown name is one line."""
    ref = TripoSR.from_pretrained(tiny_ref_dir)
    quick = TripoSR.from_pretrained(ref_copy(tiny_ref_dir, tmp_path, hidden_act="quick_gelu"))
    x = torch.rand(1, 3, 48, 48)
    with torch.no_grad():
        diff = (quick.image_tokenizer(x) - ref.image_tokenizer(x)).abs().max()
    assert diff > 1e-3
    bad = ref_copy(tiny_ref_dir, tmp_path / "bad", hidden_act="gelu_magic")
    with pytest.raises(TkError, match="hidden_act 'gelu_magic'") as e:
        load_model_config(bad)
    assert "\n" not in str(e.value)
