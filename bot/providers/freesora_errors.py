"""How freesoragenerator's errors read to the bot: B10, and "polling errors are not task failures".

The vendor publishes no code list and answers most errors with HTTP 200 and a non-zero ``code``
(docs/vendors.md, "freesoragenerator sora-pro"), so a refusal is recognised by the words of its
``message`` first and by its HTTP status second; the raw code and message always stay in
``ProviderError.detail`` for the log.
"""

from __future__ import annotations

from dataclasses import replace

from bot.providers.base import ProviderError
from bot.providers.faults import (
    KEY_REJECTED,
    OUT_OF_CREDITS,
    VENDOR_INTERNAL,
    ErrorSpec,
    spec_for_status,
    unrecognised,
    vendor_code,
)

_CREDITS = replace(OUT_OF_CREDITS, code="INSUFFICIENT_CREDITS")
VIP_REQUIRED = ErrorSpec("provider.freesora.vip_required", "user", False, code="VIP_REQUIRED")
_LIMIT = ErrorSpec("provider.freesora.concurrency_limit", "operator", True, code="CONCURRENCY_LIMIT")
_UNAVAILABLE = ErrorSpec("provider.freesora.model_unavailable", "vendor", True, code="MODEL_UNAVAILABLE")
_TASK_ID = ErrorSpec("provider.freesora.task_id", "operator", False, code="TASK_ID_ERROR")
_LOGIN = replace(KEY_REJECTED, code="UNAUTHORIZED")
_BAD_REQUEST = ErrorSpec("provider.freesora.bad_request", "operator", False, code="BAD_REQUEST")
_INTERNAL = replace(VENDOR_INTERNAL, code="INTERNAL_ERROR")

# Heuristics on the lower-cased message; the first match wins.
_BY_WORDS: tuple[tuple[tuple[str, ...], ErrorSpec], ...] = (
    (("credit",), _CREDITS),
    (("vip",), VIP_REQUIRED),
    (("concurr", "limit", "too many"), _LIMIT),
    (("unavailable",), _UNAVAILABLE),
    (("taskid", "task id", "task not found"), _TASK_ID),
)
_BY_STATUS: dict[int, ErrorSpec] = {400: _BAD_REQUEST, 401: _LOGIN, 402: _CREDITS, 403: _LOGIN, 429: _LIMIT}


def freesora_error(
    code: object, message: str | None, http_status: int | None, *, polling: bool = False
) -> ProviderError:
    """Turn an FSG error (HTTP >= 400, or HTTP 200 with ``code != 0``) into a ``ProviderError``.

    A recognised message gets a symbolic ``code`` and plain words; an unrecognised one keeps the
    vendor's raw code. ``detail`` always carries the raw code, message and HTTP status. With
    ``polling`` an HTTP 200 refusal is retryable whatever it says (a poll error, not a task failure).
    """
    text = (message or "").strip() or "(no message)"
    raw_code = "" if code is None else str(code)
    lowered = text.lower()
    spec = next((s for words, s in _BY_WORDS if any(w in lowered for w in words)), None)
    spec = spec or spec_for_status(http_status, _BY_STATUS, _INTERNAL) or unrecognised(http_status)
    return spec.error(
        code=vendor_code(raw_code, http_status),
        detail=f"{text} (vendor code {raw_code or '-'}, HTTP {http_status})",
        # so the engine requeues and rests the key, whatever the transport said
        http_status=429 if spec is _LIMIT else http_status,
        retryable=spec.retryable or (polling and (http_status is None or http_status < 400)),
    )
