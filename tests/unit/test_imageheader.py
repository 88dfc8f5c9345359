"""The header reader: sizes and frames as Pillow sees them, and damage found without a decode."""

from __future__ import annotations

import io
import struct

import pytest
from PIL import Image

from bot.imageheader import HeaderError, read_header
from tests.fakes.pictures import animated, apng_with_frame, encode, png_bomb, png_chunk, webp_with_frame

PNG = b"\x89PNG\r\n\x1a\n"

STILLS = [
    pytest.param(encode("PNG", (301, 203)), id="png-rgb"),
    pytest.param(encode("PNG", (17, 5), "RGBA"), id="png-rgba"),
    pytest.param(encode("PNG", (64, 64), "P"), id="png-palette"),
    pytest.param(encode("PNG", (64, 48), "I;16"), id="png-16-bit"),
    pytest.param(encode("PNG", (64, 48), "RGB", interlace=1), id="png-interlaced"),
    pytest.param(encode("JPEG", (301, 203)), id="jpeg"),
    pytest.param(encode("JPEG", (301, 203), progressive=True), id="jpeg-progressive"),
    pytest.param(encode("JPEG", (64, 48), "CMYK"), id="jpeg-cmyk"),
    pytest.param(encode("WEBP", (301, 203)), id="webp-lossy"),
    pytest.param(encode("WEBP", (301, 203), lossless=True), id="webp-lossless"),
    pytest.param(encode("WEBP", (64, 48), "RGBA"), id="webp-alpha"),
    pytest.param(animated("PNG"), id="apng"),
    pytest.param(animated("WEBP"), id="webp-animated"),
]


@pytest.mark.parametrize("data", STILLS)
def test_size_and_frames_are_what_pillow_reads(data: bytes) -> None:
    header = read_header(data)
    with Image.open(io.BytesIO(data)) as img:
        assert (header.width, header.height) == img.size
        assert header.frame_count == getattr(img, "n_frames", 1)
        img.load()  # and it really is a whole, decodable picture


def test_a_bomb_is_read_as_what_it_claims_without_decoding() -> None:
    data = png_bomb(7000, 7000)
    assert len(data) < 200_000  # the 190 KB PNG ...
    header = read_header(data)
    assert (header.width, header.height, header.pixels) == (7000, 7000, 49_000_000)  # ... 196 MB as RGBA
    huge = read_header(png_bomb(14000, 14000, colour=0))
    assert huge.pixels == 196_000_000


@pytest.mark.parametrize("data", [p.values[0] for p in STILLS])
def test_a_file_cut_short_is_damaged(data: bytes) -> None:
    for end in sorted({12, 30, len(data) // 2, len(data) - 3, len(data) - 1}):
        with pytest.raises(HeaderError) as caught:
            read_header(data[:end])
        assert caught.value.damaged, (end, str(caught.value))


def test_a_flipped_bit_in_a_png_is_found_by_its_crc() -> None:
    data = bytearray(encode("PNG", (64, 48)))
    data[len(data) // 2] ^= 0x10
    with pytest.raises(HeaderError, match="CRC"):
        read_header(bytes(data))


def test_an_animation_frame_bigger_than_its_canvas_is_damage() -> None:
    with pytest.raises(HeaderError, match="outside the canvas"):
        read_header(apng_with_frame(animated("PNG"), 1, 20_000, 20_000))
    with pytest.raises(HeaderError, match="outside the canvas"):
        read_header(webp_with_frame(animated("WEBP"), 2, 20_000, 20_000))


def test_frames_are_read_one_by_one() -> None:
    header = read_header(animated("WEBP", (640, 480), frames=5))
    assert [(f.width, f.height) for f in header.frames] == [(640, 480)] * 5
    assert read_header(animated("PNG", (64, 48), frames=4)).frame_count == 4


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        (PNG + png_chunk(b"IHDR", struct.pack(">IIBBBBB", 0, 10, 8, 2, 0, 0, 0)), "impossible size"),
        (PNG + png_chunk(b"IHDR", struct.pack(">IIBBBBB", 9, 9, 3, 2, 0, 0, 0)), "impossible IHDR"),
        (png_bomb(8, 8)[:8] + png_bomb(8, 8)[33:], "first chunk is not IHDR"),
        (b"\xff\xd8\xff\xda\x00\x02" + b"\x00" * 16 + b"\xff\xd9", "scan before any frame header"),
        (b"\xff\xd8\xff\xd9", "end of image before any scan"),
        (b"RIFF\x05\x00\x00\x00WEBP", "RIFF length"),
        (b"RIFF\x0c\x00\x00\x00WEBPJUNK\x00\x00\x00\x00", "unexpected first chunk"),
    ],
)
def test_impossible_headers_are_refused(data: bytes, needle: str) -> None:
    with pytest.raises(HeaderError, match=needle):
        read_header(data)


def test_not_a_picture_is_not_called_damaged() -> None:
    with pytest.raises(HeaderError) as caught:
        read_header(b"GIF89a" + b"\x00" * 20)
    assert not caught.value.damaged
