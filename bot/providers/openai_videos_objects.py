"""Reading what an OpenAI-compatible reseller hands back: the Video object and ``/content``.

Resellers serve OpenAI's Video object loosely (docs/vendors.md, "OpenAI-compatible /v1/videos"): the
id may be ``id``, ``task_id`` or ``data.id``, the object may be wrapped in ``data``, the status word
comes from one of several vocabularies (C7), and a finished video may be a direct link in the object
or whatever ``GET /v1/videos/{id}/content`` answers — MP4 bytes, a redirect to a CDN, or JSON with
a link. This module reads all of them, so the adapter sees one shape.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from yarl import URL

from bot.providers.adapter import StatusWords
from bot.providers.base import ApiKey, VideoSource, scrub
from bot.providers.faults import malformed
from bot.providers.http import VendorHttp
from bot.providers.openai_videos_errors import VIDEO_TOO_LARGE, answer_error

# OpenAI's own words and those of every reseller family seen (C7).
OPENAI_VIDEOS_WORDS = StatusWords(
    queued=frozenset({"queued", "submitted", "pending"}),
    running=frozenset({"in_progress", "processing", "running"}),
    succeeded=frozenset({"completed", "succeeded", "success"}),
    failed=frozenset({"failed", "error", "cancelled", "canceled"}),
)
URL_FIELDS = ("video_url", "url", "download_url")
MAX_VIDEO_BYTES = 256 * 1024 * 1024  # a 15 s Sora clip is 5-30 MB; cap what is held in memory
CONTENT_ACCEPT = "video/*, application/json;q=0.9, */*;q=0.5"
REDIRECTS = frozenset({301, 302, 303, 307, 308})


def remote_id_of(body: Mapping[str, Any]) -> str | None:
    """C7: ``id``, else ``task_id``, else ``data.id``."""
    for value in (body.get("id"), body.get("task_id")):
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
            return str(value)
    data = body.get("data")
    if isinstance(data, Mapping):
        value = data.get("id") or data.get("task_id")
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
            return str(value)
    return None


def video_object(body: Mapping[str, Any]) -> dict[str, Any]:
    """The Video object in ``body``: the body itself, or its ``data`` (whose fields win) merged in."""
    data = body.get("data")
    if isinstance(data, Mapping):
        return {**{k: v for k, v in body.items() if k != "data"}, **data}
    return dict(body)


def progress_of(value: Any) -> int | None:
    """``progress`` as a whole percentage (a number, or text such as ``"42%"``); ``None`` if neither."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        value = value.strip().removesuffix("%")
        try:
            value = float(value)
        except ValueError:
            return None
    if isinstance(value, int | float) and math.isfinite(value):
        return max(0, min(100, round(value)))
    return None


def took_seconds(obj: Mapping[str, Any]) -> float | None:
    """How long the vendor took by its own clock: ``completed_at - created_at`` (Unix seconds), when
    both are numbers and in order; estimates learn from it rather than from when the bot looked."""
    start, end = _number(obj.get("created_at")), _number(obj.get("completed_at"))
    if start is None or end is None:
        return None
    took = end - start
    return took if math.isfinite(took) and took > 0 else None


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def direct_url(obj: Mapping[str, Any]) -> str | None:
    """A link to the finished video in the object itself, which spares a ``/content`` call."""
    for name in URL_FIELDS:
        value = obj.get(name)
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            return value
    return None


# --------------------------------------------------------------------------- /content


@dataclass(frozen=True)
class Content:
    """What ``/content`` answered, read only as far as needed (a redirected video is not downloaded)."""

    status: int
    content_type: str
    final_url: str
    redirected: bool
    body: bytes
    truncated: bool
    headers: Mapping[str, str]


async def fetch_content(http: VendorHttp, url: str, key: ApiKey, *, timeout_s: float) -> Content:
    """``GET /content`` with the key. A redirect is not followed: its target is a URL the vendor
    named, so it is returned as the video's link and fetched (checked) by ``bot.net`` like any other."""
    max_body = http.max_body

    async def read(resp: aiohttp.ClientResponse) -> Content:
        ctype = resp.content_type.lower()
        location = resp.headers.get("Location")
        if resp.status in REDIRECTS and location:
            target = str(resp.url.join(URL(location)))
            return Content(resp.status, ctype, target, True, b"", False, {})
        limit = MAX_VIDEO_BYTES if _is_video_type(ctype) and resp.status < 300 else max_body
        raw = await resp.content.read(limit + 1)
        if len(raw) > limit:
            return Content(resp.status, ctype, str(resp.url), False, raw[:limit], True, {})
        return Content(resp.status, ctype, str(resp.url), False, raw, False, dict(resp.headers))

    content, _ = await http.get_with(
        url,
        read,
        timeout_s=timeout_s,
        key=key,
        accept=CONTENT_ACCEPT,
        should_retry=lambda c: c.status >= 500,
        follow=False,
    )
    return content


def content_source(content: Content, url: str, key: ApiKey) -> VideoSource:
    """The video ``/content`` handed over: its bytes, the CDN link it redirected to, or the link in its
    JSON; otherwise the ``ProviderError`` to log and raise."""
    if content.redirected:
        return VideoSource(url=content.final_url)
    if content.status >= 400:
        text = content.body[:200].decode("utf-8", "replace")
        raise answer_error(
            content.status, _json_or_none(content.body), content.headers, "content", key, body_text=text
        )
    if _is_video_type(content.content_type):
        if content.truncated:
            detail = f"content is larger than {MAX_VIDEO_BYTES} bytes"
            raise VIDEO_TOO_LARGE.error(code="VIDEO_TOO_LARGE", detail=detail, http_status=None)
        if not content.body:
            raise malformed("content is an empty video", content.status)
        return VideoSource(url=url, data=content.body, content_type=content.content_type or "video/mp4")
    data = _json_or_none(content.body)
    if isinstance(data, Mapping):
        link = direct_url(video_object(data))
        if link:
            return VideoSource(url=link)
    raise malformed(
        f"content answer is {content.content_type or 'untyped'} without a video link: "
        f"{scrub(content.body[:200].decode('utf-8', 'replace'), key)!r}",
        content.status,
    )


def _is_video_type(ctype: str) -> bool:
    return ctype.startswith("video/") or ctype in ("application/octet-stream", "binary/octet-stream")


def _json_or_none(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None
