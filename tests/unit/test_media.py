"""Image intake: metadata checks before deferring, then the real bytes (magic bytes, size, header),
never a decode; and the one decode, fitting, refusing a bomb before it starts."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageChops, ImageOps, ImageStat

from bot import media
from bot.media import ImageError, check_attachment, describe, fit_image, sniff, verify_image
from tests.fakes.pictures import animated, apng_with_frame, png_bomb, with_exif_orientation

MP4 = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41" + b"\x00" * 16


def encode(fmt: str, size: tuple[int, int] = (32, 24), mode: str = "RGB", **params: object) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size).save(out, format=fmt, **params)
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


# ------------------------------------------------------------------------- decompression bombs


def _no_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the picture was handed to Pillow")

    monkeypatch.setattr(Image, "open", refuse)


@pytest.mark.parametrize(
    ("bomb", "size"), [((7000, 7000, 6), "7000x7000"), ((14000, 14000, 0), "14000x14000")]
)
def test_a_bomb_is_refused_from_its_header_alone(
    monkeypatch: pytest.MonkeyPatch, bomb: tuple[int, int, int], size: str
) -> None:
    data = png_bomb(*bomb)
    _no_decoding(monkeypatch)
    messages = set()
    for _ in range(3):
        with pytest.raises(ImageError) as caught:
            verify_image(data, "bomb.png")
        messages.add(caught.value.message)
    assert messages == {
        f"`bomb.png` is too large: {size} pixels, and a reference image can have at most 16 megapixels. "
        "Attach a smaller picture; the video needs far fewer pixels."
    }
    with pytest.raises(ImageError, match=f"{size} pixels.*at most 16 megapixels"):
        fit_image(data, 720, 1280)  # the provider's own fetch is checked the same way


def test_discord_metadata_that_lies_is_caught_by_the_header() -> None:
    check_attachment("cat.png", "image/png", 190_000, 64, 48)  # what the metadata claims passes
    with pytest.raises(ImageError, match="7000x7000"):
        verify_image(png_bomb(7000, 7000), "cat.png")


def test_webp_has_a_lower_limit_and_every_frame_counts() -> None:
    verify_image(encode("WEBP", (2000, 2000), lossless=True), "ok.webp")
    with pytest.raises(ImageError, match="at most 4 megapixels"):
        verify_image(encode("WEBP", (2100, 2000), lossless=True), "big.webp")
    with pytest.raises(ImageError, match="at most 4 megapixels"):
        check_attachment("big.webp", "image/webp", 1000, 2100, 2000)
    info = verify_image(animated("WEBP"), "loop.webp")
    assert (info.width, info.height, info.frames) == (64, 48, 3)
    with pytest.raises(ImageError, match="damaged or incomplete"):
        verify_image(apng_with_frame(animated("PNG"), 1, 9000, 9000), "loop.png")


def test_intake_decodes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    data = encode("PNG", (640, 480))
    _no_decoding(monkeypatch)
    assert verify_image(data, "cat.png").width == 640


# ------------------------------------------------------------------------------------- fitting


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied_as_pillow_does(orientation: int) -> None:
    source = Image.new("RGB", (400, 240), (0, 0, 255))
    source.paste((255, 0, 0), (0, 0, 120, 120))  # a red corner, to see where it ends up
    data = with_exif_orientation(source, orientation)
    with Image.open(io.BytesIO(data)) as img:
        expected = ImageOps.fit(ImageOps.exif_transpose(img), (90, 160), Image.Resampling.LANCZOS)
    with Image.open(io.BytesIO(fit_image(data, 90, 160))) as out:
        assert out.size == (90, 160)
        # The same picture; a JPEG decoded at a smaller scale differs only a little along edges.
        diff = ImageStat.Stat(ImageChops.difference(out.convert("RGB"), expected.convert("RGB")))
        assert max(diff.mean) < 4, diff.mean


def test_a_large_jpeg_is_fitted_exactly_and_a_transparent_palette_stays_png() -> None:
    out = fit_image(encode("JPEG", (4000, 3000)), 1280, 720)  # decoded at a quarter of its size
    with Image.open(io.BytesIO(out)) as img:
        assert img.size == (1280, 720) and img.format == "JPEG"
    palette = Image.new("P", (200, 100), 0)
    palette.info["transparency"] = 0
    buf = io.BytesIO()
    palette.save(buf, format="PNG", transparency=0)
    fitted = fit_image(buf.getvalue(), 50, 50)
    assert media.image_mime(fitted) == "image/png"
    with Image.open(io.BytesIO(fitted)) as img:
        assert img.mode == "RGBA" and img.getchannel("A").getextrema() == (0, 0)
