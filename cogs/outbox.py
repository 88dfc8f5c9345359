"""A job's result, posted exactly once: claimed in the outbox, sent with a nonce, marked after.

The result is its own message, apart from the job's card: whatever happened to the card (an edit
Discord refused, a deleted message), the result still goes out. It is a channel message sent with
Discord's ``nonce`` + ``enforce_nonce`` — the only route that takes them (Create Message; Execute
Webhook, which interaction followups use, has no nonce) — as a reply to the card, so it still
points at the command that asked for it. The nonce is the outbox row's, the same on every attempt:

* an attempt Discord answered with an error (4xx) posted nothing: the claim is released and retried
  a few times (``retry_delays``), then at the next start;
* an attempt whose answer never came (a timeout, a 5xx, the process killed) may have posted: it is
  sent again with the same nonce, and Discord answers with the message it already made; after
  ``bot.engine.outbox.NONCE_TRUSTED`` the nonce may have aged out, so the channel is first searched
  for the result (the bot's message carrying this job's Details button).

Only when the bot may not post in the channel (403) and the interaction token still lives does the
result go as a followup instead, without a nonce: a member is answered rather than not at all.

What the result says: it mentions the requester and nobody else, carries the video as
``video-<job id>.mp4`` when it fits the upload limit the interaction reported — re-encoded to fit
when it is larger (``bot.landing``) — and the provider's link only when even that fails, with a word
that it may expire (a link too long for the message goes in an embed as "Open the video"), and the
Again / Remix / Details buttons. A video the vendor left in parts is joined and uploaded the same
way; when it cannot be (a part unreachable, the join failed, too large), the result lists every
part's link in order, "Shot 1" … "Shot N" (in an embed when they are too long for the message).

A server that wants fewer messages (``/settings delivery``) has the card become the result: the
card is edited to carry the video and the buttons, and the ping goes as a short reply to it, with the
row's nonce (an edit never pings). A card that is gone falls back to a result message of its own.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import aiohttp
import discord
from discord.utils import MISSING

from bot import videos
from bot.engine import member_jobs
from bot.engine.engine import Engine
from bot.engine.events import JobEvent
from bot.engine.views import JobView
from bot.i18n import t
from bot.landing import Lander
from bot.net import Fetcher
from bot.transcode import Transcoder
from cogs import buttons, render
from cogs.inert import CONTENT, EMBED_DESCRIPTION, clip, inert, link_target
from storage.outbox import Claim
from storage.states import JobState

log = logging.getLogger(__name__)
ENTITY_TOO_LARGE = 40005
EXCERPT = 150
RETRY_DELAYS = (2.0, 10.0, 30.0)  # after the first attempt, within one run of the bot
LOOKUP_LIMIT = 200  # messages searched for an interrupted result
LOOKUP_SLACK = 10.0  # seconds before the interrupted attempt the search starts (clock skew)


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


@dataclass(frozen=True)
class ResultBody:
    content: str
    video: Path | None = None  # uploaded as video-<job id>.mp4 when set (at most the upload limit)
    refused: bool = False  # the video's link is one the bot will not fetch, so it is not shown either
    link: str | None = None  # a link too long for the content: shown in an embed instead
    poster: Path | None = None  # a frame of the video (JPEG), for the card
    listing: str | None = None  # lines too long for the content (a video's parts): shown in an embed


# Edits the job's card into the result (content, the video or None, the buttons); False: the card is gone.
CardEdit = Callable[[str, Path | None, discord.ui.View], Awaitable[bool]]


class Results:
    """Builds and posts results. ``token_alive`` says whether the job's interaction token may be used."""

    def __init__(
        self,
        client: discord.Client,
        engine: Engine,
        *,
        fetcher: Fetcher,
        default_upload_limit: int,
        token_alive: Callable[[JobView], bool],
        retry_delays: Sequence[float] = RETRY_DELAYS,
        transcoder: Transcoder | None = None,
    ) -> None:
        self._client = client
        self._engine = engine
        self.lander = Lander(engine.db, fetcher, transcoder or Transcoder())
        self.default_upload_limit = default_upload_limit
        self._token_alive = token_alive
        self.retry_delays = tuple(retry_delays)

    async def pending(self, job: JobView) -> bool:
        """True while the job's result is not yet out (read afresh: an event may predate the mark)."""
        if job.active or job.delivered_at is not None:
            return False
        fresh = await self._engine.job(job.id)
        return fresh is not None and fresh.delivered_at is None

    # ---- posting --------------------------------------------------------------------------------

    async def deliver(
        self, job: JobView, body: ResultBody, reply_to: int | None, card: CardEdit | None = None
    ) -> bool:
        """Post the result once, retrying a few times; False (logged) when it is left for the next start.

        With ``card`` (and the card's id as ``reply_to``) the card becomes the result and a short reply
        pings the requester."""
        for delay in (0.0, *self.retry_delays):
            if delay:
                await asyncio.sleep(delay)
            try:
                await self._attempt(job, body, reply_to, card)
                return True
            except (discord.HTTPException, aiohttp.ClientError, TimeoutError, OSError) as exc:
                log.warning("job %s: the result did not go out (%s); trying again", job.id, exc)
        log.error("job %s: the result did not go out; it is tried again at the next start", job.id)
        return False

    async def _attempt(
        self, job: JobView, body: ResultBody, reply_to: int | None, card: CardEdit | None
    ) -> None:
        outbox = self._engine.outbox
        claim = await outbox.claim(job.id)
        if claim.sent:
            return
        in_card = card is not None and reply_to is not None
        if outbox.lookup_first(claim):
            found = await self._find_posted(job, claim, reply_to if in_card else None)
            if found is not None:
                log.info("job %s: its result was posted before the bot stopped (%s)", job.id, found)
                await outbox.sent(job.id, reply_to if in_card and reply_to else found)
                return
        try:
            if card is not None and reply_to is not None and await self._into_card(job, body, card):
                ping = ResultBody(t("result.ping", job.locale, user_id=job.user_id, id=job.id))
                await self._send(job, ping, None, claim.nonce, reply_to)
                message_id = reply_to  # the card is the result
            else:
                message_id = await self._post(job, body, claim.nonce, reply_to)
        except discord.HTTPException as exc:
            if 400 <= exc.status < 500:  # Discord refused it: nothing was posted
                await outbox.refused(job.id, f"{exc.status} {exc.code} {exc.text}")
            raise
        await outbox.sent(job.id, message_id)

    def view(self, job: JobView, *, remix: bool = True) -> discord.ui.View:
        """The result's buttons (Again, Remix when it can be remixed, Details)."""
        return buttons.result_view(job, remix=remix and member_jobs.can_remix(self._engine, job))

    async def _into_card(self, job: JobView, body: ResultBody, card: CardEdit) -> bool:
        """Turn the card into the result; False when the card is gone (a message of its own then)."""
        try:
            return await card(clip(body.content, CONTENT), body.video, self.view(job))
        except discord.HTTPException as exc:
            if body.video is None or (exc.status != 413 and exc.code != ENTITY_TOO_LARGE):
                raise
        log.info("job %s: the upload was refused as too large; linking it on the card", job.id)
        linked = self._linked(job, _size(body.video), self._limit(job))
        return await card(clip(linked.content, CONTENT), None, self.view(job, remix=False))

    async def _post(self, job: JobView, body: ResultBody, nonce: str, reply_to: int | None) -> int:
        try:
            return await self._send(job, body, self.view(job), nonce, reply_to)
        except discord.HTTPException as exc:
            if body.video is None or (exc.status != 413 and exc.code != ENTITY_TOO_LARGE):
                raise
        log.info("job %s: the upload was refused as too large; linking instead", job.id)
        linked = self._linked(job, _size(body.video), self._limit(job))
        return await self._send(job, linked, self.view(job, remix=False), nonce, reply_to)

    async def _send(
        self, job: JobView, body: ResultBody, view: discord.ui.View | None, nonce: str, reply_to: int | None
    ) -> int:
        mention = discord.AllowedMentions(
            everyone=False, roles=False, users=[discord.Object(job.user_id)], replied_user=False
        )
        content = clip(body.content, CONTENT)
        embed = self._link_embed(job, body.link) if body.link else MISSING
        if body.listing:
            embed = discord.Embed(description=body.listing)

        def file() -> discord.File:  # a fresh one per attempt: sending consumes it
            video = body.video
            return discord.File(str(video), filename=f"video-{job.id}.mp4") if video else MISSING

        buttons_ = view or MISSING

        channel = self._client.get_partial_messageable(job.channel_id, guild_id=job.guild_id)
        reply: dict[str, Any] = {}  # a reply to the card, sent as no reply if the card is gone
        if reply_to:
            reply["reference"] = discord.MessageReference(
                message_id=reply_to, channel_id=job.channel_id, fail_if_not_exists=False
            )
        try:
            message = await channel.send(
                content,
                embed=embed,
                view=buttons_,
                allowed_mentions=mention,
                file=file(),
                nonce=nonce,
                **reply,
            )
            return message.id
        except discord.Forbidden:
            if not self._token_alive(job):
                raise
            log.info("job %s: may not post in the channel; answering through the interaction", job.id)
        assert job.application_id is not None and job.interaction_token is not None
        hook = discord.Webhook.partial(job.application_id, job.interaction_token, client=self._client)
        sent = await hook.send(
            content, embed=embed, view=buttons_, allowed_mentions=mention, wait=True, file=file()
        )
        return sent.id

    def _link_embed(self, job: JobView, url: str) -> discord.Embed:
        target = link_target(url)
        text = t("job.open_video", job.locale, url=target) if target else ""
        if not text or len(text) > EMBED_DESCRIPTION:
            text = t("result.link_too_long", job.locale)
        return discord.Embed(description=text)

    async def _find_posted(self, job: JobView, claim: Claim, card: int | None = None) -> int | None:
        """The result an interrupted attempt posted, searched for after the nonce may have aged out
        (with ``card``, the card became the result: the ping is the bot's reply to it)."""
        assert claim.interrupted_at is not None
        since = datetime.datetime.fromtimestamp(claim.interrupted_at - LOOKUP_SLACK, datetime.UTC)
        after = discord.Object(discord.utils.time_snowflake(since))
        me = self._client.user.id if self._client.user else None
        want = buttons.custom_id("details", job.id)
        channel = self._client.get_partial_messageable(job.channel_id, guild_id=job.guild_id)
        try:
            async for message in channel.history(limit=LOOKUP_LIMIT, after=after, oldest_first=True):
                replied = message.reference.message_id if message.reference else None
                if message.author.id == me and (
                    message.nonce == claim.nonce or (replied == card if card else _carries(message, want))
                ):
                    return message.id
        except discord.HTTPException as exc:
            log.info("job %s: could not search the channel for its result (%s)", job.id, exc)
        return None

    # ---- what the result says -------------------------------------------------------------------

    def _limit(self, job: JobView) -> int:
        return job.upload_limit or self.default_upload_limit

    async def body(self, job: JobView) -> ResultBody:
        """What the final message says, and the video when it can be uploaded (fitted if need be)."""
        loc = job.locale
        if job.state is not JobState.SUCCEEDED:
            status = render.status_line(JobEvent(job))
            return ResultBody(t("result.ended", loc, user_id=job.user_id, id=job.id, status=status))
        limit = self._limit(job)
        got = await self.lander.land(
            job.id, video_path=job.video_path, video_url=job.video_url, limit=limit, parts=job.video_parts
        )
        if got.refused:
            return ResultBody(t("result.link_refused", loc, user_id=job.user_id, id=job.id), refused=True)
        if got.upload is not None:
            text = self._ready(job)
            if got.fitted is not None and got.size is not None:
                text += "\n-# " + t("result.fitted", loc, size=_mb(got.size), fitted=_mb(got.fitted.size))
            return ResultBody(text, got.upload, poster=got.poster)
        if got.saved:
            sizes = t("result.sizes", loc, size=_mb(got.size), limit=_mb(limit)) if got.size else ""
            return ResultBody(
                f"{self._ready(job)}\n-# " + t("result.saved_too_large", loc, sizes=sizes, id=job.id),
                poster=got.poster,
            )
        if job.video_parts and not job.video_url:  # left in parts the bot could not join: each one
            return replace(self._shots(job, got.size, limit), poster=got.poster)
        if not job.video_url:
            return ResultBody(f"{self._ready(job)}\n-# " + t("result.no_link", loc))
        if got.unreachable:
            return self._linked(job, None, None)
        return replace(self._linked(job, got.size, limit), poster=got.poster)

    async def poster(self, job: JobView) -> Path | None:
        """The poster frame kept for the job (``videos/<job id>.jpg``), if there is one."""
        path = videos.poster_path(await videos.folder(self._engine.db), job.id)
        return path if await asyncio.to_thread(path.is_file) else None

    def _ready(self, job: JobView) -> str:
        prompt = inert(" ".join(job.text.split()), EXCERPT)  # the message is public: shown as typed
        quoted = t("result.quoted", job.locale, prompt=prompt) if prompt else ""
        return t(
            "result.ready", job.locale, user_id=job.user_id, id=job.id, model=job.model_label, quoted=quoted
        )

    def _why(self, job: JobView, size: int | None, limit: int | None) -> str:
        """Why the video is linked, not uploaded: its size against the channel's limit (or nothing)."""
        if limit is None:
            return ""
        size_part = t("result.size_part", job.locale, size=_mb(size)) if size else ""
        return t("result.too_large", job.locale, size=size_part, limit=_mb(limit))

    def _shots(self, job: JobView, size: int | None, limit: int) -> ResultBody:
        """The result of a video left in parts the bot could not join: every part's link, in order,
        numbered — in the text when they fit, else in an embed (as masked links, which are shorter)."""
        loc = job.locale
        why = self._why(job, size, limit if size is not None and size > limit else None)
        note = "\n-# " + t("result.shots", loc, count=len(job.video_parts), why=why)
        lines = [t("result.shot", loc, n=n, url=inert(url)) for n, url in enumerate(job.video_parts, 1)]
        content = f"{self._ready(job)}\n" + "\n".join(lines) + note
        if len(content) <= CONTENT:
            return ResultBody(content)
        listing = ""
        for n, url in enumerate(job.video_parts, 1):
            target = link_target(url)
            line = (
                t("result.shot_link", loc, n=n, url=target) if target else t("result.shot", loc, n=n, url="")
            )
            if len(listing) + len(line) + 1 > EMBED_DESCRIPTION:
                break  # whole links only: one cut in half would show as broken markdown
            listing += ("\n" if listing else "") + line
        return ResultBody(f"{self._ready(job)}{note}", listing=listing)

    def _linked(self, job: JobView, size: int | None, limit: int | None) -> ResultBody:
        """The result with the provider's link: in the text when it fits whole, else in an embed."""
        loc = job.locale
        why = self._why(job, size, limit)
        note = "\n-# " + t("result.link_may_expire", loc, why=why)
        url = inert(job.video_url or "")
        content = f"{self._ready(job)}\n{url}{note}"
        if len(content) <= CONTENT:
            return ResultBody(content)
        return ResultBody(f"{self._ready(job)}{note}", link=job.video_url)


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None


def _carries(message: discord.Message, custom_id: str) -> bool:
    for row in message.components:
        for child in getattr(row, "children", ()):
            if getattr(child, "custom_id", None) == custom_id:
                return True
    return False
