"""Optimiser defaults of a run started from trained weights (`tk train --init`): configs/train/finetune.yaml.

The presets hold from-scratch values (4e-4 and 2000 warmup steps for `triposr`), which move the released
weights far too fast on 8 objects a step. With `--init`, lr, warmup_steps and grad_clip come from the
`finetune` preset wherever the user has not chosen them: a preset name chooses none, a config file
keeps every one it sets.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tk.errors import TkError
from tk.train.config import PRESETS, PRESETS_DIR, TrainConfig, config_from_dict, load_config

FINETUNE_KEYS = ("lr", "warmup_steps", "grad_clip")


def finetune_optim() -> dict[str, Any]:
    """lr, warmup_steps and grad_clip of the `finetune` preset."""
    optim = load_config("finetune").optim
    return {key: getattr(optim, key) for key in FINETUNE_KEYS}


def config_for_init(name_or_path: str | Path) -> tuple[TrainConfig, dict[str, Any]]:
    """The config of a run that starts from trained weights, and the fine-tuning values it took (all unset ones)."""
    name = str(name_or_path)
    path = PRESETS_DIR / f"{name}.yaml" if name in PRESETS else Path(name_or_path)
    config = load_config(name_or_path)  # validates, and gives the one-line errors of a bad name or file
    raw = yaml.safe_load(path.read_text())
    optim = raw.get("optim") if name not in PRESETS else None
    chosen = set(optim) if isinstance(optim, dict) else set()
    applied = {k: v for k, v in finetune_optim().items() if k not in chosen}
    if not applied:
        return config, {}
    out = config.to_dict()
    out["optim"].update(applied)
    try:
        return config_from_dict(out), applied
    except TkError as e:
        raise TkError(f"{e} (with the fine-tuning defaults of --init: {applied})") from None
