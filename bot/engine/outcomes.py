"""What a member reads when a job ends badly, and which parts of a vendor's answer they can see.

Kept apart from the runner so the words are in one place: each failure is a ``failures.Reason``
(what happened, what to try next), turned into one catalog sentence with the job's model and
credits when the job is settled, stored with the job and rendered in the member's language when it
is shown.
"""

from __future__ import annotations

from typing import Any

from bot.engine.failures import INTERNAL, TIMED_OUT, UNCONFIRMED, Reason, reason_for
from bot.i18n import msg
from bot.providers.base import ProviderError, TaskError, TaskSnapshot

__all__ = ["CANCELLED", "INTERNAL", "TIMED_OUT", "UNCONFIRMED", "Reason", "of_error", "of_task", "visible"]

CANCELLED = msg("job.error.cancelled")


def visible(snap: TaskSnapshot) -> dict[str, Any]:
    """The job columns a snapshot can change that a person could see on the card."""
    return {
        "stage": snap.stage,
        "progress_pct": snap.progress_pct,
        "step": snap.step,
        "step_count": snap.step_count,
        "step_name": snap.step_name,
        "storyboard_prompt": snap.storyboard_prompt,
        "storyboard_image_url": snap.storyboard_image_url,
    }


def of_error(exc: ProviderError) -> Reason:
    """Why a job a vendor refused (at submit, poll or result) ended."""
    literal = exc.user_message if exc.user_key is None else None
    return reason_for(exc.user_key, exc.user_params, text=literal)


def of_task(error: TaskError | None) -> Reason:
    """Why a job the vendor reported failed ended (its words, when it gave some)."""
    if error is None:
        return reason_for(None, {})
    return reason_for(error.key, error.params, text=error.message if error.key is None else None)
