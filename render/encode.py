"""Encoding and decoding of one view's images exactly as the shards contract stores them.

- rgba: PNG, 8-bit RGBA, straight alpha (alpha is the object mask);
- depth: float16 little-endian, row 0 at the top, planar distance along -Z in world units, 0 off the object;
- normal: PNG RGB of world-space normals encoded n*0.5+0.5 (grey 128 off the object).
"""

from __future__ import annotations

import io

import numpy as np

# the camera's far clip (tk.render.passes sets it): Cycles writes 1e10 and EEVEE the clip distance where a
# pixel sees nothing, so anything at or beyond it is background
CLIP_END = 100.0


def png_bytes(pixels: np.ndarray) -> bytes:
    """PNG bytes of a uint8 (H, W, C) array, C in {1, 3, 4}."""
    from PIL import Image

    mode = {1: "L", 3: "RGB", 4: "RGBA"}[pixels.shape[2] if pixels.ndim == 3 else 1]
    buf = io.BytesIO()
    Image.fromarray(pixels.squeeze() if mode == "L" else pixels, mode=mode).save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def encode_rgba(rgba: np.ndarray) -> bytes:
    """PNG of straight-alpha RGBA floats in [0, 1] (H, W, 4), row 0 at the top."""
    return png_bytes(np.clip(np.round(rgba * 255.0), 0, 255).astype(np.uint8))


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
    """float16 LE bytes of planar depth (H, W), zero where alpha is 0 or nothing was hit."""
    d = np.where((alpha > 0) & (depth < CLIP_END * 0.999) & np.isfinite(depth), depth, 0.0)
    return d.astype("<f2").tobytes()


def encode_normal(normal: np.ndarray, alpha: np.ndarray) -> bytes:
    """PNG RGB of world-space normals (H, W, 3) as n*0.5+0.5; off-object pixels get n = 0."""
    n = np.where((alpha > 0)[..., None], normal[..., :3], 0.0)
    return png_bytes(np.clip(np.round((n * 0.5 + 0.5) * 255.0), 0, 255).astype(np.uint8))


def decode_png(data: bytes) -> np.ndarray:
    """uint8 (H, W, C) array of PNG bytes."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im).copy()


def decode_depth(data: bytes, width: int, height: int) -> np.ndarray:
    """float32 (H, W) planar depth from the contract's float16 LE bytes."""
    return np.frombuffer(data, dtype="<f2").reshape(height, width).astype(np.float32)


def decode_normal(data: bytes) -> np.ndarray:
    """float32 (H, W, 3) world-space normals from the contract's PNG."""
    return decode_png(data)[..., :3].astype(np.float32) / 255.0 * 2.0 - 1.0
