"""Input images: every PIL mode with a mask, the official crop quirk, grey composite, clear errors."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from tk.errors import TkError
from tk.model.preprocess import composite_grey, load_rgba, prepare_rgba, resize_foreground


def rect_rgba(h=40, w=60, box=(10, 20, 30, 50)):
    """Opaque red rectangle rows y0..y1-1, cols x0..x1-1 on transparent black."""
    y0, x0, y1, x1 = box
    a = np.zeros((h, w, 4), np.uint8)
    a[y0:y1, x0:x1] = (200, 10, 10, 255)
    return a


def test_resize_foreground_reproduces_the_official_crop():
    out = resize_foreground(rect_rgba(), 0.85)
    # bbox rows 10..29, cols 20..49 -> the official slice drops the last row/col: 19 x 29 foreground
    assert out.shape == (int(29 / 0.85), int(29 / 0.85), 4)
    ys, xs = np.nonzero(out[..., 3])
    assert (ys.max() - ys.min() + 1, xs.max() - xs.min() + 1) == (19, 29)
    # padding 29 -> 34: 2 on top/left, 3 on bottom/right; the 19 rows sit centred in the 29 square (5 above)
    assert (ys.min(), xs.min()) == (2 + 5, 2)


def test_composite_truncates_like_run_py():
    px = np.array([[[255, 0, 101, 128]]], np.uint8)
    a = 128 / 255
    expected = [int((c / 255 * a + (1 - a) * 0.5) * 255) for c in (255, 0, 101)]
    assert composite_grey(px)[0, 0].tolist() == expected


def png16_rgba(rgba: np.ndarray) -> bytes:
    """A 16-bit-per-channel RGBA PNG (colour type 6, depth 16) of an 8-bit image, written by hand."""
    import struct
    import zlib

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    h, w = rgba.shape[:2]
    rows = b"".join(b"\x00" + (row.astype(">u2") * 257).tobytes() for row in rgba)
    header = struct.pack(">IIBBBBB", w, h, 16, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


@pytest.mark.parametrize("mode", ["RGBA", "LA", "P", "RGBA16"])
def test_every_mode_with_a_mask_loads(tmp_path, mode):
    rgba = rect_rgba()
    path = tmp_path / "im.png"
    if mode == "RGBA":
        Image.fromarray(rgba).save(path)
    elif mode == "LA":
        Image.fromarray(rgba[..., [0, 3]], "LA").save(path)
    elif mode == "P":  # palette with a transparent index
        im = Image.fromarray(rgba[..., :3]).convert("P")
        im.save(path, transparency=int(np.asarray(im)[0, 0]))
    else:
        path.write_bytes(png16_rgba(rgba))
    out = load_rgba(path)
    assert out.shape == (40, 60, 4) and out.dtype == np.uint8
    ys, xs = np.nonzero(out[..., 3] > 0)
    assert (ys.min(), ys.max(), xs.min(), xs.max()) == (10, 29, 20, 49)
    assert prepare_rgba(out).shape[2] == 3


def test_rgb_without_mask_is_one_clear_line(tmp_path):
    Image.new("RGB", (8, 8)).save(tmp_path / "rgb.png")
    with pytest.raises(TkError, match="has no alpha channel.*needs RGBA"):
        load_rgba(tmp_path / "rgb.png")


def test_empty_alpha_and_unreadable_files(tmp_path):
    with pytest.raises(TkError, match="alpha channel is empty"):
        prepare_rgba(np.zeros((8, 8, 4), np.uint8))
    (tmp_path / "bad.png").write_bytes(b"nope")
    with pytest.raises(TkError, match="cannot read the image"):
        load_rgba(tmp_path / "bad.png")
