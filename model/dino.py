"""Initialise the image tokenizer from a local Hugging Face `facebook/dino-vitb16` folder (--init-dino)."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from tk.errors import TkError
from tk.model.checkpoint import read_state_dict

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


def load_dino_into(vit: nn.Module, folder: Path) -> None:
    """Load pytorch_model.bin / model.safetensors of an HF ViT folder into `vit` (tk ViTModel), strictly."""
    folder = Path(folder)
    files = [folder / n for n in ("model.safetensors", "pytorch_model.bin") if (folder / n).is_file()]
    if not (folder / "config.json").is_file() or not files:
        raise TkError(f"--init-dino {folder}: put the Hugging Face facebook/dino-vitb16 files there "
                      "(config.json and model.safetensors or pytorch_model.bin)")
    sd = {to_v4_key(k): v for k, v in read_state_dict(files[0]).items()}
    own = vit.state_dict()
    missing = sorted(set(own) - set(sd))
    extra = sorted(set(sd) - set(own))
    if missing or extra:
        raise TkError(f"--init-dino {folder}: keys do not match the ViT (missing {missing[:3]}, unexpected "
                      f"{extra[:3]}): is it facebook/dino-vitb16?")
    bad = [k for k in own if own[k].shape != sd[k].shape]
    if bad:
        raise TkError(f"--init-dino {folder}: shapes differ from the configured ViT ({bad[:2]}): check config.yaml")
    with torch.no_grad():
        vit.load_state_dict(sd, strict=True)
