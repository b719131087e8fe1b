"""The demo's picture of what training achieved: per training object, its input, then prediction beside ground
truth on views it never trained on, each pair labelled with its mask IoU and PSNR (drawn with matplotlib)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from tk import atomic


def fit_sheet(rows: list[dict[str, Any]], out_png: Path, cell: int = 128) -> None:
    """rows: {"title", "input" (H,W,3), "pairs": [(pred, gt, iou, psnr), ...]} -> one labelled PNG (matplotlib)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pairs = max(len(r["pairs"]) for r in rows)
    cols = 1 + 2 * pairs
    inch = cell / 100
    fig, axes = plt.subplots(len(rows), cols, figsize=(inch * cols + 1.2, inch * len(rows) + 0.4), dpi=100,
                             squeeze=False)
    for i, row in enumerate(rows):
        tiles = [(row["input"], "input")]
        for k, (pred, gt, iou, psnr) in enumerate(row["pairs"]):
            tiles += [(pred, f"view {k + 1} predicted\nIoU {iou:.2f}, {psnr:.1f} dB"), (gt, f"view {k + 1} truth")]
        for j in range(cols):
            ax = axes[i, j]
            ax.set_xticks([])
            ax.set_yticks([])
            if j < len(tiles):
                pic, label = tiles[j]
                ax.imshow(np.clip(pic, 0, 1), interpolation="nearest")
                ax.set_xlabel(label, fontsize=6)
            else:
                ax.axis("off")
        axes[i, 0].set_ylabel(row["title"][:22], fontsize=7)
    fig.tight_layout(pad=0.3)
    with atomic.atomic_path(out_png) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
