"""How an OpenAI-compatible reseller's errors read to the bot.

Errors come in OpenAI's shape, ``{"error": {"message", "type", "param", "code"}}``, with a 4xx/5xx
status (https://developers.openai.com/api/reference/resources/videos; docs/vendors.md,
"OpenAI-compatible /v1/videos"). Resellers reuse the shape loosely — an ``error`` that is only a
string, an error envelope on HTTP 200, a proxy's HTML page — so the reading is lenient, and the
reseller's own words always reach the log.

A relay with no channel left for a model answers ``code: model_not_found`` — HTTP 503 on new-api
relays, 404 on some, and in Chinese "当前分组 … 下对于模型 … 无可用渠道" ("no available channel for
model …"). That is the model gone, not the relay down: permanent whatever the status, never
retried, and ``model_unavailable`` (docs/vendors.md, "OpenAI-compatible /v1/videos", C8).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from bot.i18n import Msg, msg
from bot.providers.base import ApiKey, ProviderError, scrub
from bot.providers.faults import (
    KEY_REJECTED,
    MODEL_NOT_SERVED,
    TASK_GONE,
    VENDOR_INTERNAL,
    ErrorSpec,
    unrecognised,
    vendor_code,
)

_QUOTA = ErrorSpec("provider.out_of_credit", "operator", False)
_RATE = ErrorSpec("provider.openai.rate_limited", "operator", True)
_SOURCE_GONE = ErrorSpec("provider.openai.source_gone", "user", False)
# Refusals the bot makes itself, in the same terms.
PRIVATE_SOURCE = ErrorSpec("provider.openai.private_source", "user", False)
VIDEO_TOO_LARGE = ErrorSpec("provider.openai.video_too_large", "vendor", False)
_QUOTA_WORDS = ("insufficient_quota", "quota", "balance", "billing", "credit")
_NO_CHANNEL_WORDS = ("无可用渠道", "no available channel for model")

# What a vendor `param` is called in the bot's commands, for messages that name the field.
_FIELD_NAMES = {
    "seconds": "duration",
    "size": "orientation/high_quality",
    "input_reference": "image",
    "character_timestamps": "character_start/character_end",
}


def openai_error(
    http_status: int | None,
    error: Mapping[str, Any] | None,
    *,
    route: str = "create",  # "create", "status", "content" or "remix"
    retry_after: float | None = None,
    key: ApiKey | None = None,
    body_text: str = "",
) -> ProviderError:
    """Turn an OpenAI-shaped error (or a bare HTTP status) into a ``ProviderError``.

    A 400 ``invalid_request_error`` is the member's to fix and names the field, except a refused
    ``model``, which is the profile's (C1). ``insufficient_quota`` arrives as HTTP 429 from OpenAI
    itself; it is reported with ``http_status=402`` so it is not mistaken for a rate limit (which
    the engine would wait out and retry) — the real status stays in ``detail``.
    """
    err = error or {}
    message = scrub(str(err.get("message") or "").strip(), key)[:300]
    etype = str(err.get("type") or "")
    code = str(err.get("code") or "")
    param = str(err.get("param") or "") or None
    shown = message or scrub(body_text.strip(), key)[:200] or "(no message)"
    detail = (
        (f"HTTP {http_status}: " if http_status else "error body: ")
        + shown
        + (f" [param={param}]" if param else "")
    )
    status = http_status
    said: Msg = (
        msg("provider.openai.said", words=message.rstrip("."))
        if message
        else msg("provider.openai.said_none")
    )
    vocabulary = f"{code} {etype}".lower()
    if code == "model_not_found" or any(word in message.lower() for word in _NO_CHANNEL_WORDS):
        spec = MODEL_NOT_SERVED
    elif http_status == 402 or any(word in vocabulary for word in _QUOTA_WORDS):
        spec, status = _QUOTA, 402
    elif http_status in (401, 403):
        spec = KEY_REJECTED
    elif http_status == 429:
        spec = _RATE
    elif http_status is None or http_status >= 500:
        spec = VENDOR_INTERNAL
    elif http_status == 404 and route == "status":
        spec = TASK_GONE
    elif http_status == 404 and route == "remix":
        spec = _SOURCE_GONE
    elif http_status in (400, 409, 413, 415, 422) or etype == "invalid_request_error":
        if param == "model":
            spec = ErrorSpec("provider.openai.model_refused", "operator", False, params={"said": said})
        elif param:
            name = _FIELD_NAMES.get(param, param)
            spec = ErrorSpec(
                "provider.openai.field_refused", "user", False, params={"field": name, "said": said}
            )
        else:
            spec = ErrorSpec("provider.openai.request_refused", "user", False, params={"said": said})
    else:
        spec = unrecognised(http_status)
    return spec.error(
        code=vendor_code(code or etype, http_status),
        detail=detail,
        http_status=status,
        retry_after=retry_after if spec is _RATE else None,
    )


def answer_error(
    status: int, body: Any, headers: Mapping[str, str], route: str, key: ApiKey, *, body_text: str = ""
) -> ProviderError:
    """The error an answer carries: its ``error`` object if any, its status (when >= 400) and its
    ``Retry-After``."""
    return openai_error(
        status if status >= 400 else None,
        error_object(body) if isinstance(body, Mapping) else None,
        route=route,
        retry_after=retry_after(headers),
        key=key,
        body_text=body_text,
    )


def error_object(body: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The body's ``error``: OpenAI's object, or a reseller's bare string as its ``message``."""
    err = body.get("error")
    if isinstance(err, Mapping):
        return err
    if isinstance(err, str) and err.strip():
        return {"message": err}
    return None


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait, from ``retry-after-ms`` or ``Retry-After`` (seconds only, not a date)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = lowered.get(name)
        if value is None:
            continue
        try:
            seconds = float(value) * scale
        except ValueError:
            continue
        if math.isfinite(seconds) and seconds >= 0:
            return seconds
    return None
