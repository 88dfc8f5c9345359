"""What a PNG, JPEG or WebP says about itself, read from its bytes without decoding a pixel.

A picture's memory cost is its pixel count, not its file size: a 190 KB single-colour PNG that says
7000x7000 decodes to 196 MB. So the size is read here, from the header alone, and checked before
anything decodes (``bot.media``). Pillow's ``Image.open`` is lazy for PNG and JPEG, but not for WebP:
libwebp's animation decoder, which Pillow uses for every WebP, allocates its canvases when the file is
opened — hence a reader of our own, in plain ``struct``, that never allocates more than a few bytes.

The reader also checks the structure the format promises, cheaply, so that a file cut short or
damaged is refused at intake without a decode: a PNG's chunk CRCs and its ``IEND``, a WebP's RIFF
length, a JPEG's end-of-image marker after its scan. Animated frames (APNG ``fcTL``, WebP ``ANMF``)
are read too, each checked to lie inside the canvas: a frame bigger than the picture is damage.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

PNG = "image/png"
JPEG = "image/jpeg"
WEBP = "image/webp"

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_DEPTHS = {0: (1, 2, 4, 8, 16), 2: (8, 16), 3: (1, 2, 4, 8), 4: (8, 16), 6: (8, 16)}
_JPEG_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
_JPEG_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})
_PNG_MAX_DIMENSION = 2**31 - 1


class HeaderError(ValueError):
    """The bytes are not a well-formed picture. ``damaged``: cut short or corrupt (the member can
    attach it again); otherwise a picture of a kind the decoder does not read."""

    def __init__(self, reason: str, *, damaged: bool = True) -> None:
        super().__init__(reason)
        self.damaged = damaged


@dataclass(frozen=True)
class Frame:
    """One animation frame: its size and where it sits on the canvas."""

    width: int
    height: int
    x: int = 0
    y: int = 0


@dataclass(frozen=True)
class Header:
    """A picture's type and canvas size, and its animation frames when it has any."""

    mime: str
    width: int
    height: int
    frames: tuple[Frame, ...] = ()

    @property
    def pixels(self) -> int:
        return self.width * self.height

    @property
    def frame_count(self) -> int:
        return max(1, len(self.frames))


def sniff(data: bytes) -> str | None:
    """The MIME type of a PNG, JPEG or WebP from its first bytes; ``None`` for anything else."""
    if data.startswith(_PNG_SIGNATURE):
        return PNG
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    return None


def read_header(data: bytes) -> Header:
    """The header of a PNG, JPEG or WebP; ``HeaderError`` when it is damaged or not one of them."""
    mime = sniff(data)
    if mime == PNG:
        return _png(memoryview(data))
    if mime == JPEG:
        return _jpeg(data)
    if mime == WEBP:
        return _webp(data)
    raise HeaderError("not a PNG, JPEG or WebP", damaged=False)


def _need(data: bytes | memoryview, end: int, what: str) -> None:
    if end > len(data):
        raise HeaderError(f"cut short in {what}")


# ------------------------------------------------------------------------------------------ PNG


def _png(data: memoryview) -> Header:
    """Walk every chunk: lengths within the file, CRCs right, IHDR first, IDAT present, IEND last."""
    pos, width, height, seen_idat = 8, 0, 0, False
    frames: list[Frame] = []
    while True:
        _need(data, pos + 8, "a chunk header")
        length, kind = struct.unpack_from(">I4s", data, pos)
        if length > _PNG_MAX_DIMENSION:
            raise HeaderError("chunk length out of range")
        body = pos + 8
        _need(data, body + length + 4, f"chunk {kind!r}")
        (crc,) = struct.unpack_from(">I", data, body + length)
        if zlib.crc32(data[pos + 4 : body + length]) != crc:
            raise HeaderError(f"bad CRC in chunk {kind!r}")
        if pos == 8:
            if kind != b"IHDR" or length != 13:
                raise HeaderError("first chunk is not IHDR")
            width, height = _png_ihdr(data, body)
        elif kind == b"fcTL":
            frames.append(_png_fctl(data, body, length, width, height))
        elif kind == b"IDAT":
            seen_idat = True
        elif kind == b"IEND":
            if not seen_idat:
                raise HeaderError("no image data")
            return Header(PNG, width, height, tuple(frames))
        pos = body + length + 4


def _png_ihdr(data: memoryview, at: int) -> tuple[int, int]:
    width, height, depth, colour, compression, filtering, interlace = struct.unpack_from(">IIBBBBB", data, at)
    if not (0 < width <= _PNG_MAX_DIMENSION and 0 < height <= _PNG_MAX_DIMENSION):
        raise HeaderError(f"impossible size {width}x{height}")
    if depth not in _PNG_DEPTHS.get(colour, ()) or compression or filtering or interlace > 1:
        raise HeaderError(f"impossible IHDR (depth {depth}, colour type {colour})")
    return width, height


def _png_fctl(data: memoryview, at: int, length: int, width: int, height: int) -> Frame:
    if length != 26:
        raise HeaderError("fcTL of the wrong length")
    w, h, x, y = struct.unpack_from(">IIII", data, at + 4)
    return _inside(Frame(w, h, x, y), width, height)


def _inside(frame: Frame, width: int, height: int) -> Frame:
    """``frame`` when it is a real frame lying inside the ``width`` x ``height`` canvas."""
    if frame.width <= 0 or frame.height <= 0:
        raise HeaderError("an empty animation frame")
    if frame.x + frame.width > width or frame.y + frame.height > height:
        raise HeaderError(f"an animation frame of {frame.width}x{frame.height} outside the canvas")
    return frame


# ----------------------------------------------------------------------------------------- JPEG


def _jpeg(data: bytes) -> Header:
    """Walk the markers up to the first scan: a frame header (SOF) before it, an EOI after it."""
    pos, size = 2, (0, 0)
    while True:
        _need(data, pos + 2, "a marker")
        if data[pos] != 0xFF:
            raise HeaderError("garbage between markers")
        while pos + 1 < len(data) and data[pos + 1] == 0xFF:  # fill bytes
            pos += 1
        _need(data, pos + 2, "a marker")
        marker = data[pos + 1]
        pos += 2
        if marker in _JPEG_STANDALONE:
            continue
        if marker == 0xD9:
            raise HeaderError("end of image before any scan")
        _need(data, pos + 2, "a segment length")
        (length,) = struct.unpack_from(">H", data, pos)
        if length < 2:
            raise HeaderError("segment length out of range")
        _need(data, pos + length, f"segment {marker:#x}")
        if marker in _JPEG_SOF:
            if length < 8:
                raise HeaderError("frame header too short")
            height, width = struct.unpack_from(">HH", data, pos + 3)
            size = (width, height)
        elif marker == 0xDA:
            if size == (0, 0):
                raise HeaderError("a scan before any frame header")
            if size[0] == 0 or size[1] == 0:
                raise HeaderError("height given after the scan (DNL)", damaged=False)
            if data.rfind(b"\xff\xd9", pos + length) < 0:
                raise HeaderError("no end-of-image marker: the file is cut short")
            return Header(JPEG, size[0], size[1])
        pos += length


# ----------------------------------------------------------------------------------------- WebP


def _webp(data: bytes) -> Header:
    """The RIFF length matches the file; the canvas from VP8X (with its ANMF frames), VP8 or VP8L."""
    (riff,) = struct.unpack_from("<I", data, 4)
    end = 8 + riff
    if riff < 4 or riff % 2:
        raise HeaderError("RIFF length out of range")
    _need(data, end, "the RIFF body")
    chunks = list(_riff_chunks(data, 12, end))
    if not chunks:
        raise HeaderError("no chunks")
    kind, at, length = chunks[0]
    if kind == b"VP8X":
        return _webp_extended(data, at, length, chunks[1:])
    if kind in (b"VP8 ", b"VP8L"):
        width, height = _webp_bitstream(data, kind, at, length)
        return Header(WEBP, width, height)
    raise HeaderError(f"unexpected first chunk {kind!r}")


def _riff_chunks(data: bytes, pos: int, end: int) -> list[tuple[bytes, int, int]]:
    found = []
    while pos < end:
        if pos + 8 > end:
            raise HeaderError("cut short in a chunk header")
        kind, length = struct.unpack_from("<4sI", data, pos)
        if pos + 8 + length > end:
            raise HeaderError(f"chunk {kind!r} runs past the file")
        found.append((kind, pos + 8, length))
        pos += 8 + length + (length & 1)
    return found


def _webp_extended(data: bytes, at: int, length: int, rest: list[tuple[bytes, int, int]]) -> Header:
    if length < 10:
        raise HeaderError("VP8X too short")
    flags = data[at]
    width = 1 + int.from_bytes(data[at + 4 : at + 7], "little")
    height = 1 + int.from_bytes(data[at + 7 : at + 10], "little")
    if flags & 0x02:  # animated: every ANMF frame must lie inside the canvas
        frames = []
        for kind, pos, size in rest:
            if kind == b"ANMF":
                if size < 16:
                    raise HeaderError("ANMF too short")
                x, y, w, h = (int.from_bytes(data[pos + i : pos + i + 3], "little") for i in (0, 3, 6, 9))
                frames.append(_inside(Frame(w + 1, h + 1, 2 * x, 2 * y), width, height))
        if not frames:
            raise HeaderError("an animation without frames")
        return Header(WEBP, width, height, tuple(frames))
    for kind, pos, size in rest:
        if kind in (b"VP8 ", b"VP8L"):
            if _webp_bitstream(data, kind, pos, size) != (width, height):
                raise HeaderError("the image is not the size of its canvas")
            return Header(WEBP, width, height)
    raise HeaderError("no image data")


def _webp_bitstream(data: bytes, kind: bytes, at: int, length: int) -> tuple[int, int]:
    if kind == b"VP8 ":
        if length < 10 or data[at + 3 : at + 6] != b"\x9d\x01\x2a":
            raise HeaderError("VP8 frame header missing")
        width, height = struct.unpack_from("<HH", data, at + 6)
        if not width & 0x3FFF or not height & 0x3FFF:
            raise HeaderError("VP8 frame of no size")
        return width & 0x3FFF, height & 0x3FFF
    if length < 5 or data[at] != 0x2F:
        raise HeaderError("VP8L signature missing")
    (bits,) = struct.unpack_from("<I", data, at + 1)
    return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
