"""A job's messages besides its result, and how a server wants results delivered.

The gallery copy of a finished video is its own outbox row (``storage.posts``), apart from the
result's: the result may be out while the gallery post still waits (the gallery channel refused it,
the bot stopped in between), and neither is ever posted twice. The row is planned before the result
is sent, so a crash between the two still leaves the gallery post to do; the engine re-announces
such jobs at start (``unsent_jobs``) as it does undelivered results.

``prefs`` is what delivery reads of the server's settings: the gallery channel, and whether the
card itself becomes the result (``/settings delivery``).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from bot.engine.clock import Clock
from bot.engine.outbox import NONCE_MAX, NONCE_TRUSTED
from bot.engine.views import JobView
from storage import guilds, outbox, posts
from storage.db import Database
from storage.posts import GALLERY, PostClaim
from storage.states import JobState


@dataclass(frozen=True)
class DeliveryPrefs:
    gallery_channel_id: int | None = None
    result_in_card: bool = False


def gallery_nonce(job_id: int) -> str:
    """``g<job id>-<random>``, like a result's ``r…`` nonce (``bot.engine.outbox.new_nonce``)."""
    value = f"g{job_id}-{secrets.token_hex(5)}"
    return value if len(value) <= NONCE_MAX else f"g{secrets.token_hex(12)}"


class Posts:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def prefs(self, guild_id: int) -> DeliveryPrefs:
        settings = await guilds.get(self._db, guild_id)
        return DeliveryPrefs(settings.gallery_channel_id, settings.result_in_card)

    async def plan_gallery(self, job: JobView) -> None:
        """Plan the gallery post of a finished video, if the server has a gallery (once per job)."""
        if job.state is not JobState.SUCCEEDED:
            return
        channel = (await self.prefs(job.guild_id)).gallery_channel_id
        if channel is None or channel == job.channel_id:  # the video is already there
            return
        await posts.plan(
            self._db, job.id, GALLERY, channel, nonce=gallery_nonce(job.id), now=self._clock.now()
        )

    async def gallery_pending(self, job_id: int) -> bool:
        post = await posts.get(self._db, job_id, GALLERY)
        return post is not None and post.state in (posts.PENDING, posts.CLAIMED)

    async def claim_gallery(self, job_id: int) -> PostClaim | None:
        return await posts.claim(self._db, job_id, GALLERY, now=self._clock.now())

    def lookup_first(self, claim: PostClaim, *, has_nonce: bool) -> bool:
        """Look for an interrupted attempt's post first: always where no nonce protects it (a forum
        thread), else once Discord may have forgotten the nonce."""
        if claim.interrupted_at is None:
            return False
        return not has_nonce or self._clock.now() - claim.interrupted_at > NONCE_TRUSTED

    async def gallery_refused(self, job_id: int, why: str) -> None:
        await posts.release(self._db, job_id, GALLERY, why)

    async def gallery_sent(self, job_id: int, message_id: int) -> None:
        await posts.mark_sent(self._db, job_id, GALLERY, message_id, now=self._clock.now())

    async def gallery_dropped(self, job_id: int, why: str) -> None:
        await posts.drop(self._db, job_id, GALLERY, why)

    async def result_message(self, job_id: int) -> int | None:
        """The message the job's result went out as (the card itself when it became the result)."""
        entry = await outbox.get(self._db, job_id)
        return entry.message_id if entry is not None and entry.state == outbox.SENT else None

    async def unsent_jobs(self) -> list[int]:
        return await posts.unsent_jobs(self._db)
