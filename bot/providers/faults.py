"""Faults every adapter meets alike, and the one shape a vendor's error table is written in.

Each vendor names its errors its own way (nanophoto an ``errorCode``, freesoragenerator a message, an
OpenAI-compatible reseller a ``type``/``code``/``param``), but what the bot needs to know about one is
always the same: what a member reads, who can fix it, and whether trying again can help. So every
vendor table maps onto one ``ErrorSpec``, the specs that mean the same thing everywhere are written
once here, and so are the faults that are not the vendor's words at all: an unreadable answer, no
answer, no finished video — and the one log line every fault gets before it is raised.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.i18n import msg
from bot.providers.base import ApiKey, Blame, ProviderError, TaskSnapshot, TaskState, VideoSource, scrub
from bot.providers.http import TransportError


@dataclass(frozen=True)
class ErrorSpec:
    """What one kind of vendor error means for the bot: the catalog message a member reads (with its
    ``params``), who can fix it, whether a poll may try again, whether the vendor refunds, and
    whether it means the model is no longer served (``ProviderError.model_unavailable``)."""

    user_key: str
    blame: Blame
    retryable: bool
    vendor_refunds: bool = False
    params: Mapping[str, Any] = field(default_factory=dict)
    code: str | None = None  # reported instead of the vendor's own code (a vendor without a code list)
    model_unavailable: bool = False

    def error(
        self,
        *,
        code: str,
        detail: str,
        http_status: int | None,
        retry_after: float | None = None,
        retryable: bool | None = None,
    ) -> ProviderError:
        """The ``ProviderError`` for one occurrence; ``retryable`` overrides the spec's own."""
        return ProviderError(
            code=self.code or code,
            detail=detail,
            user_key=self.user_key,
            user_params=self.params,
            blame=self.blame,
            retryable=self.retryable if retryable is None else retryable,
            vendor_refunds=self.vendor_refunds,
            http_status=http_status,
            retry_after=retry_after,
            model_unavailable=self.model_unavailable,
        )


KEY_REJECTED = ErrorSpec("provider.key_rejected", "operator", False)
OUT_OF_CREDITS = ErrorSpec("provider.out_of_credits", "operator", False)
VENDOR_INTERNAL = ErrorSpec("provider.internal", "vendor", True)
TASK_GONE = ErrorSpec("provider.task_gone", "operator", False)
# The vendor no longer serves the model (retired upstream, no channel left): permanent, so never
# retried, and nothing was made, so nothing was charged — whichever of create or status said it.
MODEL_NOT_SERVED = ErrorSpec(
    "provider.model_not_served", "vendor", False, vendor_refunds=True, model_unavailable=True
)


def spec_for_status(
    http_status: int | None, table: Mapping[int, ErrorSpec], server: ErrorSpec = VENDOR_INTERNAL
) -> ErrorSpec | None:
    """When a body names no known error, the HTTP status still may: ``table``'s, or ``server`` for 5xx."""
    if http_status is None:
        return None
    return table.get(http_status) or (server if http_status >= 500 else None)


def unrecognised(http_status: int | None) -> ErrorSpec:
    """An error no table knows: generic words, worth another try unless a 4xx refused the request."""
    return ErrorSpec("provider.generic", "vendor", http_status is None or not 400 <= http_status < 500)


def vendor_code(code: str, http_status: int | None) -> str:
    """The vendor's own code, else one made from the HTTP status, so the log always names something."""
    return code or (f"HTTP_{http_status}" if http_status else "UNKNOWN_ERROR")


def malformed(
    detail: str, http_status: int | None, *, retryable: bool = True, code: str = "MALFORMED_RESPONSE"
) -> ProviderError:
    """The vendor answered something the adapter cannot read (``code``: a more precise name for it)."""
    return ProviderError(
        code=code,
        detail=detail,
        user_key="provider.malformed",
        user_params={"retry": msg("provider.will_retry") if retryable else ""},
        blame="vendor",
        retryable=retryable,
        http_status=http_status,
    )


def transport(exc: TransportError, *, submit: bool) -> ProviderError:
    """No answer. A create that may have reached the vendor (and billed a video) is never repeated."""
    if not exc.maybe_sent:
        code = "UNREACHABLE"
        user_key = "provider.unreachable"
    elif submit:
        code = "NO_RESPONSE"
        user_key = "provider.no_answer_submit"
    else:
        code = "NO_RESPONSE"
        user_key = "provider.no_answer_poll"
    return ProviderError(
        code=code,
        detail=str(exc),
        user_key=user_key,
        blame="vendor",
        retryable=not (exc.maybe_sent and submit),
    )


def no_video(detail: str) -> ProviderError:
    """``open_result`` was asked for a video the snapshot does not have."""
    return ProviderError(
        code="NO_VIDEO",
        detail=detail,
        user_key="provider.no_video",
        blame="vendor",
        retryable=False,
    )


def public_result(snap: TaskSnapshot) -> VideoSource:
    """``open_result`` for vendors that hand out a public video URL (or public links to its parts):
    no key is needed to fetch it."""
    if snap.state is not TaskState.SUCCEEDED or not (snap.video_url or snap.video_parts):
        raise no_video(f"open_result on a {snap.state.value} snapshot without a video URL")
    if snap.video_url:
        return VideoSource(url=snap.video_url)
    return VideoSource(parts=snap.video_parts)


def logged(
    log: logging.Logger, vendor: str, provider: str, err: ProviderError, route: str, key: ApiKey
) -> ProviderError:
    """Log ``err`` once, by key name and never the key itself, and hand it back to be raised."""
    log.warning(
        "%s %s %s (key %s): HTTP %s %s: %s",
        vendor,
        provider,
        route,
        key.name,
        err.http_status,
        err.code,
        scrub(err.detail, key),
    )
    return err
