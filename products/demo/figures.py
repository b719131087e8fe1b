"""Figures of the demo drawn with matplotlib: the training loss curve."""

from __future__ import annotations

import json
import math
from pathlib import Path

from tk import atomic
from tk.errors import TkError


def read_losses(metrics_jsonl: Path, key: str = "loss") -> list[tuple[int, float]]:
    """(step, value) pairs of `key` from a run's metrics.jsonl, skipping lines without a finite value."""
    points = []
    for line in Path(metrics_jsonl).read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue  # a line cut by a kill mid-write
        value = row.get(key)
        if isinstance(value, (int, float)) and math.isfinite(value) and "step" in row:
            points.append((int(row["step"]), float(value)))
    return points


def smoothed(values: list[float], weight: float = 0.6) -> list[float]:
    """Exponential moving average (TensorBoard's smoothing), so a noisy small-batch curve shows its trend."""
    out, acc = [], values[0] if values else 0.0
    for v in values:
        acc = weight * acc + (1 - weight) * v
        out.append(acc)
    return out


def loss_plot(points: list[tuple[int, float]], out_png: Path, title: str = "training loss",
              size: tuple[int, int] = (640, 400)) -> None:
    """Draw `points` (logged, light) and their smoothed trend (dark) against the step into `out_png` (matplotlib)."""
    import matplotlib

    matplotlib.use("Agg")  # no display; only files
    import matplotlib.pyplot as plt

    if len(points) < 2:
        raise TkError(f"cannot plot {title}: {len(points)} logged point(s); train for more steps")
    steps = [p[0] for p in points]
    values = [p[1] for p in points]
    fig, ax = plt.subplots(figsize=(size[0] / 100, size[1] / 100), dpi=100)
    ax.plot(steps, values, color="#a0c8e6", linewidth=1, label="logged")
    ax.plot(steps, smoothed(values), color="#1f77b4", linewidth=2, label="smoothed")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title(f"{title}: {values[0]:.4g} -> {values[-1]:.4g}", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    with atomic.atomic_path(out_png) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
