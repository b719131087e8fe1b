"""The demo's picture of what training achieved: per training object, its input, then prediction beside ground
truth on views it never trained on, each pair labelled with its mask IoU and PSNR (drawn with PIL)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from tk import atomic


def fit_sheet(rows: list[dict[str, Any]], out_png: Path, cell: int = 128) -> None:
    """rows: {"title", "input" (H,W,3), "pairs": [(pred, gt, iou, psnr), ...]} -> one labelled PNG."""
    from PIL import Image, ImageDraw

    pairs = max(len(r["pairs"]) for r in rows)
    label_w, head = 150, 22
    width = label_w + cell * (1 + 2 * pairs)
    img = Image.new("RGB", (width, head + cell * len(rows)), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    draw.text((label_w + 4, 4), "input", fill=(0, 0, 0))
    for k in range(pairs):
        x = label_w + cell * (1 + 2 * k)
        draw.text((x + 4, 4), f"novel view {k + 1}: predicted | ground truth", fill=(0, 0, 0))

    def paste(pic: np.ndarray, x: int, y: int) -> None:
        tile = Image.fromarray((np.clip(pic, 0, 1) * 255).astype(np.uint8)).resize((cell, cell), Image.NEAREST)
        img.paste(tile, (x, y))

    for i, row in enumerate(rows):
        y = head + i * cell
        draw.text((4, y + cell // 2 - 6), row["title"][:22], fill=(0, 0, 0))
        paste(row["input"], label_w, y)
        for k, (pred, gt, iou, psnr) in enumerate(row["pairs"]):
            x = label_w + cell * (1 + 2 * k)
            paste(pred, x, y)
            paste(gt, x + cell, y)
            draw.rectangle([x, y + cell - 14, x + cell - 1, y + cell - 1], fill=(255, 255, 255))
            draw.text((x + 3, y + cell - 13), f"IoU {iou:.2f}  {psnr:.1f} dB", fill=(0, 0, 0))
    with atomic.atomic_path(out_png) as tmp:
        img.save(tmp, format="PNG")
