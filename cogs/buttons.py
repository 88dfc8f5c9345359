"""The buttons under a job: Again, Remix, Details on the result; Cancel on a queued job's message.

They are ``DynamicItem``s whose custom_id carries the action and the job id
(``soracord:job:details:42``), registered once with ``bot.add_dynamic_items``: a button on a
message posted before a restart works after it, because nothing about it lives in memory. Every
press checks that the member owns the job or manages the server, then asks the engine.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

import discord

from bot.engine import jobs_view
from bot.engine.engine import Engine, Quote
from bot.providers.base import MAX_PROMPT_CHARS, GenerationRequest
from cogs import render
from cogs.checks import origin_from
from cogs.errors import friendly
from storage.jobs import JobRow

log = logging.getLogger(__name__)
NONE = discord.AllowedMentions.none()
TEMPLATE = r"soracord:job:(?P<action>again|remix|details|cancel):(?P<job_id>[0-9]+)"
LOOKS: dict[str, tuple[str, str, discord.ButtonStyle]] = {
    "again": ("Again", "🔁", discord.ButtonStyle.secondary),
    "remix": ("Remix", "🎛️", discord.ButtonStyle.secondary),
    "details": ("Details", "ℹ️", discord.ButtonStyle.secondary),
    "cancel": ("Cancel", "✖️", discord.ButtonStyle.danger),
}
CONFIRM_TIMEOUT = 120.0


def custom_id(action: str, job_id: int) -> str:
    return f"soracord:job:{action}:{job_id}"


def is_manager(interaction: discord.Interaction) -> bool:
    return bool(interaction.permissions.manage_guild)


def engine_of(interaction: discord.Interaction) -> Engine:
    engine = getattr(interaction.client, "engine", None)
    if not isinstance(engine, Engine):
        raise RuntimeError("the client has no engine")
    return engine


async def report(interaction: discord.Interaction, error: BaseException) -> None:
    """The buttons' error path, like ``cogs.errors.on_tree_error``: friendly, ephemeral, logged."""
    message, ref = friendly(error)
    if ref is not None:
        log.error("button/modal failed (ref %s, interaction %s)", ref, interaction.id, exc_info=error)
    try:
        if interaction.response.is_done():
            if interaction.response.type is discord.InteractionResponseType.deferred_channel_message:
                await interaction.edit_original_response(content=message, embed=None, allowed_mentions=NONE)
            else:
                await interaction.followup.send(message, ephemeral=True, allowed_mentions=NONE)
        else:
            await interaction.response.send_message(message, ephemeral=True, allowed_mentions=NONE)
    except discord.HTTPException:
        log.warning("could not tell interaction %s about its error (ref %s)", interaction.id, ref)


# ---- views delivery attaches ---------------------------------------------------------------------


def progress_view(job: JobRow) -> discord.ui.View | None:
    """Cancel while the job waits in the queue; nothing once it has started."""
    if job.state != "queued":
        return None
    view = discord.ui.View(timeout=None)
    view.add_item(JobButton("cancel", job.id))
    return view


def result_view(job: JobRow, *, remix: bool) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(JobButton("again", job.id))
    if remix:
        view.add_item(JobButton("remix", job.id))
    view.add_item(JobButton("details", job.id))
    return view


# ---- the button ----------------------------------------------------------------------------------


class JobButton(discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]], template=TEMPLATE):
    """One action on one job; rebuilt from its custom_id on every press."""

    def __init__(self, action: str, job_id: int) -> None:
        label, emoji, style = LOOKS[action]
        super().__init__(
            discord.ui.Button(label=label, emoji=emoji, style=style, custom_id=custom_id(action, job_id))
        )
        self.action = action
        self.job_id = job_id
        self.job: JobRow | None = None

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction,
        item: discord.ui.Item[Any],
        match: Any,
        /,
    ) -> JobButton:
        return cls(str(match["action"]), int(match["job_id"]))

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        job = await jobs_view.find(engine_of(interaction), interaction.guild_id or 0, self.job_id)
        if job is None:
            await interaction.response.send_message(
                f"Job #{self.job_id} is not known here any more.", ephemeral=True, allowed_mentions=NONE
            )
            return False
        if not jobs_view.may_act(job, interaction.user.id, is_manager=is_manager(interaction)):
            await interaction.response.send_message(
                f"These buttons belong to <@{job.user_id}> (job #{job.id}).",
                ephemeral=True,
                allowed_mentions=NONE,
            )
            return False
        self.job = job
        return True

    async def callback(self, interaction: discord.Interaction) -> None:
        assert self.job is not None
        try:
            if self.action == "details":
                await interaction.response.send_message(
                    embed=details_embed(self.job), ephemeral=True, allowed_mentions=NONE
                )
            elif self.action == "cancel":
                outcome = await jobs_view.cancel(engine_of(interaction), self.job)
                await interaction.response.send_message(
                    outcome.message, ephemeral=True, allowed_mentions=NONE
                )
            elif self.action == "again":
                await ask_again(interaction, self.job)
            elif self.action == "remix":
                await ask_remix(interaction, self.job)
        except Exception as exc:
            await report(interaction, exc)


# ---- Details --------------------------------------------------------------------------------------


def details_embed(job: JobRow) -> discord.Embed:
    request = job.request
    text = str(request.get("prompt") or request.get("ad_theme") or "")
    embed = discord.Embed(
        title=f"Job #{job.id} — {render.KIND_TITLES.get(job.kind, job.kind)}",
        description=text[:4000] or None,
        colour=render.COLOURS.get(job.state, discord.Colour.default()),
    )
    embed.add_field(name="State", value=f"{jobs_view.STATE_EMOJI.get(job.state, '')} {job.state}")
    embed.add_field(name="Requested by", value=f"<@{job.user_id}>")
    embed.add_field(name="Profile", value=job.profile)
    embed.add_field(name="Model", value=job.model)
    embed.add_field(name="Duration", value=f"{job.duration} s")
    embed.add_field(name="Orientation", value=str(request.get("orientation", "—")))
    embed.add_field(name="Cost", value=render.cost_line(job))
    embed.add_field(name="Remote id", value=f"`{job.remote_id}`" if job.remote_id else "—")
    times = "\n".join(
        f"{label}: <t:{int(at)}:f>" if at is not None else f"{label}: —"
        for label, at in jobs_view.timings(job)
    )
    spans = " · ".join(f"{label} {render.elapsed(s)}" for label, s in jobs_view.durations(job))
    embed.add_field(name="Timings", value=times + (f"\n{spans}" if spans else ""), inline=False)
    if job.error_message and job.state != "succeeded":
        embed.add_field(name="Why it ended", value=job.error_message[:1000], inline=False)
    return embed


# ---- Again ----------------------------------------------------------------------------------------


async def ask_again(interaction: discord.Interaction, job: JobRow) -> None:
    """Show what making the job again costs; the member confirms on an ephemeral message."""
    assert interaction.guild_id is not None
    engine = engine_of(interaction)
    request = jobs_view.request_of(job)
    quote = await engine.quote(request, interaction.guild_id, job.profile)
    await engine.precheck(interaction.guild_id, interaction.user.id, quote)
    balance = await engine.balance(interaction.guild_id, interaction.user.id)
    view = ConfirmAgain(engine, job, request, quote, interaction)
    await interaction.response.send_message(
        f"Make job #{job.id} again with the same settings ({quote.model}, {job.duration} s, "
        f"{job.request.get('orientation', '')})? It costs **{quote.cost} credits** "
        f"(your balance: {balance}).",
        view=view,
        ephemeral=True,
        allowed_mentions=NONE,
    )


class ConfirmAgain(discord.ui.View):
    def __init__(
        self,
        engine: Engine,
        job: JobRow,
        request: GenerationRequest,
        quote: Quote,
        asked: discord.Interaction,
    ) -> None:
        super().__init__(timeout=CONFIRM_TIMEOUT)
        self.engine, self.job, self.request, self.quote, self.asked = engine, job, request, quote, asked

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        return interaction.user.id == self.asked.user.id

    async def on_timeout(self) -> None:
        with contextlib.suppress(discord.HTTPException):
            await self.asked.edit_original_response(content="Not made again (no answer).", view=None)

    @discord.ui.button(label="Confirm", style=discord.ButtonStyle.success)
    async def confirm(self, interaction: discord.Interaction, _button: discord.ui.Button[Any]) -> None:
        self.stop()
        try:
            assert interaction.guild_id is not None
            await self.engine.precheck(interaction.guild_id, interaction.user.id, self.quote)
            callback = await interaction.response.defer(thinking=True)
            new = await self.engine.enqueue(
                origin_from(interaction, callback), self.request, self.quote.profile
            )
        except Exception as exc:
            await report(interaction, exc)
            return
        try:
            await self.asked.edit_original_response(
                content=f"Queued as job #{new.id} ({self.quote.cost} credits held).", view=None
            )
        except discord.HTTPException:
            log.info("job %s: could not update the Again confirmation", new.id)

    @discord.ui.button(label="Cancel", style=discord.ButtonStyle.secondary)
    async def cancel(self, interaction: discord.Interaction, _button: discord.ui.Button[Any]) -> None:
        self.stop()
        await interaction.response.edit_message(content="Not made again; nothing was charged.", view=None)


# ---- Remix ----------------------------------------------------------------------------------------


async def ask_remix(interaction: discord.Interaction, job: JobRow) -> None:
    engine = engine_of(interaction)
    if not jobs_view.can_remix(engine, job):
        reason = (
            "Only a finished video can be remixed."
            if job.state != "succeeded"
            else f"The provider that made this video ({job.profile}) cannot remix videos."
        )
        await interaction.response.send_message(reason, ephemeral=True, allowed_mentions=NONE)
        return
    await interaction.response.send_modal(RemixModal(engine, job))


class RemixModal(discord.ui.Modal):
    def __init__(self, engine: Engine, job: JobRow) -> None:
        super().__init__(title=f"Remix job #{job.id}", timeout=600)
        self.engine, self.job = engine, job
        self.prompt: discord.ui.TextInput[RemixModal] = discord.ui.TextInput(
            label="What should change?",
            style=discord.TextStyle.paragraph,
            custom_id="prompt",
            max_length=MAX_PROMPT_CHARS,
            placeholder="e.g. make it night time, with neon reflections",
        )
        self.add_item(self.prompt)

    async def on_submit(self, interaction: discord.Interaction, /) -> None:
        assert interaction.guild_id is not None
        request = jobs_view.remix_request(self.job, self.prompt.value)
        quote = await self.engine.quote(request, interaction.guild_id, self.job.profile)
        await self.engine.precheck(interaction.guild_id, interaction.user.id, quote)
        callback = await interaction.response.defer(thinking=True)
        await self.engine.enqueue(origin_from(interaction, callback), request, quote.profile)

    async def on_error(self, interaction: discord.Interaction, error: Exception, /) -> None:  # type: ignore[override]
        await report(interaction, error)
