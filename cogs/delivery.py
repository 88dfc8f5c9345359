"""Shows every job in Discord: one message per job, edited as the job moves, then the result.

The engine emits events; this listener keeps the newest one per job and edits the job's message
at most once every ``edit_interval`` seconds (terminal events go out at once). While the
interaction token lives the edit goes through it; afterwards (or when Discord refuses the token)
through the bot token on the channel message; if that message is gone, a new one is posted and
remembered.

The result is its own message, posted exactly once by ``cogs.outbox`` whatever happens to the card:
an edit of the card that fails is logged and the result still goes out. A link the bot will not fetch
(``bot.net``: a private address, say) is neither downloaded nor shown: the member is told the video
cannot be delivered, and the link is dropped from the job so no message shows it. Everything else is
sent with no mentions allowed at all. Progress and result are in the job's locale (the requester's).

A finished video's card shows a frame of it (``poster-<job id>.jpg``, from ``bot.landing``). Where
the server asks for fewer messages (``/settings delivery card``) the card itself becomes the result
(``Results.deliver`` with a ``CardEdit``) and a later edit keeps its video and buttons. Last, the
gallery copy (``cogs.gallery``), which has its own outbox row and waits for nothing but the result.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import discord
from discord.utils import MISSING

from bot import metrics, videos
from bot.engine.engine import Engine
from bot.engine.events import JobEvent
from bot.engine.views import JobView
from bot.net import Fetcher
from bot.transcode import Transcoder
from cogs import buttons, render
from cogs.coalesce import Coalescer
from cogs.gallery import Gallery
from cogs.outbox import RETRY_DELAYS, CardEdit, ResultBody, Results
from storage.states import JobState

log = logging.getLogger(__name__)
TOKEN_MARGIN = 30.0  # stop using an interaction token this long before it expires
UNKNOWN_MESSAGE = 10008
UNKNOWN_WEBHOOK = 10015
INVALID_WEBHOOK_TOKEN = 50027
TOKEN_REFUSED = (INVALID_WEBHOOK_TOKEN, UNKNOWN_WEBHOOK)
NO_MENTIONS = discord.AllowedMentions.none()
FileMaker = Callable[[], discord.File]


def poster_name(job: JobView) -> str:
    return f"poster-{job.id}.jpg"


class Delivery:
    """The engine's observer that keeps Discord up to date.

    ``clock`` is the wall clock the interaction-token deadline is compared with; tests replace it
    to let a token expire without waiting 15 minutes. ``fetcher`` downloads vendors' video links;
    ``result_retry_delays`` space the attempts at a result Discord refused (``cogs.outbox``).
    """

    def __init__(
        self,
        client: discord.Client,
        engine: Engine,
        *,
        edit_interval: float,
        fetcher: Fetcher,
        clock: Callable[[], float] = time.time,
        default_upload_limit: int = videos.DEFAULT_UPLOAD_LIMIT,
        result_retry_delays: Sequence[float] = RETRY_DELAYS,
        transcoder: Transcoder | None = None,
    ) -> None:
        self._client = client
        self._engine = engine
        self.clock = clock
        self._edits = Coalescer(edit_interval, self._show, ended=self._forget, name="deliver")
        self._message_ids: dict[int, int] = {}  # job -> its message, when it changed after the event
        self._dead_tokens: set[int] = set()  # jobs whose interaction token Discord refused
        self._channel_only: set[int] = set()  # messages the interaction token cannot edit
        self.results = Results(
            client,
            engine,
            fetcher=fetcher,
            default_upload_limit=default_upload_limit,
            token_alive=self._token_alive,
            retry_delays=result_retry_delays,
            transcoder=transcoder,
        )
        self.gallery = Gallery(client, engine, retry_delays=result_retry_delays)

    async def on_job_event(self, event: JobEvent) -> None:
        self._edits.offer(event)

    async def wait_idle(self) -> None:
        await self._edits.wait_idle()

    async def close(self) -> None:
        await self._edits.close()

    def _forget(self, job_id: int) -> None:
        self._dead_tokens.discard(job_id)
        message_id = self._message_ids.pop(job_id, None)
        if message_id is not None:
            self._channel_only.discard(message_id)

    async def _show(self, event: JobEvent) -> None:
        """Update the card, then (terminal) post the result — which a failed card edit never stops —
        and the gallery copy; or, where the server wants it, turn the card into the result."""
        job = event.job
        body: ResultBody | None = None
        result_due = gallery_due = in_card = card_is_result = False
        if event.terminal:
            posts = self._engine.posts
            result_due = await self.results.pending(job)
            if result_due:  # planned with the result, before it: a crash in between still posts it
                await posts.plan_gallery(job)
            gallery_due = await posts.gallery_pending(job.id)
            succeeded = job.state is JobState.SUCCEEDED
            in_card = result_due and succeeded and (await posts.prefs(job.guild_id)).result_in_card
            card_is_result = not result_due and succeeded and await self._card_is_result(job)
        if result_due or gallery_due:
            body = await self.results.body(job)  # first: a refused link must not reach the job's embed
            if body.refused:
                await self._engine.forget_video_url(job.id)
                job = replace(job, video_url=None)
                event = replace(event, job=job)
        embed: discord.Embed | None = None
        try:
            # The vendor's link on the card only when the result does not upload the video.
            linked = body is not None and body.video is None and not body.refused
            embed = render.job_embed(event, now=self._engine.clock.now(), video_link=linked)
            if not in_card:  # else the result's own edit of the card shows it (below)
                poster = await self._poster(job, body) if event.terminal and not card_is_result else None
                if poster is not None:
                    embed.set_image(url=f"attachment://{poster_name(job)}")
                view = self.results.view(job) if card_is_result else buttons.progress_view(job)
                await self._edit_or_repost(
                    job, embed, view, file_maker(poster, poster_name(job)) if poster else None
                )
            metrics.discord_edit("ok")
        except Exception:
            metrics.discord_edit("failed")
            if body is None:
                raise
            log.exception("job %s: could not update its card; posting the result all the same", job.id)
        card_id = self._message_ids.get(job.id, job.message_id)
        if result_due and body is not None:
            card = self._card_edit(job, embed, body) if in_card and embed is not None else None
            await self.results.deliver(job, body, reply_to=card_id, card=card)
        if gallery_due and body is not None:
            await self.gallery.post(job, body)

    async def _poster(self, job: JobView, body: ResultBody | None) -> Path | None:
        """The poster frame for a finished video's card, if there is one."""
        if job.state is not JobState.SUCCEEDED:
            return None
        return body.poster if body is not None else await self.results.poster(job)

    async def _card_is_result(self, job: JobView) -> bool:
        """The card became the result (``/settings delivery``): a later edit keeps its video and buttons."""
        sent = await self._engine.posts.result_message(job.id)
        return sent is not None and sent == self._message_ids.get(job.id, job.message_id)

    def _card_edit(self, job: JobView, embed: discord.Embed, body: ResultBody) -> CardEdit:
        """How ``Results`` turns this job's card into its result: the video on it (or, linked, its
        poster frame in the embed), the result's words and buttons; False when the card is gone."""

        async def edit(content: str, video: Path | None, view: discord.ui.View) -> bool:
            message_id = self._message_ids.get(job.id, job.message_id)
            if message_id is None:
                return False
            poster = None if video is not None else await self._poster(job, body)
            shown = embed.copy()
            upload = file_maker(video, f"video-{job.id}.mp4") if video else None
            if poster is not None:
                shown.set_image(url=f"attachment://{poster_name(job)}")
                upload = file_maker(poster, poster_name(job))
            done = await self._edit(job, message_id, content=content, embed=shown, view=view, file=upload)
            metrics.discord_edit("ok" if done else "failed")
            return done

        return edit

    # ---- the job's message ----------------------------------------------------------------------

    def _token_alive(self, job: JobView) -> bool:
        return bool(
            job.interaction_token
            and job.application_id
            and job.interaction_expires_at
            and job.id not in self._dead_tokens
            and self.clock() < job.interaction_expires_at - TOKEN_MARGIN
        )

    def _webhook(self, job: JobView) -> discord.Webhook:
        assert job.application_id is not None and job.interaction_token is not None
        return discord.Webhook.partial(job.application_id, job.interaction_token, client=self._client)

    def _token_refused(self, job: JobView, exc: discord.HTTPException) -> bool:
        """True (and the token is not tried again) when Discord says the token is no longer valid."""
        if exc.code in TOKEN_REFUSED or exc.status == 401:
            log.info("job %s: interaction token refused (%s); using the bot token", job.id, exc.code)
            self._dead_tokens.add(job.id)
            return True
        return False

    async def _edit(
        self, job: JobView, message_id: int, *, file: FileMaker | None = None, **fields: Any
    ) -> bool:
        """Edit the job's message (through its token while that lives, else the bot token); ``file``
        replaces its attachments. False when the message is gone."""
        if file is not None:
            fields["attachments"] = [file()]
        if message_id not in self._channel_only and self._token_alive(job):
            try:
                await self._webhook(job).edit_message(message_id, allowed_mentions=NO_MENTIONS, **fields)
                return True
            except discord.HTTPException as exc:
                if exc.code == UNKNOWN_MESSAGE:  # deleted, or not this interaction's message
                    self._channel_only.add(message_id)
                elif not self._token_refused(job, exc):
                    raise
            if file is not None:
                fields["attachments"] = [file()]  # a fresh one: the failed attempt consumed it
        channel = self._client.get_partial_messageable(job.channel_id)
        try:
            await channel.get_partial_message(message_id).edit(allowed_mentions=NO_MENTIONS, **fields)
            return True
        except discord.NotFound:
            return False

    async def _edit_or_repost(
        self, job: JobView, embed: discord.Embed, view: discord.ui.View | None, file: FileMaker | None = None
    ) -> None:
        message_id = self._message_ids.get(job.id, job.message_id)
        if message_id is not None:
            if await self._edit(job, message_id, embed=embed, view=view, file=file):
                return
            log.info("job %s: its message is gone; posting a new one", job.id)
        await self._repost(job, embed, view, file)

    async def _repost(
        self, job: JobView, embed: discord.Embed, view: discord.ui.View | None, file: FileMaker | None = None
    ) -> None:
        """Post the job's message anew (a followup while the token lives, so it stays editable by it)."""
        with_view = view or MISSING
        new_id: int | None = None
        if self._token_alive(job):
            try:
                sent = await self._webhook(job).send(
                    embed=embed,
                    view=with_view,
                    allowed_mentions=NO_MENTIONS,
                    wait=True,
                    file=file() if file else MISSING,
                )
                new_id = sent.id
            except discord.HTTPException as exc:
                if not self._token_refused(job, exc):
                    raise
        if new_id is None:
            channel = self._client.get_partial_messageable(job.channel_id)
            message = await channel.send(
                embed=embed, view=with_view, allowed_mentions=NO_MENTIONS, file=file() if file else MISSING
            )
            new_id = message.id
            self._channel_only.add(new_id)
        self._message_ids[job.id] = new_id
        await self._engine.attach_message(job.id, new_id)


def file_maker(path: Path, name: str) -> FileMaker:
    """A fresh ``discord.File`` of ``path`` per attempt (sending one consumes it)."""
    return lambda: discord.File(str(path), filename=name)
