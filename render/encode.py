"""Blender's render passes into the shard contract's bytes (the codecs themselves are `tk.contracts.renders`).

Render's part is what counts as the object: a pixel whose alpha is 0, or whose depth reaches the camera's
far clip, is background, so its depth is stored as 0 and its normal as n = 0 (grey 128).
"""

from __future__ import annotations

import numpy as np

from tk.contracts import renders

# the camera's far clip (tk.render.passes sets it): Cycles writes 1e10 and EEVEE the clip distance where a
# pixel sees nothing, so anything at or beyond it is background
CLIP_END = 100.0


def strip_png_metadata(data: bytes) -> bytes:
    """PNG bytes without text and time chunks (Blender stores render times there: same view, other bytes)."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    out, pos = [data[:8]], 8
    while pos < len(data):
        length = int.from_bytes(data[pos:pos + 4], "big")
        end = pos + 12 + length
        if data[pos + 4:pos + 8] not in (b"tEXt", b"zTXt", b"iTXt", b"tIME"):
            out.append(data[pos:end])
        pos = end
    return b"".join(out)


def encode_depth(depth: np.ndarray, alpha: np.ndarray) -> bytes:
    """The `depth` bytes of a planar depth pass (H, W): zero where alpha is 0 or nothing was hit."""
    return renders.encode_depth(np.where((alpha > 0) & (depth < CLIP_END * 0.999) & np.isfinite(depth), depth, 0.0))


def encode_normal(normal: np.ndarray, alpha: np.ndarray) -> bytes:
    """The `normal` PNG of a world-space normal pass (H, W, 3+); off-object pixels get n = 0."""
    return renders.encode_normal(np.where((alpha > 0)[..., None], normal[..., :3], 0.0))
