"""What a member reads when a job ends badly, and which parts of a vendor's answer they can see.

Kept apart from the runner so the words are in one place: each is a catalog message, stored with
the job and rendered in the member's language when it is shown.
"""

from __future__ import annotations

from typing import Any

from bot.i18n import Msg, literal, msg
from bot.providers.base import TaskError, TaskSnapshot

UNCONFIRMED_SUBMIT = msg("job.error.unconfirmed_submit")
INTERNAL_FAILURE = msg("job.error.internal")
TIMED_OUT = msg("job.error.timed_out")
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


def vendor_words(error: TaskError | None) -> Msg | None:
    """What the provider said about a failure: its words in the catalog when known, literal otherwise."""
    if error is None:
        return None
    if error.key:
        return Msg(error.key, dict(error.params))
    return literal(error.message) if error.message else None


def failure_message(error: TaskError | None) -> Msg:
    """The job's failure in the member's words (rendered in their locale when it is shown)."""
    said = vendor_words(error)
    if said is None:
        return msg("job.error.provider_failed")
    return msg("job.error.provider_failed_said", said=said)
