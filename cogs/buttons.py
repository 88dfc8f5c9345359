"""The buttons under a job: Again, Remix, Variation, Details on the result; Cancel on a queued job.

They are ``DynamicItem``s whose custom_id carries the action and the job id
(``soracord:job:details:42``), registered once with ``bot.add_dynamic_items``: a button on a
message posted before a restart works after it, because nothing about it lives in memory. Cancel and
Details are the owner's and the managers'; Again, Remix and Variation are riffs any member allowed
to generate in the channel may make from a colleague's video, at their own cost (``cogs.riffs``).
"""

from __future__ import annotations

import logging
from typing import Any

import discord

from bot.engine import member_jobs
from bot.engine.engine import Engine
from bot.engine.views import JobView
from bot.i18n import EN, resolve, t
from bot.logs import tag_interaction
from cogs import render, riffs
from cogs.errors import respond_error
from cogs.inert import inert
from cogs.launch import is_manager, require_allowed
from cogs.limits import fit_embed
from storage.states import JobState

log = logging.getLogger(__name__)
NONE = discord.AllowedMentions.none()
TEMPLATE = r"soracord:job:(?P<action>again|remix|variation|details|cancel):(?P<job_id>[0-9]+)"
LOOKS: dict[str, tuple[str, str, discord.ButtonStyle]] = {  # (label key, emoji, style)
    "again": ("button.again", "🔁", discord.ButtonStyle.secondary),
    "remix": ("button.remix", "🎛️", discord.ButtonStyle.secondary),
    "variation": ("button.variation", "✏️", discord.ButtonStyle.secondary),
    "details": ("button.details", "ℹ️", discord.ButtonStyle.secondary),
    "cancel": ("button.cancel", "✖️", discord.ButtonStyle.danger),
}
OWNERS_ONLY = frozenset({"details", "cancel"})  # the rest are riffs: anyone allowed to generate here


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
    view.add_item(JobButton("variation", job.id, loc))
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
        owner_only = self.action in OWNERS_ONLY
        if owner_only and not member_jobs.may_act(
            job, interaction.user.id, is_manager=is_manager(interaction)
        ):
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
        engine = engine_of(interaction)
        try:
            if self.action not in OWNERS_ONLY:
                await require_allowed(engine, interaction)  # a riff is the presser's: their channel, roles
            if self.action == "details":
                await interaction.response.send_message(
                    embed=details_embed(self.job, interaction.locale), ephemeral=True, allowed_mentions=NONE
                )
            elif self.action == "cancel":
                outcome = await member_jobs.cancel(engine, self.job)
                await interaction.response.send_message(
                    outcome.message.render(interaction.locale), ephemeral=True, allowed_mentions=NONE
                )
            elif self.action == "again":
                await riffs.ask_again(engine, interaction, self.job)
            elif self.action == "remix":
                await riffs.ask_remix(engine, interaction, self.job)
            elif self.action == "variation":
                await riffs.ask_variation(engine, interaction, self.job)
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
