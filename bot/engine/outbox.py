"""The result outbox as delivery uses it: a claim per attempt, a nonce per result, a mark when sent.

A job's result is its own row (``storage.outbox``), independent of the job's card: the card may fail
to update and the result still goes out; the bot may die between posting and marking and the result
is still posted once. The nonce is made here, once per result, and sent with every attempt as
Discord's ``nonce`` + ``enforce_nonce``: Discord answers a repeated nonce from the same author with
the message it already made, for "the past few minutes". An attempt interrupted longer ago than
``NONCE_TRUSTED`` may have outlived that window, so delivery first looks for the posted message in
the channel (``lookup_first``) before trying again.
"""

from __future__ import annotations

import secrets

from bot.engine.clock import Clock
from storage import outbox
from storage.db import Database
from storage.outbox import Claim

NONCE_TRUSTED = 60.0  # seconds Discord is taken to remember a nonce ("a few minutes"; kept short)
NONCE_MAX = 25  # Discord's limit for a string nonce


def new_nonce(job_id: int) -> str:
    """``r<job id>-<random>``: the job id for whoever reads the logs, the random part so two
    databases (a restored backup, a test run) never share one within Discord's window."""
    value = f"r{job_id}-{secrets.token_hex(5)}"
    return value if len(value) <= NONCE_MAX else f"r{secrets.token_hex(12)}"


class Outbox:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def claim(self, job_id: int) -> Claim:
        """Claim the result for one attempt; ``Claim.sent`` when it is already out."""
        return await outbox.claim(self._db, job_id, nonce=lambda: new_nonce(job_id), now=self._clock.now())

    def lookup_first(self, claim: Claim) -> bool:
        """An earlier attempt may have posted the result so long ago that the nonce no longer holds."""
        return claim.interrupted_at is not None and self._clock.now() - claim.interrupted_at > NONCE_TRUSTED

    async def refused(self, job_id: int, why: str) -> None:
        """Discord answered the attempt with an error: nothing was posted."""
        await outbox.release(self._db, job_id, why)

    async def sent(self, job_id: int, message_id: int) -> None:
        await outbox.mark_sent(self._db, job_id, message_id, now=self._clock.now())
