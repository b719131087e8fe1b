"""Initialise the image tokenizer from a local Hugging Face `facebook/dino-vitb16` folder (--init-dino)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch
from torch import nn

from tk.errors import TkError
from tk.model.checkpoint import read_state_dict
from tk.model.config import ViTConfig

# transformers >= 5 renamed the ViT layer parameters; map them back to the 4.x names tk uses.
_V5_TO_V4 = (
    (".attention.q_proj.", ".attention.attention.query."),
    (".attention.k_proj.", ".attention.attention.key."),
    (".attention.v_proj.", ".attention.attention.value."),
    (".attention.o_proj.", ".attention.output.dense."),
    (".mlp.fc1.", ".intermediate.dense."),
    (".mlp.fc2.", ".output.dense."),
)


def to_v4_key(key: str) -> str:
    """An HF ViT checkpoint key (4.x or 5.x naming, with or without the `vit.` prefix) -> tk's name."""
    for prefix in ("vit.", "model."):
        if key.startswith(prefix):
            key = key[len(prefix):]
    if key.startswith("layers."):
        key = "encoder.layer." + key[len("layers."):]
        for new, old in _V5_TO_V4:
            key = key.replace(new, old, 1)
    return key


# Fields whose mismatch the tensor shapes cannot reveal (heads, epsilon, activation) are compared too.
_ARCH_FIELDS = ("hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size", "image_size",
                "patch_size", "num_channels", "hidden_act", "layer_norm_eps", "qkv_bias")


def _check_architecture(cfg: ViTConfig, path: Path) -> None:
    """Refuse a DINO folder whose config.json describes another ViT than the configured one."""
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise TkError(f"--init-dino {path}: not a readable JSON config ({e})") from None
    for name in _ARCH_FIELDS:
        if name not in raw:
            continue
        ours, theirs = getattr(cfg, name), raw[name]
        same = math.isclose(ours, theirs, rel_tol=1e-6) if isinstance(ours, float) else ours == theirs
        if not same:
            raise TkError(f"--init-dino {path.parent}: its config.json has {name} {theirs!r} where the model config's ViT "
                          f"has {ours!r}; give the folder of the ViT the config names (facebook/dino-vitb16)")


def load_dino_into(vit: nn.Module, folder: Path) -> None:
    """Load pytorch_model.bin / model.safetensors of an HF ViT folder into `vit` (tk ViTModel).

    Every encoder tensor must be there with the configured shape. The pooler is optional: the DINO
    conversion saves ViTModel(add_pooling_layer=False), so facebook/dino-vitb16 has none. tk's pooler
    exists only so official TripoSR checkpoints load strictly and is never used, so it keeps its
    initialisation unless the folder brings one.
    """
    folder = Path(folder)
    files = [folder / n for n in ("model.safetensors", "pytorch_model.bin") if (folder / n).is_file()]
    if not (folder / "config.json").is_file() or not files:
        raise TkError(f"--init-dino {folder}: put the Hugging Face facebook/dino-vitb16 files there "
                      "(config.json and model.safetensors or pytorch_model.bin)")
    _check_architecture(vit.config, folder / "config.json")
    sd = {to_v4_key(k): v for k, v in read_state_dict(files[0]).items()}
    own = vit.state_dict()
    missing = sorted(k for k in set(own) - set(sd) if not k.startswith("pooler."))
    extra = sorted(set(sd) - set(own))
    if missing or extra:
        raise TkError(f"--init-dino {folder}: keys do not match the ViT (missing {missing[:3]}, unexpected "
                      f"{extra[:3]}): is it facebook/dino-vitb16?")
    bad = [k for k in sd if own[k].shape != sd[k].shape]
    if bad:
        raise TkError(f"--init-dino {folder}: shapes differ from the configured ViT ({bad[:2]}): check config.yaml")
    with torch.no_grad():
        vit.load_state_dict(sd, strict=False)
