"""What a run records: `metrics.jsonl` (one JSON object per logged step) and TensorBoard in `tb/`.

A write the storage refuses (a full disk) raises a StorageError naming the file or folder (tk.faults), whichever of
the two meets it first: TensorBoard writes in a thread of its own and raises that thread's error at its next call.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

from tk import atomic, faults


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
        self.tb_dir = Path(run) / "tb"
        # TensorBoard's writer thread also prints its error with a traceback; the one line is said by this process
        self._hook = threading.excepthook
        threading.excepthook = self._thread_error
        try:
            with _named(self.tb_dir):
                self.tb = SummaryWriter(str(self.tb_dir))
        except BaseException:
            threading.excepthook = self._hook
            raise

    def scalars(self, step: int, values: dict[str, Any]) -> None:
        """One metrics.jsonl line {"step": step, **values} and a TensorBoard scalar per number."""
        with _named(self.path), open(self.path, "a") as fh:
            fh.write(json.dumps({"step": step, **values}) + "\n")
            fh.flush()
        with _named(self.tb_dir):
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
        with _named(self.tb_dir):
            self.tb.add_image("train/input_pred_target_opacity_mask", make_grid(tiles, nrow=5, padding=1), step)

    def close(self, failed: bool = False) -> None:
        """Flush TensorBoard. After the run `failed`, an error of its own is dropped: the run's error says what
        happened (on a full disk TensorBoard's last flush fails too)."""
        try:
            with _named(self.tb_dir), (contextlib.suppress(Exception) if failed else contextlib.nullcontext()):
                self.tb.close()
        finally:  # once its thread has stopped
            if threading.excepthook == self._thread_error:
                threading.excepthook = self._hook

    def _thread_error(self, args: threading.ExceptHookArgs) -> None:
        # TensorBoard's writer thread keeps its error for its next call, which raises it here as one line
        if not (type(args.thread).__module__.startswith("tensorboard.") and isinstance(args.exc_value, OSError)):
            self._hook(args)


@contextlib.contextmanager
def _named(path: Path) -> Iterator[None]:
    """Raise a storage fault of the block as a StorageError naming `path` (Python's says only "[Errno 28]")."""
    try:
        yield
    except OSError as e:
        err = faults.as_storage_error(e, path)
        if err is None or err is e:
            raise
        raise err from e
