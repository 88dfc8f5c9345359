"""``/jobs list|show|cancel``: a member's (or, for managers, the server's) jobs."""

from __future__ import annotations

import discord
from discord import app_commands

from bot.engine import member_jobs
from bot.engine.engine import Engine
from bot.engine.events import JobEvent
from bot.engine.views import JobView
from bot.i18n import t
from cogs import render
from cogs.follow import TOKEN_LIFE, Follower, Followers, card_view
from cogs.inert import inert
from cogs.launch import is_manager
from cogs.limits import lines_within
from cogs.translator import L

NONE = discord.AllowedMentions.none()
PROMPT_IN_LIST = 60


def list_line(job: JobView, *, show_owner: bool, locale: object = None) -> str:
    text = inert(" ".join(job.text.split()), PROMPT_IN_LIST)
    owner = f" · <@{job.user_id}>" if show_owner else ""
    emoji = render.STATE_EMOJI[job.state]
    words = render.state_words(job.state, locale)
    seconds = t("details.seconds", locale, seconds=job.duration)
    return (
        f"{emoji} **#{job.id}** {words} · {job.model_label} {seconds} · <t:{int(job.created_at)}:R>{owner}"
        + (f"\n-# {text}" if text else "")
    )


@app_commands.guild_only()
class JobsGroup(app_commands.Group, name=L("cmd.jobs.name"), description=L("cmd.jobs.description")):
    def __init__(self, engine: Engine, followers: Followers | None = None) -> None:
        super().__init__()
        self.engine = engine
        self.followers = followers  # a running job's card shown here keeps following it

    @app_commands.command(name=L("cmd.jobs.list.name"), description=L("cmd.jobs.list.description"))
    @app_commands.rename(all=L("opt.all.name"))
    @app_commands.describe(all=L("cmd.jobs.list.opt.all"))
    async def list_(self, interaction: discord.Interaction, all: bool = False) -> None:
        assert interaction.guild_id is not None
        found = await member_jobs.listing(
            self.engine,
            interaction.guild_id,
            interaction.user.id,
            everyone=all,
            is_manager=is_manager(interaction),
        )
        loc = interaction.locale
        title = t("jobs.list.title_all", loc) if all else t("jobs.list.title", loc)
        lines = [list_line(j, show_owner=all, locale=loc) for j in found] or [t("jobs.list.empty", loc)]
        embed = discord.Embed(title=title, description=lines_within(lines))
        embed.set_footer(text=t("jobs.list.footer", loc, limit=member_jobs.LIST_LIMIT))
        await interaction.response.send_message(embed=embed, ephemeral=True, allowed_mentions=NONE)

    @app_commands.command(name=L("cmd.jobs.show.name"), description=L("cmd.jobs.show.description"))
    @app_commands.rename(id=L("opt.id.name"))
    @app_commands.describe(id=L("cmd.jobs.opt.id"))
    async def show(self, interaction: discord.Interaction, id: app_commands.Range[int, 1]) -> None:
        assert interaction.guild_id is not None
        job = await member_jobs.job_for(
            self.engine,
            interaction.guild_id,
            id,
            actor_id=interaction.user.id,
            is_manager=is_manager(interaction),
        )
        event = await self.engine.event(job.id) or JobEvent(job)
        loc = interaction.locale
        embed = render.job_embed(event, now=self.engine.clock.now(), locale=loc, video_link=True)
        view = card_view(self.engine, event.job, loc)
        callback = await interaction.response.send_message(
            embed=embed, view=view or discord.utils.MISSING, allowed_mentions=NONE
        )
        message_id = callback.message_id if callback is not None else None
        if self.followers is not None and event.job.active and message_id is not None:
            self.followers.follow(
                job.id,
                Follower(
                    message_id=message_id,
                    channel_id=interaction.channel_id or job.channel_id,
                    application_id=interaction.application_id,
                    token=interaction.token,
                    expires_at=self.followers.clock() + TOKEN_LIFE,
                    locale=str(loc.value),
                ),
            )

    @app_commands.command(name=L("cmd.jobs.cancel.name"), description=L("cmd.jobs.cancel.description"))
    @app_commands.rename(id=L("opt.id.name"))
    @app_commands.describe(id=L("cmd.jobs.opt.id"))
    async def cancel(self, interaction: discord.Interaction, id: app_commands.Range[int, 1]) -> None:
        assert interaction.guild_id is not None
        job = await member_jobs.job_for(
            self.engine,
            interaction.guild_id,
            id,
            actor_id=interaction.user.id,
            is_manager=is_manager(interaction),
        )
        outcome = await member_jobs.cancel(self.engine, job)
        await interaction.response.send_message(
            outcome.message.render(interaction.locale), ephemeral=True, allowed_mentions=NONE
        )
