"""Image intake for video providers: decode what a member attached and fit it to the video frame.

OpenAI-compatible ``/v1/videos`` providers refuse an ``input_reference`` whose pixel size differs
from the requested ``size`` ("Inpaint image must match the requested width and height"), and a
Discord attachment is whatever the member's phone produced. ``fit_image`` turns any decodable still
image into exactly ``width`` x ``height``: EXIF rotation applied, scaled to *cover* the frame and
centre-cropped (no letterbox bars, which the model would animate as part of the scene).

Decoding is CPU work; async callers should run it in a thread (``asyncio.to_thread``).
"""

from __future__ import annotations

import io
import warnings

from PIL import Image, ImageOps, UnidentifiedImageError

from bot.errors import UserError

MAX_PIXELS = 50_000_000  # ~ a 9000 x 5500 photo; larger is refused before it is decoded
JPEG_QUALITY = 90

PNG = "image/png"
JPEG = "image/jpeg"


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
        raise ImageError("The image is empty. Attach a PNG, JPEG or WebP picture.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as opened:
                if opened.width * opened.height > MAX_PIXELS:
                    raise ImageError(
                        f"The image is too large ({opened.width}x{opened.height} pixels). "
                        "Attach a smaller picture."
                    )
                opened.seek(0)  # an animated GIF/WebP: its first frame
                opened.load()
                img = ImageOps.exif_transpose(opened) or opened
                return _encode(_cover(img, width, height))
    except ImageError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError(
            "That file is not an image the bot can read. Attach a PNG, JPEG or WebP picture."
        ) from None
    except (OSError, ValueError, SyntaxError, EOFError):  # Pillow's ways of saying "truncated/corrupt"
        raise ImageError("The image file is damaged or incomplete. Try attaching it again.") from None


def image_mime(data: bytes) -> str:
    """The MIME type of an image produced by ``fit_image`` (PNG or JPEG), from its magic bytes."""
    return PNG if data.startswith(b"\x89PNG\r\n\x1a\n") else JPEG


def image_size(data: bytes) -> tuple[int, int]:
    """``(width, height)`` of an encoded image; raises ``ImageError`` when it cannot be read."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            return img.width, img.height
    except (UnidentifiedImageError, OSError, ValueError):
        raise ImageError("That file is not an image the bot can read.") from None


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
