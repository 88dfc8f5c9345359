"""Image intake for video providers: decode what a member attached and fit it to the video frame.

OpenAI-compatible ``/v1/videos`` providers refuse an ``input_reference`` whose pixel size differs
from the requested ``size`` ("Inpaint image must match the requested width and height"), and a
Discord attachment is whatever the member's phone produced. ``fit_image`` turns any decodable still
image into exactly ``width`` x ``height``: EXIF rotation applied, scaled to *cover* the frame and
centre-cropped (no letterbox bars, which the model would animate as part of the scene).

Intake (``check_attachment`` then ``verify_image``) runs before anything is charged: the cheap
checks on what Discord says about an attachment (type, bytes, pixels) come first, before the command
defers; the bytes are then fetched at once (attachment links expire) and checked by their magic
bytes, not by the file name, so a video or a text file renamed ``.png`` is refused for what it is.

Decoding is CPU work; async callers should run it in a thread (``asyncio.to_thread``).
"""

from __future__ import annotations

import asyncio
import io
import warnings
from dataclasses import dataclass

import aiohttp
from PIL import Image, ImageOps, UnidentifiedImageError

from bot.errors import UserError
from bot.i18n import Msg, msg

MAX_PIXELS = 50_000_000  # ~ a 9000 x 5500 photo; larger is refused before it is decoded
JPEG_QUALITY = 90

MAX_IMAGE_BYTES = 10 * 1024 * 1024  # what a member may attach as a reference image
FETCH_TIMEOUT = 30.0

PNG = "image/png"
JPEG = "image/jpeg"
WEBP = "image/webp"
ACCEPTED = {PNG: "PNG", JPEG: "JPEG", WEBP: "WebP"}
ASK = msg("media.ask")  # "Attach a PNG, JPEG or WebP picture."


class ImageError(UserError):
    """The attachment cannot be used as a reference image; the message says why, in plain words."""


def fit_image(data: bytes, width: int, height: int) -> bytes:
    """Return ``data`` as an image of exactly ``width`` x ``height`` (cover-scaled, centre-cropped).

    The result is a JPEG, or a PNG when the source has transparency (which JPEG would lose). Raises
    ``ImageError`` for an empty, non-image, corrupt or absurdly large input.
    """
    if width <= 0 or height <= 0:
        raise ValueError(f"target size must be positive, got {width}x{height}")
    if not data:
        raise ImageError("media.image_empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as opened:
                if opened.width * opened.height > MAX_PIXELS:
                    raise ImageError("media.image_too_many_pixels", width=opened.width, height=opened.height)
                opened.seek(0)  # an animated GIF/WebP: its first frame
                opened.load()
                img = ImageOps.exif_transpose(opened) or opened
                return _encode(_cover(img, width, height))
    except ImageError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError("media.unreadable_file") from None
    except (OSError, ValueError, SyntaxError, EOFError):  # Pillow's ways of saying "truncated/corrupt"
        raise ImageError("media.image_damaged") from None


def image_mime(data: bytes) -> str:
    """The MIME type of an image produced by ``fit_image`` (PNG or JPEG), from its magic bytes."""
    return PNG if data.startswith(b"\x89PNG\r\n\x1a\n") else JPEG


def _has_alpha(img: Image.Image) -> bool:
    """True when some pixel is not fully opaque (an all-opaque alpha channel is dropped)."""
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode not in ("RGBA", "LA", "PA"):
        return False
    low = img.getchannel("A").getextrema()[0]
    return isinstance(low, int | float) and low < 255


def _cover(img: Image.Image, width: int, height: int) -> Image.Image:
    mode = "RGBA" if _has_alpha(img) else "RGB"
    if img.mode != mode:
        img = img.convert("RGBA").convert(mode) if img.mode == "P" else img.convert(mode)
    return ImageOps.fit(img, (width, height), method=Image.Resampling.LANCZOS, centering=(0.5, 0.5))


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


def sniff(data: bytes) -> str | None:
    """The MIME type of a PNG, JPEG or WebP from its first bytes; ``None`` for anything else."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    return None


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
    if width and height and width * height > MAX_PIXELS:
        raise ImageError(
            "media.too_many_pixels", name=name, width=width, height=height, max=MAX_PIXELS // 1_000_000
        )


def verify_image(data: bytes, filename: str = "") -> ImageInfo:
    """Check the real bytes: PNG/JPEG/WebP by magic bytes, at most 10 MB and 50 MP, fully decodable.

    CPU work (it decodes the image): call it through ``asyncio.to_thread``. Raises ``ImageError``
    naming what the file really is when it is not a picture the providers take.
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
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                width, height = img.width, img.height
                if width * height > MAX_PIXELS:
                    raise ImageError(
                        "media.too_many_pixels",
                        name=name,
                        width=width,
                        height=height,
                        max=MAX_PIXELS // 1_000_000,
                    )
                img.load()
    except ImageError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError("media.unreadable", name=name, ask=ASK) from None
    except (OSError, ValueError, SyntaxError, EOFError):
        raise ImageError("media.damaged", name=name) from None
    return ImageInfo(mime=mime, width=width, height=height, size=len(data))


async def fetch_image(url: str, *, max_bytes: int = MAX_IMAGE_BYTES) -> bytes:
    """Download an image link (an embed's picture) with a size cap; ``ImageError`` when it fails.

    Attachments are read through discord.py (``Attachment.read``); this is for image embeds, whose
    link points anywhere. No credential is ever sent with it. Bounded by ``FETCH_TIMEOUT``.
    """
    try:
        async with (
            asyncio.timeout(FETCH_TIMEOUT),
            aiohttp.ClientSession() as session,
            session.get(url, allow_redirects=True) as resp,
        ):
            if resp.status != 200:
                raise ImageError("media.fetch_expired")
            chunks: list[bytes] = []
            got = 0
            async for chunk in resp.content.iter_chunked(64 * 1024):
                chunks.append(chunk)
                got += len(chunk)
                if got > max_bytes:
                    break
            data = b"".join(chunks)
    except ImageError:
        raise
    except (aiohttp.ClientError, TimeoutError):
        raise ImageError("media.fetch_failed") from None
    if len(data) > max_bytes:
        raise ImageError("media.fetch_too_big", max=_mb(max_bytes))
    return data
