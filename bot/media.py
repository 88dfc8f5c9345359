"""Image intake for video providers: check what a member attached and fit it to the video frame.

OpenAI-compatible ``/v1/videos`` providers refuse an ``input_reference`` whose pixel size differs
from the requested ``size`` ("Inpaint image must match the requested width and height"), and a
Discord attachment is whatever the member's phone produced. ``fit_image`` turns any decodable still
image into exactly ``width`` x ``height``: EXIF rotation applied, scaled to *cover* the frame and
centre-cropped (no letterbox bars, which the model would animate as part of the scene).

Intake (``check_attachment`` then ``verify_image``) runs before anything is charged: the cheap
checks on what Discord says about an attachment (type, bytes, pixels) come first, before the command
defers; the bytes are then fetched at once (attachment links expire) and checked by their magic
bytes, not by the file name, so a video or a text file renamed ``.png`` is refused for what it is,
and by their header (``bot.imageheader``): pixel count, animation frames, structure. Intake decodes
no pixels. A picture's memory is its pixel count (a 190 KB PNG can say 7000x7000: 196 MB decoded),
so the limit is on pixels and is checked before any decode, and the one decode a command may need,
``fit_image`` for a vendor that takes the bytes, runs on the process's ``DecodePool``
(``bot.decoding``), which bounds how many pictures are in memory at once.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from bot.errors import UserError
from bot.i18n import Msg, msg
from bot.imageheader import JPEG, PNG, WEBP, Header, HeaderError, read_header
from bot.imageheader import sniff as sniff  # read here by the adapters and the tests
from bot.net import Fetcher, FetchFailed, TooLarge

# Pillow holds 4 bytes a pixel (RGB too), so 16 MP is 64 MB decoded: every 12-MP phone photo fits
# (4032x3024), and a video frame needs at most ~2 MP. WebP decodes through libwebp's animation
# decoder, which keeps two canvases of its own besides Pillow's: ~16 bytes a pixel, hence 4 MP.
MAX_PIXELS = 16_000_000
MAX_WEBP_PIXELS = 4_000_000
JPEG_QUALITY = 90

MAX_IMAGE_BYTES = 10 * 1024 * 1024  # what a member may attach as a reference image
FETCH_TIMEOUT = 30.0

ACCEPTED = {PNG: "PNG", JPEG: "JPEG", WEBP: "WebP"}
ASK = msg("media.ask")  # "Attach a PNG, JPEG or WebP picture."


class ImageError(UserError):
    """The attachment cannot be used as a reference image; the message says why, in plain words."""


def fit_image(data: bytes, width: int, height: int) -> bytes:
    """Return ``data`` as an image of exactly ``width`` x ``height`` (cover-scaled, centre-cropped).

    This is the one decode a reference image gets, so run it on the ``DecodePool``. The header comes
    first (these bytes were fetched again and need not be the ones intake saw), and a picture over
    the pixel limit is refused before a pixel is decoded. Then memory is spent once: a JPEG decodes
    at the smallest scale that still covers the frame, and the frame is cut before any mode
    conversion or EXIF rotation, which therefore work on the small result, not on a full-size copy.

    The result is a JPEG, or a PNG when the source has transparency (which JPEG would lose). Raises
    ``ImageError`` for an empty, non-image, corrupt or too large input.
    """
    if width <= 0 or height <= 0:
        raise ValueError(f"target size must be positive, got {width}x{height}")
    if not data:
        raise ImageError("media.image_empty")
    header = _read(data, damaged=ImageError("media.image_damaged"), other=ImageError("media.unreadable_file"))
    limit = too_many_pixels(header)
    if limit:
        raise ImageError(
            "media.image_too_many_pixels", width=header.width, height=header.height, max=limit // 1_000_000
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[ACCEPTED[header.mime].upper()]) as opened:
                if opened.size != (header.width, header.height):  # the decoder reads it otherwise
                    raise ImageError("media.image_damaged")
                turn = _TRANSPOSE.get(opened.getexif().get(ExifTags.Base.Orientation, 1))
                frame = (height, width) if turn in _SWAPS_AXES else (width, height)
                if header.mime == JPEG:
                    opened.draft(None, frame)  # libjpeg scales by 1/2, 1/4 or 1/8 while decoding
                opened.seek(0)  # an animated PNG/WebP: its first frame
                opened.load()
                fitted = _cover(opened, *frame)
    except ImageError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError("media.unreadable_file") from None
    except (OSError, ValueError, SyntaxError, EOFError):  # Pillow's ways of saying "truncated/corrupt"
        raise ImageError("media.image_damaged") from None
    return _encode(fitted.transpose(turn) if turn is not None else fitted)


def image_mime(data: bytes) -> str:
    """The MIME type of an image produced by ``fit_image`` (PNG or JPEG), from its magic bytes."""
    return PNG if data.startswith(b"\x89PNG\r\n\x1a\n") else JPEG


_T = Image.Transpose
# EXIF orientation -> the transposition that shows the picture upright (as ``ImageOps.exif_transpose``).
_TRANSPOSE = {
    2: _T.FLIP_LEFT_RIGHT,
    3: _T.ROTATE_180,
    4: _T.FLIP_TOP_BOTTOM,
    5: _T.TRANSPOSE,
    6: _T.ROTATE_270,
    7: _T.TRANSVERSE,
    8: _T.ROTATE_90,
}
_SWAPS_AXES = {_T.TRANSPOSE, _T.ROTATE_270, _T.TRANSVERSE, _T.ROTATE_90}


def _has_alpha(img: Image.Image) -> bool:
    """True when some pixel is not fully opaque (an all-opaque alpha channel is dropped)."""
    if img.mode not in ("RGBA", "LA"):
        return False
    low = img.getchannel("A").getextrema()[0]
    return isinstance(low, int | float) and low < 255


def _cover(img: Image.Image, width: int, height: int) -> Image.Image:
    """Scale to cover ``width`` x ``height`` and crop the centre, in the source's own mode when it can
    be resampled (a palette cannot: it is expanded first); the small result is converted after."""
    if img.mode in ("P", "PA", "1"):
        img = img.convert("RGBA" if img.has_transparency_data else "RGB")
    factor = min(img.width // width, img.height // height)
    if img.mode in ("RGBA", "LA") and factor > 1:
        # Resampling with alpha starts from a premultiplied full-size copy (64 MB more at 16 MP);
        # a whole-factor reduction first (box-averaged, straight into a small image) avoids it.
        img = img.reduce(factor)
    fitted = ImageOps.fit(img, (width, height), method=Image.Resampling.LANCZOS, centering=(0.5, 0.5))
    mode = "RGBA" if _has_alpha(fitted) else "RGB"
    return fitted if fitted.mode == mode else fitted.convert(mode)


def _encode(img: Image.Image) -> bytes:
    out = io.BytesIO()
    if img.mode == "RGBA":
        img.save(out, format="PNG", optimize=True)
    else:
        img.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return out.getvalue()


# ------------------------------------------------------------------------------------- intake


@dataclass(frozen=True)
class ImageInfo:
    """A reference image that passed intake: its real type (from its bytes) and pixel size."""

    mime: str
    width: int
    height: int
    size: int
    frames: int = 1


def max_pixels(mime: str | None) -> int:
    """The most pixels a picture of type ``mime`` may have (an unknown type: the general limit)."""
    return MAX_WEBP_PIXELS if mime == WEBP else MAX_PIXELS


def too_many_pixels(header: Header) -> int:
    """The limit ``header`` exceeds, canvas or any animation frame; 0 when it is within it."""
    limit = max_pixels(header.mime)
    sizes = [header.pixels, *(f.width * f.height for f in header.frames)]
    return limit if max(sizes) > limit else 0


def _read(data: bytes, *, damaged: ImageError, other: ImageError) -> Header:
    """``read_header``, its refusal turned into ``damaged`` (cut short, corrupt) or ``other``."""
    try:
        return read_header(data)
    except HeaderError as exc:
        raise (damaged if exc.damaged else other) from None


_VIDEO_BRANDS = (b"qt  ", b"isom", b"iso2", b"mp41", b"mp42", b"avc1", b"M4V ", b"3gp4", b"3gp5", b"dash")
_PHOTO_BRANDS = {
    b"heic": "media.what.heic",
    b"heix": "media.what.heic",
    b"mif1": "media.what.heif",
    b"avif": "media.what.avif",
}


def describe(data: bytes) -> str:
    """What a file is, in plain words, from its first bytes (for refusals: "it is a video (MP4)")."""
    return describe_msg(data).render()


def describe_msg(data: bytes) -> Msg:
    """``describe`` as a catalog message, to be rendered in the member's language."""
    if not data:
        return msg("media.what.empty")
    mime = sniff(data)
    if mime is not None:
        return msg("media.what.accepted", format=ACCEPTED[mime])
    if len(data) >= 12 and data[4:8] == b"ftyp":
        brand = data[8:12]
        if brand in _PHOTO_BRANDS:
            return msg(_PHOTO_BRANDS[brand])
        return msg("media.what.quicktime") if brand == b"qt  " else msg("media.what.mp4")
    if data.startswith(b"\x1a\x45\xdf\xa3"):
        return msg("media.what.webm")
    if data[:4] == b"RIFF" and data[8:12] == b"AVI ":
        return msg("media.what.avi")
    if data.startswith((b"GIF87a", b"GIF89a")):
        return msg("media.what.gif")
    if data.startswith(b"%PDF"):
        return msg("media.what.pdf")
    if data.startswith(b"PK\x03\x04"):
        return msg("media.what.zip")
    if data.startswith(b"BM"):
        return msg("media.what.bmp")
    if data.startswith((b"II*\x00", b"MM\x00*")):
        return msg("media.what.tiff")
    if data.startswith((b"ID3", b"OggS", b"fLaC")) or (data[:4] == b"RIFF" and data[8:12] == b"WAVE"):
        return msg("media.what.audio")
    head = data[:4096]
    if b"\x00" not in head:
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            if exc.start < len(head) - 4:  # not just a multi-byte character cut at the end
                return msg("media.what.unknown")
        return msg("media.what.text")
    return msg("media.what.unknown")


def _name(filename: str) -> str | Msg:
    return f"`{filename}`" if filename else msg("media.that_file")


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def check_attachment(
    filename: str,
    content_type: str | None,
    size: int,
    width: int | None = None,
    height: int | None = None,
) -> None:
    """Cheap checks on what Discord says about an attachment, before anything else happens.

    Discord derives ``content_type`` from the file name and measures ``width``/``height`` itself,
    so this refuses what is plainly wrong (a video, a document, a huge file) without a download;
    ``verify_image`` then checks the real bytes. Raises ``ImageError``.
    """
    name = _name(filename)
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind.startswith("video/"):
        raise ImageError("media.is_video", name=name, ask=ASK)
    if kind.startswith("image/") and kind not in ACCEPTED:
        shown = kind.removeprefix("image/").upper()
        raise ImageError("media.format_not_taken", name=name, format=shown, ask=ASK)
    if kind and not kind.startswith("image/"):
        raise ImageError("media.not_picture", name=name, kind=kind, ask=ASK)
    if size > MAX_IMAGE_BYTES:
        raise ImageError("media.too_big", name=name, size=_mb(size), max=_mb(MAX_IMAGE_BYTES))
    limit = max_pixels(kind or None)
    if width and height and width * height > limit:
        raise ImageError(
            "media.too_many_pixels", name=name, width=width, height=height, max=limit // 1_000_000
        )


def verify_image(data: bytes, filename: str = "") -> ImageInfo:
    """Check the real bytes: PNG/JPEG/WebP by magic bytes, at most 10 MB, within the pixel limit
    (canvas and every animation frame), and whole by its structure (``bot.imageheader``).

    It reads the header only and decodes no pixel, so it costs no more memory than the bytes
    themselves, whatever size the picture claims; the one decode happens in ``fit_image``, for the
    vendors that need it. Raises ``ImageError`` naming what the file really is when it is not a
    picture the providers take.
    """
    name = _name(filename)
    if not data:
        raise ImageError("media.empty", name=name, ask=ASK)
    mime = sniff(data)
    if mime is None:
        what = describe_msg(data)
        named: str | Msg = msg("media.named", suffix=filename.rsplit(".", 1)[-1]) if "." in filename else ""
        raise ImageError("media.not_accepted", name=name, what=what, named=named, ask=ASK)
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageError("media.too_big", name=name, size=_mb(len(data)), max=_mb(MAX_IMAGE_BYTES))
    header = _read(
        data,
        damaged=ImageError("media.damaged", name=name),
        other=ImageError("media.unreadable", name=name, ask=ASK),
    )
    limit = too_many_pixels(header)
    if limit:
        raise ImageError(
            "media.too_many_pixels",
            name=name,
            width=header.width,
            height=header.height,
            max=limit // 1_000_000,
        )
    return ImageInfo(mime, header.width, header.height, len(data), header.frame_count)


async def fetch_image(fetcher: Fetcher, url: str, *, max_bytes: int = MAX_IMAGE_BYTES) -> bytes:
    """Download a member's image link (an attachment, an embed's picture) within a size cap.

    The link is the member's to choose, so it goes through ``bot.net`` (public addresses only, checked
    redirects); a link it will not fetch raises its ``LinkRefused``, anything else wrong ``ImageError``.
    No credential is ever sent with it. Bounded by ``FETCH_TIMEOUT``.
    """
    try:
        got = await fetcher.get(url, max_bytes=max_bytes, time_limit=FETCH_TIMEOUT)
    except TooLarge:
        raise ImageError("media.fetch_too_big", max=_mb(max_bytes)) from None
    except FetchFailed:
        raise ImageError("media.fetch_failed") from None
    if got.status != 200:
        raise ImageError("media.fetch_expired")
    return got.body
