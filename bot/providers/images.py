"""A member's reference image, fetched for vendors that take the bytes rather than a link.

Vendors that download the image themselves get its public URL (``Capabilities.image_by_url``); the
others need the bot to fetch it first, and that fetch has the same rules whoever sends the bytes on:
no vendor key goes to the image host, the read is bounded, and every refusal is the member's to fix
(they can attach the image again), never retried and never billed.
"""

from __future__ import annotations

from typing import Any

from bot.net import FetchFailed, LinkRefused, TooLarge
from bot.providers.base import ProviderError
from bot.providers.http import BytesResponse, VendorHttp

MB = 1024 * 1024


def image_unusable(user_key: str, detail: str, **params: Any) -> ProviderError:
    """The member's image cannot be used; ``user_key`` says why in their words."""
    return ProviderError(
        code="IMAGE_UNUSABLE",
        detail=detail,
        user_key=user_key,
        user_params=params,
        blame="user",
        retryable=False,
    )


async def fetch_image(
    http: VendorHttp, url: str, *, timeout_s: float, max_bytes: int, refusal: str | None = None
) -> BytesResponse:
    """The image at ``url`` (HTTP 200, at most ``max_bytes``), else ``IMAGE_UNUSABLE``.

    The link is the member's, not the vendor's, so it goes through ``http.fetcher`` (``bot.net``):
    a link the bot will not fetch is refused in its own words, whatever the vendor's are.
    ``refusal`` is the one catalog message for every other cause, for a vendor that words them
    alike; ``None`` gives a message per cause (not downloadable, gone or expired, too large).
    """
    try:
        got = await http.fetcher.get(url, max_bytes=max_bytes, time_limit=timeout_s)
    except LinkRefused as exc:
        raise image_unusable(exc.key, f"image link refused: {exc.reason}") from None
    except FetchFailed as exc:
        raise image_unusable(
            refusal or "provider.image_download_failed", f"image download failed: {exc}"
        ) from None
    except TooLarge:
        raise image_unusable(
            refusal or "provider.image_too_large",
            f"image is larger than {max_bytes} bytes",
            mb=max_bytes // MB,
        ) from None
    if got.status != 200:
        raise image_unusable(
            refusal or "provider.image_expired", f"image download answered HTTP {got.status}"
        )
    return BytesResponse(status=got.status, body=got.body, content_type=got.content_type, truncated=False)
