"""Reading and writing TripoSR weights safely: safetensors, or torch.load(weights_only=True); strict checks."""

from __future__ import annotations

import pickle
from pathlib import Path

import torch
from torch import nn

from tk.atomic import atomic_path
from tk.errors import ContractError, TkError

WEIGHT_FILES = ("model.safetensors", "model.ckpt")


def find_weights(folder: Path) -> Path:
    """The weight file of a checkpoint folder (model.safetensors preferred over model.ckpt)."""
    for name in WEIGHT_FILES:
        if (folder / name).is_file():
            return folder / name
    raise TkError(f"{folder}: no weights found; put model.safetensors (tk) or model.ckpt (official TripoSR) "
                  "beside config.yaml")


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """Load tensors without running code: safetensors, or a pickle restricted to tensors (weights_only)."""
    path = Path(path)
    if path.suffix == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            return load_file(str(path))
        except (SafetensorError, OSError) as e:
            raise ContractError(f"{path}: not a readable safetensors file ({e})") from None
    try:
        sd = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        # weights_only's unpickler stops at any global or opcode outside plain tensors, so nothing ran
        lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
        why = [ln for ln in lines[1:] if not ln.startswith(("Please file", "Check the documentation"))]
        detail = (why or lines or ["unreadable"])[0][:120]
        raise ContractError(f"{path}: refused to load: not a plain tensor checkpoint ({detail}); tk reads weights "
                            "only with torch.load(weights_only=True) or safetensors, which never run code") from None
    except (RuntimeError, EOFError, OSError) as e:
        raise ContractError(f"{path}: not a readable torch checkpoint ({str(e).splitlines()[0][:160]})") from None
    if isinstance(sd, dict) and "state_dict" in sd and isinstance(sd["state_dict"], dict):
        sd = sd["state_dict"]  # Lightning-style wrapper
    if not isinstance(sd, dict) or not all(isinstance(v, torch.Tensor) for v in sd.values()):
        raise ContractError(f"{path}: expected a state_dict (a mapping of names to tensors)")
    return sd


def _names(keys: list[str], limit: int = 3) -> str:
    more = f" and {len(keys) - limit} more" if len(keys) > limit else ""
    return ", ".join(keys[:limit]) + more


def check_state_dict(model: nn.Module, sd: dict[str, torch.Tensor], source: str) -> None:
    """Raise ContractError (one line) on missing or unexpected keys or wrong shapes."""
    own = model.state_dict()
    missing = sorted(set(own) - set(sd))
    unexpected = sorted(set(sd) - set(own))
    if missing:
        raise ContractError(f"{source}: {len(missing)} missing key(s) ({_names(missing)}): the weights do not match "
                            "config.yaml or are incomplete")
    if unexpected:
        raise ContractError(f"{source}: {len(unexpected)} unexpected key(s) ({_names(unexpected)}): the weights do "
                            "not match config.yaml")
    wrong = [f"{k} {tuple(sd[k].shape)} != {tuple(v.shape)}" for k, v in own.items() if sd[k].shape != v.shape]
    if wrong:
        raise ContractError(f"{source}: {len(wrong)} tensor(s) with the wrong shape ({_names(wrong, 2)}): the "
                            "weights were made for another config.yaml")


def load_weights(model: nn.Module, path: Path) -> None:
    """Strictly load a weight file into `model` (checked first, so errors are one line)."""
    sd = read_state_dict(path)
    check_state_dict(model, sd, str(path))
    model.load_state_dict(sd, strict=True, assign=any(p.is_meta for p in model.parameters()))


def save_weights(model: nn.Module, path: Path) -> None:
    """Write model.safetensors atomically (contiguous fp32 copies, official key names)."""
    from safetensors.torch import save_file

    sd = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    with atomic_path(path) as tmp:
        save_file(sd, str(tmp), metadata={"format": "pt", "producer": "tk"})
