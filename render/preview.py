"""`contact_sheet`: an objects x views grid of a render folder, each view shown on a checkerboard beside
its mask, so a person can see at a glance what a dataset holds."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tk import atomic
from tk.contracts import renders
from tk.errors import TkError


def contact_sheet(renders_dir: str | Path, out_png: str | Path, max_objects: int = 16, max_views: int = 8,
                  cell: int = 128, masks: bool = True) -> dict[str, int]:
    """Write a PNG grid (one row per object, rgba [+ mask] per view); return its object and view counts."""
    from PIL import Image, ImageDraw

    if not renders.shard_paths(renders_dir):
        raise TkError(f"{renders_dir}: no {renders.SHARDS_DIR}/{renders.SHARD_PATTERN}; render into it with "
                      f"`tk render ... --out {renders_dir}`")
    views: dict[str, dict[int, bytes]] = {}
    for r in renders.read_views(renders_dir, columns=["uid", "view", "rgba"]):
        if r["uid"] in views or len(views) < max_objects:
            views.setdefault(r["uid"], {})[r["view"]] = r["rgba"]
    uids = sorted(views)[:max_objects]
    n_views = min(max_views, max(len(v) for v in views.values()))
    per_view = 2 if masks else 1
    label_w = 90
    sheet = Image.new("RGB", (label_w + n_views * per_view * cell, len(uids) * cell), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    board = _checkerboard(cell)
    for row, uid in enumerate(uids):
        draw.text((4, row * cell + cell // 2 - 6), uid[:10], fill=(0, 0, 0))
        for col, view in enumerate(sorted(views[uid])[:n_views]):
            rgba = Image.fromarray(renders.decode_rgba_u8(views[uid][view]), "RGBA").resize((cell, cell), Image.NEAREST)
            x = label_w + col * per_view * cell
            sheet.paste(Image.alpha_composite(board, rgba).convert("RGB"), (x, row * cell))
            if masks:
                sheet.paste(rgba.getchannel("A").convert("RGB"), (x + cell, row * cell))
    with atomic.atomic_path(out_png) as tmp:
        sheet.save(tmp, format="PNG")
    return {"objects": len(uids), "views": n_views}


def _checkerboard(size: int, square: int = 16) -> "Image.Image":
    from PIL import Image

    idx = (np.arange(size)[:, None] // square + np.arange(size)[None, :] // square) % 2
    grey = np.where(idx == 0, 200, 235).astype(np.uint8)
    return Image.fromarray(np.stack([grey, grey, grey, np.full_like(grey, 255)], axis=-1), "RGBA")
