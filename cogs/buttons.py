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

from bot.engine import member_jobs
from bot.engine.admission import Quote
from bot.engine.engine import Engine
from bot.engine.views import JobView
from bot.errors import AlreadyMade
from bot.i18n import EN, resolve, t
from bot.logs import tag_interaction
from bot.providers.base import MAX_PROMPT_CHARS, AnyRequest
from cogs import render
from cogs.errors import respond_error
from cogs.inert import inert
from cogs.launch import is_manager, origin_from
from cogs.limits import fit_embed
from storage.states import JobState

log = logging.getLogger(__name__)
NONE = discord.AllowedMentions.none()
TEMPLATE = r"soracord:job:(?P<action>again|remix|details|cancel):(?P<job_id>[0-9]+)"
LOOKS: dict[str, tuple[str, str, discord.ButtonStyle]] = {  # (label key, emoji, style)
    "again": ("button.again", "🔁", discord.ButtonStyle.secondary),
    "remix": ("button.remix", "🎛️", discord.ButtonStyle.secondary),
    "details": ("button.details", "ℹ️", discord.ButtonStyle.secondary),
    "cancel": ("button.cancel", "✖️", discord.ButtonStyle.danger),
}
CONFIRM_TIMEOUT = 120.0


def custom_id(action: str, job_id: int) -> str:
    return f"soracord:job:{action}:{job_id}"


def engine_of(interaction: discord.Interaction) -> Engine:
    engine = getattr(interaction.client, "engine", None)
    if not isinstance(engine, Engine):
        raise RuntimeError("the client has no engine")
    return engine


# ---- views delivery attaches ---------------------------------------------------------------------


def progress_view(job: JobView, locale: object = None) -> discord.ui.View | None:
    """Cancel while the job waits in the queue; nothing once it has started. Labels in the job's locale."""
    if job.state is not JobState.QUEUED:
        return None
    loc = job.locale if locale is None else locale
    view = discord.ui.View(timeout=None)
    view.add_item(JobButton("cancel", job.id, loc))
    return view


def result_view(job: JobView, *, remix: bool, locale: object = None) -> discord.ui.View:
    loc = job.locale if locale is None else locale
    view = discord.ui.View(timeout=None)
    view.add_item(JobButton("again", job.id, loc))
    if remix:
        view.add_item(JobButton("remix", job.id, loc))
    view.add_item(JobButton("details", job.id, loc))
    return view


# ---- the button ----------------------------------------------------------------------------------


class JobButton(discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]], template=TEMPLATE):
    """One action on one job; rebuilt from its custom_id on every press."""

    def __init__(self, action: str, job_id: int, locale: object = None) -> None:
        label, emoji, style = LOOKS[action]
        super().__init__(
            discord.ui.Button(
                label=t(label, locale), emoji=emoji, style=style, custom_id=custom_id(action, job_id)
            )
        )
        self.action = action
        self.job_id = job_id
        self.job: JobView | None = None

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
        tag_interaction(interaction.id)
        job = await member_jobs.find(engine_of(interaction), interaction.guild_id or 0, self.job_id)
        if job is None:
            await interaction.response.send_message(
                t("button.unknown_job", interaction.locale, id=self.job_id),
                ephemeral=True,
                allowed_mentions=NONE,
            )
            return False
        if not member_jobs.may_act(job, interaction.user.id, is_manager=is_manager(interaction)):
            await interaction.response.send_message(
                t("button.not_yours", interaction.locale, user_id=job.user_id, id=job.id),
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
                    embed=details_embed(self.job, interaction.locale), ephemeral=True, allowed_mentions=NONE
                )
            elif self.action == "cancel":
                outcome = await member_jobs.cancel(engine_of(interaction), self.job)
                await interaction.response.send_message(
                    outcome.message.render(interaction.locale), ephemeral=True, allowed_mentions=NONE
                )
            elif self.action == "again":
                await ask_again(interaction, self.job)
            elif self.action == "remix":
                await ask_remix(interaction, self.job)
        except Exception as exc:
            await respond_error(interaction, exc)


# ---- Details --------------------------------------------------------------------------------------


def details_embed(job: JobView, locale: object = None) -> discord.Embed:
    """The job's details for whoever pressed Details, in their locale (the job's when not given)."""
    loc = job.locale if locale is None else locale
    text = inert(job.text.strip(), 4000)
    embed = discord.Embed(
        title=t("details.title", loc, id=job.id, kind=render.kind_title(job.kind, loc)),
        description=text or None,
        colour=render.COLOURS.get(job.state, discord.Colour.default()),
    )
    state = job.state.value if resolve(loc) == EN else render.state_words(job.state, loc)
    embed.add_field(name=t("details.state", loc), value=f"{render.STATE_EMOJI[job.state]} {state}")
    embed.add_field(name=t("details.requested_by", loc), value=f"<@{job.user_id}>")
    embed.add_field(name=t("details.profile", loc), value=job.profile)
    embed.add_field(name=t("details.model", loc), value=job.model)
    embed.add_field(name=t("details.duration", loc), value=t("details.seconds", loc, seconds=job.duration))
    embed.add_field(
        name=t("details.orientation", loc),
        value=render.orientation_word(job.orientation, loc),
    )
    embed.add_field(name=t("details.cost", loc), value=render.cost_line(job, loc))
    embed.add_field(name=t("details.remote_id", loc), value=f"`{job.remote_id}`" if job.remote_id else "—")
    times = "\n".join(
        f"{t(label, loc)}: <t:{int(at)}:f>" if at is not None else f"{t(label, loc)}: —"
        for label, at in job.timings()
    )
    spans = " · ".join(f"{t(label, loc)} {render.elapsed(s, loc)}" for label, s in job.spans())
    embed.add_field(
        name=t("details.timings", loc), value=times + (f"\n{spans}" if spans else ""), inline=False
    )
    why = render.error_text(job, loc)
    if why and job.state is not JobState.SUCCEEDED:
        embed.add_field(name=t("details.why", loc), value=why[:1000], inline=False)
    return fit_embed(embed)  # the vendor's remote id and words are theirs: any length


# ---- Again ----------------------------------------------------------------------------------------


async def ask_again(interaction: discord.Interaction, job: JobView) -> None:
    """Show what making the job again costs; the member confirms on an ephemeral message."""
    assert interaction.guild_id is not None
    engine = engine_of(interaction)
    request = job.request
    quote = await engine.admission.quote(request, interaction.guild_id, job.profile)
    await engine.admission.precheck(interaction.guild_id, interaction.user.id, quote)
    balance = await engine.admission.balance(interaction.guild_id, interaction.user.id)
    view = ConfirmAgain(engine, job, request, quote, interaction)
    loc = interaction.locale
    await interaction.response.send_message(
        t(
            "again.ask",
            loc,
            id=job.id,
            model=quote.model,
            duration=job.duration,
            orientation=render.orientation_word(job.orientation, loc),
            cost=quote.cost,
            balance=balance,
        ),
        view=view,
        ephemeral=True,
        allowed_mentions=NONE,
    )


class ConfirmAgain(discord.ui.View):
    def __init__(
        self,
        engine: Engine,
        job: JobView,
        request: AnyRequest,
        quote: Quote,
        asked: discord.Interaction,
    ) -> None:
        super().__init__(timeout=CONFIRM_TIMEOUT)
        self.engine, self.job, self.request, self.quote, self.asked = engine, job, request, quote, asked
        self.locale = asked.locale
        self.confirm.label = t("again.confirm", self.locale)
        self.cancel.label = t("again.cancel", self.locale)

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        return interaction.user.id == self.asked.user.id

    @property
    def once_key(self) -> str:
        """The question's key: however often Confirm is pressed, it makes one job (``enqueue``)."""
        return f"again:{self.asked.id}"

    async def on_timeout(self) -> None:
        if await self.engine.admission.made_by(self.once_key) is not None:
            return  # confirmed: the question already says which job it made
        with contextlib.suppress(discord.HTTPException):
            await self.asked.edit_original_response(content=t("again.timeout", self.locale), view=None)

    @discord.ui.button(label="Confirm", style=discord.ButtonStyle.success)
    async def confirm(self, interaction: discord.Interaction, _button: discord.ui.Button[Any]) -> None:
        # The view stays listening until it times out: a second press is answered ("already made"),
        # never left to fail, and the key in the database keeps it from making a second job.
        admission = self.engine.admission
        try:
            assert interaction.guild_id is not None
            made = await admission.made_by(self.once_key)
            if made is not None:
                raise AlreadyMade(made)
            await admission.precheck(interaction.guild_id, interaction.user.id, self.quote)
            callback = await interaction.response.defer(thinking=True)
            new = await admission.enqueue(
                origin_from(interaction, callback), self.request, self.quote.profile, once_key=self.once_key
            )
        except Exception as exc:
            made = None if isinstance(exc, AlreadyMade) else await admission.made_by(self.once_key)
            await respond_error(interaction, AlreadyMade(made) if made is not None else exc)
            return
        try:
            await self.asked.edit_original_response(
                content=t("again.queued", self.locale, id=new.id, cost=self.quote.cost), view=None
            )
        except discord.HTTPException:
            log.info("job %s: could not update the Again confirmation", new.id)

    @discord.ui.button(label="Cancel", style=discord.ButtonStyle.secondary)
    async def cancel(self, interaction: discord.Interaction, _button: discord.ui.Button[Any]) -> None:
        made = await self.engine.admission.made_by(self.once_key)
        if made is not None:
            await respond_error(interaction, AlreadyMade(made))
            return
        self.stop()
        await interaction.response.edit_message(content=t("again.cancelled", self.locale), view=None)


# ---- Remix ----------------------------------------------------------------------------------------


async def ask_remix(interaction: discord.Interaction, job: JobView) -> None:
    engine = engine_of(interaction)
    if not member_jobs.can_remix(engine, job):
        loc = interaction.locale
        reason = (
            t("remix.not_finished", loc)
            if job.state is not JobState.SUCCEEDED
            else t("remix.not_offered", loc, profile=job.profile)
        )
        await interaction.response.send_message(reason, ephemeral=True, allowed_mentions=NONE)
        return
    once_key = f"remix:{interaction.id}"  # the form this press opened makes one job, however often sent
    await interaction.response.send_modal(RemixModal(engine, job, interaction.locale, once_key=once_key))


class RemixModal(discord.ui.Modal):
    def __init__(
        self, engine: Engine, job: JobView, locale: object = None, *, once_key: str | None = None
    ) -> None:
        super().__init__(title=t("remix.modal.title", locale, id=job.id), timeout=600)
        self.engine, self.job, self.once_key = engine, job, once_key
        self.prompt: discord.ui.TextInput[RemixModal] = discord.ui.TextInput(
            label=t("remix.modal.prompt_label", locale),
            style=discord.TextStyle.paragraph,
            custom_id="prompt",
            max_length=MAX_PROMPT_CHARS,
            placeholder=t("remix.modal.prompt_placeholder", locale),
        )
        self.add_item(self.prompt)

    async def on_submit(self, interaction: discord.Interaction, /) -> None:
        assert interaction.guild_id is not None
        made = await self.engine.admission.made_by(self.once_key) if self.once_key else None
        if made is not None:
            raise AlreadyMade(made)
        request = member_jobs.remix_request(self.job, self.prompt.value)
        quote = await self.engine.admission.quote(request, interaction.guild_id, self.job.profile)
        await self.engine.admission.precheck(interaction.guild_id, interaction.user.id, quote)
        callback = await interaction.response.defer(thinking=True)
        await self.engine.admission.enqueue(
            origin_from(interaction, callback), request, quote.profile, once_key=self.once_key
        )

    async def on_error(self, interaction: discord.Interaction, error: Exception, /) -> None:  # type: ignore[override]
        await respond_error(interaction, error)
