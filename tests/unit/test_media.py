"""Image intake: metadata checks before deferring, then the real bytes (magic bytes, size, decode)."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from bot import media
from bot.media import ImageError, check_attachment, describe, sniff, verify_image

MP4 = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41" + b"\x00" * 16


def encode(fmt: str, size: tuple[int, int] = (32, 24), mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size).save(out, format=fmt)
    return out.getvalue()


@pytest.mark.parametrize(
    ("fmt", "mime"), [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp")]
)
def test_accepted_formats_pass(fmt: str, mime: str) -> None:
    data = encode(fmt)
    assert sniff(data) == mime
    info = verify_image(data, "x")
    assert (info.mime, info.width, info.height, info.size) == (mime, 32, 24, len(data))


@pytest.mark.parametrize(
    ("data", "what"),
    [
        (MP4, "a video (MP4)"),
        (b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00", "a video (QuickTime)"),
        (b"\x1a\x45\xdf\xa3" + b"\x00" * 8, "a video (WebM/MKV)"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00", "an HEIC photo"),
        (b"GIF89a\x01\x00", "a GIF"),
        (b"%PDF-1.7\n", "a PDF document"),
        (b"hello\nworld\n", "a text file"),
        ("héllo".encode(), "a text file"),
        (b"\x00\x01\x02\x03\xff", "a file of an unknown type"),
        (b"", "an empty file"),
    ],
)
def test_describe_names_what_a_file_is(data: bytes, what: str) -> None:
    assert describe(data) == what


def test_a_renamed_video_is_refused_for_what_it_is() -> None:
    with pytest.raises(
        ImageError,
        match=r"`cat.png` is a video \(MP4\), not a PNG, JPEG or WebP picture even though its name ends in `.png`",
    ):
        verify_image(MP4, "cat.png")


def test_corrupt_and_empty_images_are_refused() -> None:
    with pytest.raises(ImageError, match="damaged or incomplete"):
        verify_image(encode("PNG", (200, 200))[:80], "cat.png")
    with pytest.raises(ImageError, match="is empty"):
        verify_image(b"", "cat.png")


def test_byte_and_pixel_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(media, "MAX_IMAGE_BYTES", 100)
    with pytest.raises(ImageError, match="at most"):
        verify_image(encode("PNG", (64, 64), "RGBA") + b"\x00" * 200, "big.png")
    monkeypatch.setattr(media, "MAX_PIXELS", 100)
    monkeypatch.setattr(media, "MAX_IMAGE_BYTES", 10 * 1024 * 1024)
    with pytest.raises(ImageError, match="too large"):
        verify_image(encode("PNG", (20, 20)), "wide.png")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("clip.mp4", "video/mp4", 1000), "is a video"),
        (("notes.txt", "text/plain; charset=utf-8", 10), "not a picture (it is `text/plain`)"),
        (("party.gif", "image/gif", 10), "GIF image"),
        (("big.png", "image/png", 11 * 1024 * 1024), "11.0 MB"),
        (("wide.png", "image/png", 1000, 10_000, 6_000), "10000x6000"),
    ],
)
def test_attachment_metadata_checks(args: tuple[object, ...], needle: str) -> None:
    with pytest.raises(ImageError) as caught:
        check_attachment(*args)  # type: ignore[arg-type]
    assert needle in caught.value.message


def test_attachment_metadata_ok() -> None:
    check_attachment("cat.png", "image/png", 1000, 64, 64)
    check_attachment("cat", None, 1000)  # unknown type: the bytes decide after the download
