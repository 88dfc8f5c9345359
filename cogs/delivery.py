"""Shows every job in Discord: one message per job, edited as the job moves, then the result.

The engine emits events; this listener keeps the newest one per job and edits the job's message
at most once every ``edit_interval`` seconds (terminal events go out at once). While the
interaction token lives the edit goes through it; afterwards (or when Discord refuses the token)
through the bot token on the channel message; if that message is gone, a new one is posted and
remembered.

The result is its own message: it mentions the requester and nobody else, carries the video as
``video-<job id>.mp4`` when it fits the upload limit the interaction reported (the provider's
link otherwise, with a word that it may expire), and the Again / Remix / Details buttons. A link the
bot will not fetch (``bot.net``: a private address, say) is neither downloaded nor shown: the member
is told the video cannot be delivered, and the link is dropped from the job so no message shows it.
Everything else is sent with no mentions allowed at all. Progress and result are in the job's
locale (the requester's).
"""

from __future__ import annotations

import asyncio
import io
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import discord
from discord.utils import MISSING

from bot import metrics, videos
from bot.engine import member_jobs
from bot.engine.engine import Engine
from bot.engine.events import JobEvent
from bot.engine.views import JobView
from bot.i18n import t
from bot.net import Fetcher, FetchFailed, LinkRefused
from cogs import buttons, render
from cogs.inert import CONTENT, clip, inert
from storage.states import JobState

log = logging.getLogger(__name__)
TOKEN_MARGIN = 30.0  # stop using an interaction token this long before it expires
UNKNOWN_MESSAGE = 10008
UNKNOWN_WEBHOOK = 10015
ENTITY_TOO_LARGE = 40005
INVALID_WEBHOOK_TOKEN = 50027
TOKEN_REFUSED = (INVALID_WEBHOOK_TOKEN, UNKNOWN_WEBHOOK)
EXCERPT = 150
NO_MENTIONS = discord.AllowedMentions.none()


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


@dataclass(frozen=True)
class ResultBody:
    content: str
    video: bytes | None = None  # uploaded as video-<job id>.mp4 when set
    refused: bool = False  # the video's link is one the bot will not fetch, so it is not shown either


class Delivery:
    """The engine's observer that keeps Discord up to date.

    ``clock`` is the wall clock the interaction-token deadline is compared with; tests replace it
    to let a token expire without waiting 15 minutes. ``fetcher`` downloads vendors' video links.
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
    ) -> None:
        self._client = client
        self._engine = engine
        self._interval = edit_interval
        self.clock = clock
        self.default_upload_limit = default_upload_limit
        self._latest: dict[int, JobEvent] = {}
        self._workers: dict[int, asyncio.Task[None]] = {}
        self._last_edit: dict[int, float] = {}
        self._message_ids: dict[int, int] = {}  # job -> its message, when it changed after the event
        self._dead_tokens: set[int] = set()  # jobs whose interaction token Discord refused
        self._channel_only: set[int] = set()  # messages the interaction token cannot edit
        self._fetcher = fetcher

    async def on_job_event(self, event: JobEvent) -> None:
        job_id = event.job.id
        self._latest[job_id] = event
        if job_id not in self._workers:
            task = asyncio.create_task(self._flush(job_id), name=f"deliver-{job_id}")
            self._workers[job_id] = task
            task.add_done_callback(lambda _t: self._workers.pop(job_id, None))

    async def wait_idle(self) -> None:
        while self._workers:
            await asyncio.gather(*list(self._workers.values()), return_exceptions=True)

    async def close(self) -> None:
        for task in list(self._workers.values()):
            task.cancel()
        await asyncio.gather(*list(self._workers.values()), return_exceptions=True)

    async def _flush(self, job_id: int) -> None:
        """Show the newest event for ``job_id``, waiting out the edit interval; coalesces the rest."""
        while job_id in self._latest:
            event = self._latest[job_id]
            wait = self._last_edit.get(job_id, 0.0) + self._interval - time.monotonic()
            if wait > 0 and not event.terminal:
                await asyncio.sleep(wait)
                continue
            del self._latest[job_id]
            try:
                await self._show(event)
                metrics.discord_edit("ok")
            except Exception:
                metrics.discord_edit("failed")
                log.exception("job %s: could not update its message", job_id)
            self._last_edit[job_id] = time.monotonic()
            if event.terminal:
                self._forget(job_id)

    def _forget(self, job_id: int) -> None:
        self._last_edit.pop(job_id, None)
        self._dead_tokens.discard(job_id)
        message_id = self._message_ids.pop(job_id, None)
        if message_id is not None:
            self._channel_only.discard(message_id)

    async def _show(self, event: JobEvent) -> None:
        job = event.job
        body = None
        if event.terminal and job.delivered_at is None:
            body = await self.result_body(job)  # first: a refused link must not reach the job's embed
            if body.refused:
                await self._engine.forget_video_url(job.id)
                job = replace(job, video_url=None)
                event = replace(event, job=job)
        embed = render.job_embed(event, now=self.clock())
        await self._edit_or_repost(job, embed, buttons.progress_view(job))
        if body is not None:
            await self._post_result(job, body)
            await self._engine.mark_delivered(job.id)

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

    async def _edit_or_repost(self, job: JobView, embed: discord.Embed, view: discord.ui.View | None) -> None:
        message_id = self._message_ids.get(job.id, job.message_id)
        if message_id is not None:
            if message_id not in self._channel_only and self._token_alive(job):
                try:
                    await self._webhook(job).edit_message(
                        message_id, embed=embed, view=view, allowed_mentions=NO_MENTIONS
                    )
                    return
                except discord.HTTPException as exc:
                    if exc.code == UNKNOWN_MESSAGE:  # deleted, or not this interaction's message
                        self._channel_only.add(message_id)
                    elif not self._token_refused(job, exc):
                        raise
            channel = self._client.get_partial_messageable(job.channel_id)
            try:
                await channel.get_partial_message(message_id).edit(
                    embed=embed, view=view, allowed_mentions=NO_MENTIONS
                )
                return
            except discord.NotFound:
                log.info("job %s: its message is gone; posting a new one", job.id)
        await self._repost(job, embed, view)

    async def _repost(self, job: JobView, embed: discord.Embed, view: discord.ui.View | None) -> None:
        """Post the job's message anew (a followup while the token lives, so it stays editable by it)."""
        with_view = view or MISSING
        new_id: int | None = None
        if self._token_alive(job):
            try:
                sent = await self._webhook(job).send(
                    embed=embed, view=with_view, allowed_mentions=NO_MENTIONS, wait=True
                )
                new_id = sent.id
            except discord.HTTPException as exc:
                if not self._token_refused(job, exc):
                    raise
        if new_id is None:
            channel = self._client.get_partial_messageable(job.channel_id)
            message = await channel.send(embed=embed, view=with_view, allowed_mentions=NO_MENTIONS)
            new_id = message.id
            self._channel_only.add(new_id)
        self._message_ids[job.id] = new_id
        await self._engine.attach_message(job.id, new_id)

    # ---- the result -----------------------------------------------------------------------------

    async def _post_result(self, job: JobView, body: ResultBody) -> None:
        view = buttons.result_view(job, remix=member_jobs.can_remix(self._engine, job))
        try:
            await self._send_result(job, body.content, body.video, view)
            if body.video is not None and job.video_path:
                await videos.discard(job.video_path)  # uploaded: the local copy has done its job
        except discord.HTTPException as exc:
            if body.video is None or (exc.status != 413 and exc.code != ENTITY_TOO_LARGE):
                raise
            log.info("job %s: the upload was refused as too large; linking instead", job.id)
            size, limit = len(body.video), self._limit(job)
            await self._send_result(
                job, self._linked(job, size, limit), None, buttons.result_view(job, remix=False)
            )

    async def _send_result(
        self, job: JobView, content: str, video: bytes | None, view: discord.ui.View
    ) -> None:
        mention = discord.AllowedMentions(
            everyone=False, roles=False, users=[discord.Object(job.user_id)], replied_user=False
        )

        content = clip(content, CONTENT)

        def file() -> discord.File:  # a fresh one per attempt: sending consumes it
            return discord.File(io.BytesIO(video), filename=f"video-{job.id}.mp4") if video else MISSING

        if self._token_alive(job):
            try:
                await self._webhook(job).send(
                    content, view=view, allowed_mentions=mention, wait=True, file=file()
                )
                return
            except discord.HTTPException as exc:
                if not self._token_refused(job, exc):
                    raise
        channel = self._client.get_partial_messageable(job.channel_id)
        await channel.send(content, view=view, allowed_mentions=mention, file=file())

    def _limit(self, job: JobView) -> int:
        return job.upload_limit or self.default_upload_limit

    async def result_body(self, job: JobView) -> ResultBody:
        """What the final message says, and the video when it can be uploaded."""
        loc = job.locale
        if job.state is not JobState.SUCCEEDED:
            return ResultBody(
                t(
                    "result.ended",
                    loc,
                    user_id=job.user_id,
                    id=job.id,
                    status=render.status_line(JobEvent(job)),
                )
            )
        limit = self._limit(job)
        if job.video_path:
            data = await videos.read_saved(job.video_path, limit)
            if data is not None:
                return ResultBody(self._ready(job), data)
            size = videos.saved_size(job.video_path)
            sizes = t("result.sizes", loc, size=_mb(size), limit=_mb(limit)) if size else ""
            return ResultBody(
                f"{self._ready(job)}\n-# " + t("result.saved_too_large", loc, sizes=sizes, id=job.id)
            )
        if not job.video_url:
            return ResultBody(f"{self._ready(job)}\n-# " + t("result.no_link", loc))
        try:
            data = await videos.fetch(self._fetcher, job.video_url, limit)
        except videos.TooLarge as exc:
            return ResultBody(self._linked(job, exc.size, limit))
        except LinkRefused as exc:
            log.warning("job %s: the provider's video link is refused (%s); not shown", job.id, exc.reason)
            return ResultBody(t("result.link_refused", loc, user_id=job.user_id, id=job.id), refused=True)
        except (FetchFailed, ValueError) as exc:
            log.info("job %s: could not download the video (%s); linking it", job.id, exc)
            return ResultBody(self._linked(job, None, None))
        return ResultBody(self._ready(job), data)

    def _ready(self, job: JobView) -> str:
        prompt = inert(" ".join(job.text.split()), EXCERPT)  # the message is public: shown as typed
        quoted = t("result.quoted", job.locale, prompt=prompt) if prompt else ""
        return t(
            "result.ready", job.locale, user_id=job.user_id, id=job.id, model=job.model_label, quoted=quoted
        )

    def _linked(self, job: JobView, size: int | None, limit: int | None) -> str:
        loc = job.locale
        why = ""
        if limit is not None:
            size_part = t("result.size_part", loc, size=_mb(size)) if size else ""
            why = t("result.too_large", loc, size=size_part, limit=_mb(limit))
        return f"{self._ready(job)}\n{inert(job.video_url or '')}\n-# " + t(
            "result.link_may_expire", loc, why=why
        )
