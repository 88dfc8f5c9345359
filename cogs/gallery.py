"""The gallery: every finished video posted again in the server's gallery channel (``/settings gallery``).

A gallery post shows the video (the same upload as the result, fitted if it had to be), what was
asked for, the model, whose it is — named, never pinged — and a link back to the original. In a
forum channel each video is a thread, tagged with the model; the tag is made when the forum lacks it
and may take one more (Discord allows 20; a tag name is at most 20 characters), and a forum the bot
may not edit gets its threads untagged rather than none at all.

Exactly once, like the result (``bot.engine.posts``): a text channel's post carries the row's nonce;
a forum thread cannot (Create Thread takes no nonce), so an attempt that went out unanswered is looked
up among the forum's active threads first, by the job id its title ends with. A channel that is gone
or closed to the bot drops the post (logged): retrying it for ever would help nobody.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
from collections.abc import Sequence

import aiohttp
import discord
from discord.utils import MISSING

from bot.engine.engine import Engine
from bot.engine.views import JobView
from bot.i18n import t
from cogs.inert import EMBED_DESCRIPTION, FIELD_VALUE, inert, link_target
from cogs.outbox import ENTITY_TOO_LARGE, LOOKUP_LIMIT, LOOKUP_SLACK, RETRY_DELAYS, ResultBody
from storage.posts import PostClaim

log = logging.getLogger(__name__)
NONE = discord.AllowedMentions.none()
THREAD_NAME = 100  # Discord's limit for a thread's name
TAG_NAME = 20  # Discord's documented limit for a forum tag's name (the spec says 50)
TAGS_MAX = 20  # tags a forum may have
GONE = (403, 404)  # the channel is gone, or the bot may not see or post in it


def jump_url(guild_id: int, channel_id: int, message_id: int) -> str:
    return f"https://discord.com/channels/{guild_id}/{channel_id}/{message_id}"


def thread_name(job: JobView) -> str:
    """The prompt on one line, then the job id (which finds the thread again after a crash)."""
    tail = f" (#{job.id})"
    words = " ".join(job.text.split()) or job.model_label
    room = THREAD_NAME - len(tail)
    return (words if len(words) <= room else words[: room - 1].rstrip() + "…") + tail


def _tag_for(forum: discord.ForumChannel, label: str) -> discord.ForumTag | None:
    wanted = label[:TAG_NAME].casefold()
    return next((tag for tag in forum.available_tags if tag.name.casefold() == wanted), None)


class Gallery:
    def __init__(
        self, client: discord.Client, engine: Engine, *, retry_delays: Sequence[float] = RETRY_DELAYS
    ) -> None:
        self._client = client
        self._engine = engine
        self.retry_delays = tuple(retry_delays)

    async def post(self, job: JobView, body: ResultBody) -> bool:
        """Post the job's planned gallery copy once, retrying a few times; False when left for later."""
        for delay in (0.0, *self.retry_delays):
            if delay:
                await asyncio.sleep(delay)
            try:
                await self._attempt(job, body)
                return True
            except (discord.HTTPException, aiohttp.ClientError, TimeoutError, OSError) as exc:
                log.warning("job %s: the gallery post did not go out (%s); trying again", job.id, exc)
        log.error("job %s: the gallery post did not go out; it is tried again at the next start", job.id)
        return False

    async def _attempt(self, job: JobView, body: ResultBody) -> None:
        posts = self._engine.posts
        claim = await posts.claim_gallery(job.id)
        if claim is None or claim.sent or claim.dropped:
            return
        if body.refused:  # the video cannot be delivered anywhere: nothing to show off
            await posts.gallery_dropped(job.id, "the video's link is refused (bot.net)")
            return
        try:
            channel = await self._client.fetch_channel(claim.channel_id)
            forum = isinstance(channel, discord.ForumChannel)
            if not forum and not isinstance(channel, discord.abc.Messageable):
                await posts.gallery_dropped(job.id, f"channel {claim.channel_id} takes no messages")
                return
            if posts.lookup_first(claim, has_nonce=not forum):
                found = await self._find(job, claim, channel)
                if found is not None:
                    log.info("job %s: its gallery post was made before the bot stopped (%s)", job.id, found)
                    await posts.gallery_sent(job.id, found)
                    return
            if isinstance(channel, discord.ForumChannel):
                message_id = await self._thread(job, body, channel)
            else:
                assert isinstance(channel, discord.abc.Messageable)
                message_id = await self._message(job, body, channel, claim.nonce)
        except discord.HTTPException as exc:
            why = f"{exc.status} {exc.code} {exc.text}"
            if exc.status in GONE:
                log.warning(
                    "job %s: the gallery channel %s refused the post (%s)", job.id, claim.channel_id, why
                )
                await posts.gallery_dropped(job.id, why)
                return
            if 400 <= exc.status < 500:  # refused: nothing was posted
                await posts.gallery_refused(job.id, why)
            raise
        await posts.gallery_sent(job.id, message_id)

    # ---- what the post says ---------------------------------------------------------------------

    async def _original(self, job: JobView) -> str | None:
        message_id = await self._engine.posts.result_message(job.id) or job.message_id
        return jump_url(job.guild_id, job.channel_id, message_id) if message_id else None

    def _embed(self, job: JobView, original: str | None, body: ResultBody) -> discord.Embed:
        loc = job.locale
        prompt = inert(" ".join(job.text.split()), EMBED_DESCRIPTION - 10)
        embed = discord.Embed(title=job.model_label, description=f"“{prompt}”" if prompt else None)
        embed.add_field(name=t("gallery.member", loc), value=f"<@{job.user_id}>", inline=True)
        embed.add_field(name=t("gallery.model", loc), value=job.model_label, inline=True)
        if original:
            embed.add_field(name=t("gallery.original", loc), value=original, inline=False)
        target = link_target(job.video_url) if body.video is None and not body.refused else None
        link = t("job.open_video", loc, url=target) if target else ""
        if link and len(link) <= FIELD_VALUE:  # the vendor's link when the video is not uploaded
            embed.add_field(name=t("gallery.video", loc), value=link, inline=False)
        elif body.video is None and not body.refused and job.video_parts and not job.video_url:
            shots = _shot_links(job)  # left in parts the bot could not join: each one, in order
            if shots:
                embed.add_field(name=t("gallery.video", loc), value=shots, inline=False)
        embed.set_footer(text=t("job.footer", loc, id=job.id))
        return embed

    def _view(self, job: JobView, original: str | None) -> discord.ui.View:
        view = discord.ui.View(timeout=None)
        if original:
            view.add_item(discord.ui.Button(label=t("gallery.original", job.locale), url=original))
        return view

    def _file(self, job: JobView, body: ResultBody, upload: bool) -> discord.File:
        """The video as ``video-<job id>.mp4`` (a fresh one per attempt), or no file."""
        if upload and body.video is not None:
            return discord.File(str(body.video), filename=f"video-{job.id}.mp4")
        no_file: discord.File = MISSING
        return no_file

    async def _message(
        self, job: JobView, body: ResultBody, channel: discord.abc.Messageable, nonce: str
    ) -> int:
        original = await self._original(job)
        embed, view = self._embed(job, original, body), self._view(job, original)
        for upload in (True, False):  # a refused upload (413) is posted again without the file
            try:
                sent = await channel.send(
                    embed=embed,
                    view=view,
                    file=self._file(job, body, upload),
                    allowed_mentions=NONE,
                    nonce=nonce,
                )
                return sent.id
            except discord.HTTPException as exc:
                if not upload or body.video is None or (exc.status != 413 and exc.code != ENTITY_TOO_LARGE):
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    async def _thread(self, job: JobView, body: ResultBody, forum: discord.ForumChannel) -> int:
        original = await self._original(job)
        embed, view = self._embed(job, original, body), self._view(job, original)
        tag = await self._tag(job, forum)
        for upload in (True, False):
            try:
                made = await forum.create_thread(
                    name=thread_name(job),
                    embed=embed,
                    view=view,
                    file=self._file(job, body, upload),
                    applied_tags=[tag] if tag else [],
                    allowed_mentions=NONE,
                )
                return made.thread.id
            except discord.HTTPException as exc:
                if not upload or body.video is None or (exc.status != 413 and exc.code != ENTITY_TOO_LARGE):
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    async def _tag(self, job: JobView, forum: discord.ForumChannel) -> discord.ForumTag | None:
        """The forum's tag for the model, made if it has none and room for one; ``None`` if it cannot."""
        found = _tag_for(forum, job.model_label)
        if found is not None or len(forum.available_tags) >= TAGS_MAX:
            return found
        try:
            tags = [*forum.available_tags, discord.ForumTag(name=job.model_label[:TAG_NAME])]
            edited = await forum.edit(available_tags=tags)
        except discord.HTTPException as exc:
            log.info("job %s: could not add a tag to forum %s (%s); posting untagged", job.id, forum.id, exc)
            return None
        return _tag_for(edited, job.model_label) if isinstance(edited, discord.ForumChannel) else None

    # ---- an interrupted attempt -----------------------------------------------------------------

    async def _find(self, job: JobView, claim: PostClaim, channel: object) -> int | None:
        me = self._client.user.id if self._client.user else None
        try:
            if isinstance(channel, discord.ForumChannel):
                tail = f"(#{job.id})"
                for thread in await channel.guild.active_threads():
                    if (
                        thread.parent_id == channel.id
                        and thread.owner_id == me
                        and thread.name.endswith(tail)
                    ):
                        return thread.id
                return None
            assert isinstance(channel, discord.abc.Messageable) and claim.interrupted_at is not None
            since = datetime.datetime.fromtimestamp(claim.interrupted_at - LOOKUP_SLACK, datetime.UTC)
            after = discord.Object(discord.utils.time_snowflake(since))
            footer = t("job.footer", job.locale, id=job.id)
            async for message in channel.history(limit=LOOKUP_LIMIT, after=after, oldest_first=True):
                if message.author.id == me and (
                    message.nonce == claim.nonce or any(e.footer.text == footer for e in message.embeds)
                ):
                    return message.id
        except discord.HTTPException as exc:
            log.info("job %s: could not search the gallery for its post (%s)", job.id, exc)
        return None


def _shot_links(job: JobView) -> str:
    """The parts of a video left in parts as masked links, "Shot 1" … as many as one field holds."""
    value = ""
    for n, url in enumerate(job.video_parts, 1):
        target = link_target(url)
        line = t("result.shot_link", job.locale, n=n, url=target) if target else ""
        if not line or len(value) + len(line) + 1 > FIELD_VALUE:
            break  # whole links only, in order: a gap would misnumber the rest
        value += ("\n" if value else "") + line
    return value
