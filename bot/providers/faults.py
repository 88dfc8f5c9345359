"""Faults every adapter meets alike: an unreadable answer, and no answer at all."""

from __future__ import annotations

from bot.providers.base import ProviderError
from bot.providers.http import TransportError


def malformed(detail: str, http_status: int | None, *, retryable: bool = True) -> ProviderError:
    """The vendor answered something the adapter cannot read."""
    return ProviderError(
        code="MALFORMED_RESPONSE",
        detail=detail,
        user_message="The video provider sent an answer the bot could not read."
        + (" It will try again." if retryable else ""),
        blame="vendor",
        retryable=retryable,
        http_status=http_status,
    )


def transport(exc: TransportError, *, submit: bool) -> ProviderError:
    """No answer. A create that may have reached the vendor (and billed a video) is never repeated."""
    if not exc.maybe_sent:
        return ProviderError(
            code="UNREACHABLE",
            detail=str(exc),
            user_message="The bot could not reach the video provider. Please try again in a few minutes.",
            blame="vendor",
            retryable=True,
        )
    if submit:
        return ProviderError(
            code="NO_RESPONSE",
            detail=str(exc),
            user_message="The video provider did not answer in time. Please try again in a few minutes.",
            blame="vendor",
            retryable=False,
        )
    return ProviderError(
        code="NO_RESPONSE",
        detail=str(exc),
        user_message="The video provider is not answering right now; the bot will keep checking.",
        blame="vendor",
        retryable=True,
    )
