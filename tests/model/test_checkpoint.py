"""Checkpoints load strictly and safely; every failure is one clear line; tk's own files round-trip."""

from __future__ import annotations

import os
import pickle
import shutil
from pathlib import Path

import pytest
import torch

from tk.errors import ContractError, TkError
from tk.model import TripoSR, load_model_config

DATA = Path(__file__).resolve().parents[1] / "data"


def copy_ref(tiny_ref_dir: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "ckpt"
    shutil.copytree(tiny_ref_dir, dst)
    return dst


def one_line(err: Exception) -> str:
    msg = str(err)
    assert "\n" not in msg
    return msg


def test_triposr_preset_has_the_official_keys_and_shapes():
    rows = [line.split("\t") for line in (DATA / "triposr_state_dict.tsv").read_text().splitlines() if line.strip()]
    official = {k: tuple(int(s) for s in shape.strip("()").split(",") if s.strip()) for k, shape, _ in rows}
    with torch.device("meta"):
        model = TripoSR(load_model_config("triposr"))
    sd = model.state_dict()
    assert len(sd) == len(official) == 549
    assert {k: tuple(v.shape) for k, v in sd.items()} == official
    assert sum(v.numel() for v in sd.values()) == 419_275_628
    assert all(v.dtype == torch.float32 for v in sd.values())


def test_missing_key_is_one_line(tiny_ref_dir, tmp_path):
    d = copy_ref(tiny_ref_dir, tmp_path)
    sd = torch.load(d / "model.ckpt", weights_only=True)
    del sd["decoder.layers.0.weight"]
    torch.save(sd, d / "model.ckpt")
    with pytest.raises(ContractError, match="1 missing key.*decoder.layers.0.weight"):
        TripoSR.from_pretrained(d)


def test_unexpected_key_is_one_line(tiny_ref_dir, tmp_path):
    d = copy_ref(tiny_ref_dir, tmp_path)
    sd = torch.load(d / "model.ckpt", weights_only=True)
    sd["decoder.extra.weight"] = torch.zeros(2)
    torch.save(sd, d / "model.ckpt")
    with pytest.raises(ContractError, match="unexpected key.*decoder.extra.weight") as e:
        TripoSR.from_pretrained(d)
    one_line(e.value)


def test_wrong_shape_is_one_line(tiny_ref_dir, tmp_path):
    d = copy_ref(tiny_ref_dir, tmp_path)
    sd = torch.load(d / "model.ckpt", weights_only=True)
    sd["tokenizer.embeddings"] = torch.zeros(3, 64, 4, 4)
    torch.save(sd, d / "model.ckpt")
    with pytest.raises(ContractError, match=r"wrong shape.*tokenizer.embeddings \(3, 64, 4, 4\) != \(3, 64, 8, 8\)") as e:
        TripoSR.from_pretrained(d)
    one_line(e.value)


class _RunsCode:
    """A pickle payload that would create a file when unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_malicious_pickle_is_refused_without_running_it(tiny_ref_dir, tmp_path):
    d = copy_ref(tiny_ref_dir, tmp_path)
    marker = tmp_path / "pwned"
    with open(d / "model.ckpt", "wb") as fh:
        pickle.dump({"decoder.layers.0.weight": _RunsCode(marker)}, fh, protocol=2)
    with open(d / "model.ckpt", "rb") as fh:  # the payload is real: a plain unpickler would run it
        assert b"system" in fh.read()
    with pytest.raises(ContractError, match="refused to load: not a plain tensor checkpoint \\(.*GLOBAL .*system") as e:
        TripoSR.from_pretrained(d)
    one_line(e.value)
    assert not marker.exists()


def test_garbage_and_missing_files(tiny_ref_dir, tmp_path):
    d = copy_ref(tiny_ref_dir, tmp_path)
    (d / "model.ckpt").write_bytes(b"not a checkpoint")
    with pytest.raises(ContractError, match="refused to load: not a plain tensor checkpoint"):
        TripoSR.from_pretrained(d)
    (d / "model.ckpt").unlink()
    with pytest.raises(TkError, match="no weights found; put model.safetensors"):
        TripoSR.from_pretrained(d)
    with pytest.raises(TkError, match="no config.yaml"):
        TripoSR.from_pretrained(tmp_path / "nowhere")


def test_save_pretrained_round_trips_and_is_self_contained(ref_model, tmp_path):
    ref_model.save_pretrained(tmp_path / "out")
    files = sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert files == ["config.yaml", "model.safetensors", "tiny-dino-vit/config.json"]
    again = TripoSR.from_pretrained(tmp_path / "out")
    assert again.cfg == ref_model.cfg
    for (k, a), (k2, b) in zip(ref_model.state_dict().items(), again.state_dict().items()):
        assert k == k2 and torch.equal(a, b)


def test_official_vit_name_is_resolved_without_network(tmp_path):
    with torch.device("meta"):
        model = TripoSR(load_model_config("triposr"))
    from tk.model.config import write_model_config

    write_model_config(model.cfg, tmp_path)
    assert (tmp_path / "facebook/dino-vitb16/config.json").is_file()
    assert load_model_config(tmp_path).vit.hidden_size == 768


@pytest.mark.parametrize("edit, message", [
    (lambda t: t.replace("plane_size: 8", "plane_size: 8\n  colour: red"), "tokenizer.*unknown key.*colour"),
    (lambda t: t.replace("in_channels: 24", "in_channels: 25"), "decoder.in_channels must be 3 x"),
    (lambda t: t.replace("tk-vit-tiny", "no-such-vit"), "put its ViT config.json at"),
    (lambda t: t.replace("exp\n", "trunc_exp\n"), "density_activation 'trunc_exp'"),
    (lambda t: t + "\n: [", "not valid YAML"),
])
def test_bad_configs_are_one_line(tmp_path, edit, message):
    from tk.model.config import PRESETS_DIR

    shutil.copytree(PRESETS_DIR / "tk-vit-tiny", tmp_path / "tk-vit-tiny")
    (tmp_path / "config.yaml").write_text(edit((PRESETS_DIR / "tiny.yaml").read_text()))
    with pytest.raises(TkError, match=message) as e:
        load_model_config(tmp_path / "config.yaml")
    one_line(e.value)


def test_unknown_preset_names_the_choices():
    with pytest.raises(TkError, match="give a preset \\(tiny, cpu, small, triposr\\)"):
        load_model_config("huge")


def test_load_dino_maps_hf_names(tmp_path):
    """A local HF ViT folder (transformers 5 names, `vit.` prefix absent) loads into the tokenizer."""
    from safetensors.torch import save_file

    from tk.model.dino import to_v4_key

    torch.manual_seed(1)
    model = TripoSR(load_model_config("tiny"))
    src = {k: torch.randn_like(v) for k, v in model.image_tokenizer.model.state_dict().items()}
    v5 = {}
    for k, v in src.items():
        k5 = k.replace("encoder.layer.", "layers.").replace(".attention.attention.query.", ".attention.q_proj.")
        k5 = k5.replace(".intermediate.dense.", ".mlp.fc1.")
        assert to_v4_key(k5) == k
        v5[k5] = v
    with pytest.raises(TkError, match="put the Hugging Face facebook/dino-vitb16 files there"):
        model.load_dino(tmp_path)
    (tmp_path / "config.json").write_text("{}")
    save_file(v5, str(tmp_path / "model.safetensors"))
    model.load_dino(tmp_path)
    for k, v in model.image_tokenizer.model.state_dict().items():
        assert torch.equal(v, src[k]), k


def test_a_config_whose_vit_is_an_absolute_folder_saves_self_contained(tmp_path):
    """A run whose model names its ViT by an absolute path (allowed to load) must still save checkpoints:
    the saved folder holds the ViT config under a relative name and loads back to the same architecture."""
    import dataclasses

    from tk.model.config import write_model_config

    cfg = load_model_config("tiny")
    vit_dir = tmp_path / "elsewhere" / "my-vit"
    write_model_config(cfg, tmp_path / "src")  # a real ViT config.json to point at
    vit_dir.parent.mkdir(parents=True)
    shutil.copytree(tmp_path / "src" / cfg.image_tokenizer.pretrained_model_name_or_path, vit_dir)
    cfg = dataclasses.replace(cfg, image_tokenizer=dataclasses.replace(
        cfg.image_tokenizer, pretrained_model_name_or_path=str(vit_dir)))
    write_model_config(cfg, tmp_path / "ckpt")
    files = sorted(p.relative_to(tmp_path / "ckpt").as_posix() for p in (tmp_path / "ckpt").rglob("*") if p.is_file())
    assert files == ["config.yaml", "my-vit/config.json"]
    again = load_model_config(tmp_path / "ckpt")
    assert again.vit == cfg.vit and again.image_tokenizer.pretrained_model_name_or_path == "my-vit"


def test_upsample_factor_gives_finer_planes_and_survives_a_save(tmp_path):
    """post_processor.upsample_factor (tk-only): each token becomes an f x f block of texels, W^T x + b."""
    import dataclasses

    import yaml

    cfg = load_model_config("tiny")
    assert "upsample_factor" not in yaml.safe_dump(cfg.to_official_dict())  # the official layout, unchanged
    cfg4 = dataclasses.replace(cfg, post_processor=dataclasses.replace(cfg.post_processor, upsample_factor=4))
    assert cfg4.plane_resolution == 4 * cfg.tokenizer.plane_size
    torch.manual_seed(0)
    model = TripoSR(cfg4)
    p = cfg.tokenizer.plane_size
    tokens = torch.randn(1, 3, cfg.tokenizer.num_channels, p, p)
    planes = model.post_processor(tokens)
    assert planes.shape == (1, 3, cfg.post_processor.out_channels, 4 * p, 4 * p)
    conv = model.post_processor.upsample
    block = torch.einsum("c,cohw->ohw", tokens[0, 1, :, 2, 3], conv.weight) + conv.bias[:, None, None]
    assert torch.allclose(planes[0, 1, :, 8:12, 12:16], block, atol=1e-5)
    model.save_pretrained(tmp_path / "m")
    assert yaml.safe_load((tmp_path / "m" / "config.yaml").read_text())["post_processor"]["upsample_factor"] == 4
    again = TripoSR.from_pretrained(tmp_path / "m")
    assert again.cfg.plane_resolution == 4 * p
    assert torch.equal(again.post_processor(tokens), planes)
