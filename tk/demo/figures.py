"""Figures of the demo drawn with PIL alone (matplotlib is not a dependency): the training loss curve."""

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
    """Draw `points` as a line chart with labelled axes (log-free, linear) into `out_png`."""
    from PIL import Image, ImageDraw

    if len(points) < 2:
        raise TkError(f"cannot plot {title}: {len(points)} logged point(s); train for more steps")
    w, h = size
    left, right, top, bottom = 64, 16, 32, 40
    steps = [p[0] for p in points]
    values = [p[1] for p in points]
    lo, hi = min(values), max(values)
    pad = (hi - lo) * 0.05 or abs(hi) * 0.05 or 1.0
    lo, hi = lo - pad, hi + pad
    s0, s1 = min(steps), max(steps)

    def xy(step: int, value: float) -> tuple[float, float]:
        x = left + (step - s0) / max(s1 - s0, 1) * (w - left - right)
        return x, top + (hi - value) / (hi - lo) * (h - top - bottom)

    img = Image.new("RGB", size, (255, 255, 255))
    draw = ImageDraw.Draw(img)
    draw.rectangle([left, top, w - right, h - bottom], outline=(0, 0, 0))
    for i in range(5):  # horizontal grid lines with value labels
        value = lo + (hi - lo) * i / 4
        _, y = xy(s0, value)
        draw.line([left, y, w - right, y], fill=(225, 225, 225))
        draw.text((4, y - 6), f"{value:.3g}", fill=(0, 0, 0))
    for i in range(5):
        step = round(s0 + (s1 - s0) * i / 4)
        x, _ = xy(step, lo)
        draw.text((x - 10, h - bottom + 6), str(step), fill=(0, 0, 0))
    draw.line([xy(s, v) for s, v in points], fill=(160, 200, 230), width=1)
    draw.line([xy(s, v) for s, v in zip(steps, smoothed(values), strict=True)], fill=(31, 119, 180), width=2)
    draw.text((left, 8), f"{title} (light: logged, dark: smoothed): {values[0]:.4g} -> {values[-1]:.4g}", fill=(0, 0, 0))
    draw.text((w // 2 - 12, h - 16), "step", fill=(0, 0, 0))
    with atomic.atomic_path(out_png) as tmp:
        img.save(tmp, format="PNG")
