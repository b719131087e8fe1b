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


def tiny_config(tmp_path: Path, edit=lambda t: t, **sections: dict):
    """configs/tiny.yaml as an official-format file, text-edited, then section keys set."""
    from tk.model.config import PRESETS_DIR

    folder = tmp_path / "cfg"
    shutil.copytree(PRESETS_DIR / "tk-vit-tiny", folder / "tk-vit-tiny")
    raw = yaml.safe_load(edit((PRESETS_DIR / "tiny.yaml").read_text()))
    for name, values in sections.items():
        raw[name].update(values)
    (folder / "config.yaml").write_text(yaml.safe_dump(raw))
    return load_model_config(folder / "config.yaml")


def test_a_section_that_leaves_keys_out_gets_the_official_defaults(tmp_path):
    """Official Transformer1D defaults: attention_head_dim 88, num_layers 1; NeRFMLP: activation relu."""
    drop = ("  attention_head_dim: 16\n", "  num_layers: 2\n", "  activation: silu\n")

    def edit(text: str) -> str:
        for line in drop:
            assert line in text
            text = text.replace(line, "")
        return text

    cfg = tiny_config(tmp_path, edit)
    assert (cfg.backbone.attention_head_dim, cfg.backbone.num_layers, cfg.decoder.activation) == (88, 1, "relu")
    model = TripoSR(cfg)
    assert len(model.backbone.transformer_blocks) == 1
    assert model.backbone.proj_in.weight.shape == (4 * 88, 64)
    assert any(isinstance(m, torch.nn.ReLU) for m in model.decoder.modules())


@pytest.mark.parametrize("activation_fn", ["geglu", "gelu", "gelu-approximate", "geglu-approximate"])
def test_every_official_feed_forward_builds_and_computes_its_formula(tmp_path, activation_fn):
    import torch.nn.functional as F

    model = TripoSR(tiny_config(tmp_path, backbone={"activation_fn": activation_fn}))
    ff = model.backbone.transformer_blocks[0].ff
    proj, out = ff.net[0].proj, ff.net[2]
    assert proj.weight.shape == ((2 if activation_fn == "geglu" else 1) * 4 * 64, 64)
    x = torch.randn(2, 5, 64)
    h = proj(x)
    act = {"geglu": lambda h: h.chunk(2, -1)[0] * F.gelu(h.chunk(2, -1)[1]),
           "gelu": F.gelu,
           "gelu-approximate": lambda h: F.gelu(h, approximate="tanh"),
           "geglu-approximate": lambda h: h * torch.sigmoid(1.702 * h)}[activation_fn]
    with torch.no_grad():
        torch.testing.assert_close(ff(x), out(act(h)))


def test_official_attention_switches(tmp_path):
    """only_cross_attention: attn1 attends to the image tokens; double_self_attention: attn2 projects from
    the block width (cross_attention_dim is then unused); upcast_attention: accepted, changes nothing."""
    torch.manual_seed(0)
    block = TripoSR(tiny_config(tmp_path / "a", backbone={"only_cross_attention": True,
                                                          "cross_attention_dim": 64})).backbone.transformer_blocks[0]
    assert block.attn1.to_k.in_features == 64
    torch.nn.init.zeros_(block.attn2.to_out[0].weight), torch.nn.init.zeros_(block.attn2.to_out[0].bias)
    h, c1, c2 = torch.randn(1, 6, 64), torch.randn(1, 9, 64), torch.randn(1, 9, 64)
    with torch.no_grad():
        assert (block(h, c1) - block(h, c2)).abs().max() > 1e-3  # only attn1 can see the image now
    cfg = tiny_config(tmp_path / "b", backbone={"double_self_attention": True, "cross_attention_dim": 48})
    assert TripoSR(cfg).backbone.transformer_blocks[0].attn2.to_k.in_features == 4 * 16
    with pytest.raises(TkError, match="double_self_attention") as e:
        tiny_config(tmp_path / "c", backbone={"double_self_attention": True, "attention_head_dim": 8})
    assert "\n" not in str(e.value)
    torch.manual_seed(1)
    plain = TripoSR(tiny_config(tmp_path / "d"))
    upcast = TripoSR(tiny_config(tmp_path / "e", backbone={"upcast_attention": True}))
    upcast.load_state_dict(plain.state_dict())
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(upcast.encode(x), plain.encode(x), atol=0, rtol=0)


def test_renderer_activations_resolve_like_get_activation(tmp_path):
    """Official get_activation: case-insensitive, its own names, else torch.nn.functional's."""
    import torch.nn.functional as F

    cfg = tiny_config(tmp_path, renderer={"density_activation": "Softplus", "color_activation": "tanh"})
    model = TripoSR(cfg)
    codes = torch.randn(3, 8, 16, 16)
    points = torch.rand(50, 3) - 0.5
    q = model.renderer.query_triplane(model.decoder, points, codes)
    torch.testing.assert_close(q["density_act"], F.softplus(q["density"] - 1.0))
    torch.testing.assert_close(q["color"], torch.tanh(q["features"]))
    cfg = tiny_config(tmp_path / "relu", renderer={"density_activation": "relu"})
    q = TripoSR(cfg).renderer.query_triplane(model.decoder, points, codes)
    torch.testing.assert_close(q["density_act"], F.relu(q["density"] - 1.0))


def test_decoder_options_of_the_official_code(tmp_path):
    """n_hidden_layers 0 builds what 1 builds (range(-1) is empty there); bias_init zero; unknown inits refused."""
    zero = TripoSR(tiny_config(tmp_path / "a", decoder={"n_hidden_layers": 0, "bias_init": "zero"})).decoder
    one = TripoSR(tiny_config(tmp_path / "b", decoder={"n_hidden_layers": 1})).decoder
    assert {k: v.shape for k, v in zero.state_dict().items()} == {k: v.shape for k, v in one.state_dict().items()}
    assert all(torch.count_nonzero(m.bias) == 0 for m in zero.modules() if isinstance(m, torch.nn.Linear))
    for key, value in (("weight_init", "xavier"), ("bias_init", "one")):
        with pytest.raises(TkError, match=f"decoder {key}") as e:
            tiny_config(tmp_path / key, decoder={key: value})
        assert "\n" not in str(e.value)
