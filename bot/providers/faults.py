"""Faults every adapter meets alike: an unreadable answer, no answer at all, no finished video —
and the one log line every fault gets before it is raised."""

from __future__ import annotations

import logging

from bot.i18n import msg
from bot.providers.base import ApiKey, ProviderError, TaskSnapshot, TaskState, VideoSource, scrub
from bot.providers.http import TransportError


def malformed(detail: str, http_status: int | None, *, retryable: bool = True) -> ProviderError:
    """The vendor answered something the adapter cannot read."""
    return ProviderError(
        code="MALFORMED_RESPONSE",
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
    """``open_result`` for vendors that hand out a public video URL: no key is needed to fetch it."""
    if snap.state is not TaskState.SUCCEEDED or not snap.video_url:
        raise no_video(f"open_result on a {snap.state.value} snapshot without a video URL")
    return VideoSource(url=snap.video_url)


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
