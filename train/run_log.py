"""What a run records: `metrics.jsonl` (one JSON object per logged step) and TensorBoard in `tb/`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from tk import atomic


def truncate_metrics(path: Path, after_step: int) -> None:
    """Drop lines logged after `after_step` (a resumed run logs them again), atomically."""
    if not path.is_file():
        return
    kept = []
    for line in path.read_text().splitlines():
        try:
            if json.loads(line).get("step", 0) <= after_step:
                kept.append(line)
        except ValueError:
            continue  # a line cut by a kill mid-write
    atomic.write_text(path, "".join(f"{line}\n" for line in kept))


class RunLog:
    """Appends metrics lines and TensorBoard scalars/images; only the main process creates one."""

    def __init__(self, run: Path) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.path = Path(run) / "metrics.jsonl"
        self.tb = SummaryWriter(str(Path(run) / "tb"))

    def scalars(self, step: int, values: dict[str, Any]) -> None:
        """One metrics.jsonl line {"step": step, **values} and a TensorBoard scalar per number."""
        with open(self.path, "a") as fh:
            fh.write(json.dumps({"step": step, **values}) + "\n")
            fh.flush()
        for name, value in values.items():
            if isinstance(value, (int, float)):
                self.tb.add_scalar(f"train/{name}", value, step)

    def images(self, step: int, batch: dict[str, torch.Tensor], rgb: torch.Tensor, opacity: torch.Tensor) -> None:
        """A grid per view of the first object: input, predicted patch, target patch, opacity, mask."""
        import torch.nn.functional as F
        from torchvision.utils import make_grid

        p = batch["rgb"].shape[2]
        inp = F.interpolate(batch["input"][:1].float().cpu(), size=(p, p), mode="bilinear", antialias=True)[0]
        tiles = []
        for v in range(batch["rgb"].shape[1]):
            gray = lambda t: t.permute(2, 0, 1).expand(3, -1, -1)  # noqa: E731 (1,P,P) mask -> 3 channels
            tiles += [inp, rgb[0, v].float().cpu().permute(2, 0, 1).clamp(0, 1), batch["rgb"][0, v].permute(2, 0, 1),
                      gray(opacity[0, v].float().cpu().clamp(0, 1)), gray(batch["mask"][0, v])]
        self.tb.add_image("train/input_pred_target_opacity_mask", make_grid(tiles, nrow=5, padding=1), step)

    def close(self) -> None:
        """Flush TensorBoard."""
        self.tb.close()
