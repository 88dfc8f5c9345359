"""Crafted pictures for the intake tests: decompression bombs, animations, files that lie.

A bomb is built straight from zlib, a block of rows at a time, so building one never holds its
pixels: ``png_bomb(7000, 7000)`` is the issue's 190 KB PNG that decodes to 196 MB.
"""

from __future__ import annotations

import io
import struct
import zlib
from functools import cache

from PIL import Image

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_BANDS = {0: 1, 2: 3, 6: 4}  # PNG colour type -> bytes a pixel at 8 bits


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


@cache
def png_bomb(width: int, height: int, colour: int = 6) -> bytes:
    """A valid single-colour (transparent black) PNG of ``width`` x ``height``: tiny file, huge image."""
    row = b"\x00" * (1 + width * _BANDS[colour])  # filter byte + pixels
    rows_per_block = max(1, min(height, (1 << 20) // len(row)))
    comp = zlib.compressobj(9)
    parts = [comp.compress(row * rows_per_block) for _ in range(height // rows_per_block)]
    parts.append(comp.compress(row * (height % rows_per_block)))
    parts.append(comp.flush())
    ihdr = struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0)
    return (
        _PNG_SIGNATURE
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", b"".join(parts))
        + png_chunk(b"IEND", b"")
    )


def encode(fmt: str, size: tuple[int, int] = (32, 24), mode: str = "RGB", **params: object) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, "red" if mode in ("RGB", "RGBA") else 0).save(out, format=fmt, **params)
    return out.getvalue()


def animated(fmt: str, size: tuple[int, int] = (64, 48), frames: int = 3) -> bytes:
    """An animated PNG or WebP of ``frames`` differently coloured frames."""
    images = [Image.new("RGB", size, (40 * i, 200 - 40 * i, 90)) for i in range(frames)]
    out = io.BytesIO()
    images[0].save(out, format=fmt, save_all=True, append_images=images[1:], duration=100, loop=0)
    return out.getvalue()


def apng_with_frame(data: bytes, index: int, width: int, height: int) -> bytes:
    """``data`` (an APNG) with its ``index``-th ``fcTL`` claiming ``width`` x ``height`` (CRC kept right)."""
    pos, seen, out = 8, 0, bytearray(data[:8])
    while pos < len(data):
        (length,) = struct.unpack_from(">I", data, pos)
        kind, body = data[pos + 4 : pos + 8], bytearray(data[pos + 8 : pos + 8 + length])
        if kind == b"fcTL":
            if seen == index:
                struct.pack_into(">II", body, 4, width, height)
            seen += 1
        out += png_chunk(kind, bytes(body))
        pos += 12 + length
    return bytes(out)


def webp_with_frame(data: bytes, index: int, width: int, height: int) -> bytes:
    """``data`` (an animated WebP) with its ``index``-th ``ANMF`` claiming ``width`` x ``height``."""
    out, pos, seen = bytearray(data), 12, 0
    while pos < len(out):
        kind, length = struct.unpack_from("<4sI", out, pos)
        if kind == b"ANMF":
            if seen == index:
                out[pos + 14 : pos + 20] = (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(
                    3, "little"
                )
            seen += 1
        pos += 8 + length + (length & 1)
    return bytes(out)


def with_exif_orientation(img: Image.Image, orientation: int) -> bytes:
    """``img`` as a JPEG whose EXIF says it must be shown transposed (``orientation`` 1-8)."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=95, exif=exif)
    return out.getvalue()
