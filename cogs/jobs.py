"""``/jobs list|show|cancel``: a member's (or, for managers, the server's) jobs."""

from __future__ import annotations

import discord
from discord import app_commands

from bot.engine import jobs_view
from bot.engine.engine import Engine
from bot.engine.events import JobEvent
from cogs import buttons, render
from storage.jobs import JobRow

NONE = discord.AllowedMentions.none()
PROMPT_IN_LIST = 60


def list_line(job: JobRow, *, show_owner: bool) -> str:
    request = job.request
    text = " ".join(str(request.get("prompt") or request.get("ad_theme") or "").split())
    if len(text) > PROMPT_IN_LIST:
        text = text[: PROMPT_IN_LIST - 1] + "…"
    owner = f" · <@{job.user_id}>" if show_owner else ""
    emoji = jobs_view.STATE_EMOJI.get(job.state, "•")
    words = jobs_view.STATE_WORDS.get(job.state, job.state)
    return (
        f"{emoji} **#{job.id}** {words} · {job.model} {job.duration} s · <t:{int(job.created_at)}:R>{owner}"
        + (f"\n-# {discord.utils.escape_markdown(text)}" if text else "")
    )


def card_view(engine: Engine, job: JobRow) -> discord.ui.View | None:
    if job.active:
        return buttons.progress_view(job)
    return buttons.result_view(job, remix=jobs_view.can_remix(engine, job))


@app_commands.guild_only()
class JobsGroup(app_commands.Group, name="jobs", description="Your video jobs: list, show or cancel them."):
    def __init__(self, engine: Engine) -> None:
        super().__init__()
        self.engine = engine

    @app_commands.command(name="list", description="Your newest jobs (managers: everyone's with all).")
    @app_commands.describe(all="Managers: list every member's jobs in this server.")
    async def list_(self, interaction: discord.Interaction, all: bool = False) -> None:
        assert interaction.guild_id is not None
        found = await jobs_view.listing(
            self.engine,
            interaction.guild_id,
            interaction.user.id,
            everyone=all,
            is_manager=buttons.is_manager(interaction),
        )
        title = "This server's newest jobs" if all else "Your newest jobs"
        lines = [list_line(j, show_owner=all) for j in found] or ["No jobs yet. Start one with `/sora`."]
        embed = discord.Embed(title=title, description="\n".join(lines))
        embed.set_footer(text=f"Up to {jobs_view.LIST_LIMIT}, newest first · /jobs show <id> for one")
        await interaction.response.send_message(embed=embed, ephemeral=True, allowed_mentions=NONE)

    @app_commands.command(name="show", description="Post a job's card again, with its buttons.")
    @app_commands.describe(id="The job number (see /jobs list).")
    async def show(self, interaction: discord.Interaction, id: app_commands.Range[int, 1]) -> None:
        assert interaction.guild_id is not None
        job = await jobs_view.job_for(
            self.engine,
            interaction.guild_id,
            id,
            actor_id=interaction.user.id,
            is_manager=buttons.is_manager(interaction),
        )
        position = self.engine.queue_position(job.id) if job.state == "queued" else None
        embed = render.job_embed(JobEvent(job, queue_position=position))
        view = card_view(self.engine, job)
        await interaction.response.send_message(
            embed=embed, view=view or discord.utils.MISSING, allowed_mentions=NONE
        )

    @app_commands.command(name="cancel", description="Cancel a job that is still waiting in the queue.")
    @app_commands.describe(id="The job number (see /jobs list).")
    async def cancel(self, interaction: discord.Interaction, id: app_commands.Range[int, 1]) -> None:
        assert interaction.guild_id is not None
        job = await jobs_view.job_for(
            self.engine,
            interaction.guild_id,
            id,
            actor_id=interaction.user.id,
            is_manager=buttons.is_manager(interaction),
        )
        outcome = await jobs_view.cancel(self.engine, job)
        await interaction.response.send_message(outcome.message, ephemeral=True, allowed_mentions=NONE)
