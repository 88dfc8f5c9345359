"""A member learns of a manager's grant with their next command: "<manager> gave you N credits: reason".

``/credits-admin grant`` answers only the manager; the grant waits as a notice (``storage.grant_notices``)
until the member next uses the bot. After every command that went through (``app_command_completion``)
one indexed read asks whether a notice waits — nearly always not, and nothing else happens. When one
does, it is taken (so a second command finishing at once cannot show it again) and sent as an
ephemeral followup, seen once; if Discord refuses it, it is put back for the next command.

Two answers cannot carry it: a form (a modal is no message to follow up), which leaves the notice for
the next command; and a deferral still "thinking": Discord would turn the first followup into that
public message, so the notice waits (bounded) until the job's card has replaced it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import discord
from discord.ext import commands

from bot.engine.credits import Credits
from bot.i18n import t
from cogs.credits import reason_words
from storage.grant_notices import GrantNotice

log = logging.getLogger(__name__)
NONE = discord.AllowedMentions.none()
THINKING_WAIT = 10.0  # seconds a notice waits for a deferred answer to stop "thinking"
FOLLOWABLE = (
    discord.InteractionResponseType.channel_message,
    discord.InteractionResponseType.deferred_channel_message,
    discord.InteractionResponseType.deferred_message_update,
    discord.InteractionResponseType.message_update,
)


def notice_text(notices: list[GrantNotice], locale: object = None) -> str:
    """One line a grant, oldest first: who gave how much, and why."""
    lines = []
    for notice in notices:
        reason = reason_words(notice.reason, locale)
        if notice.actor_id is None:
            lines.append(t("grant_notice.line_bot", locale, amount=notice.amount, reason=reason))
        else:
            manager = f"<@{notice.actor_id}>"
            lines.append(t("grant_notice.line", locale, manager=manager, amount=notice.amount, reason=reason))
    return "\n".join(lines)


class GrantNoticesCog(commands.Cog):
    def __init__(self, credits: Credits) -> None:
        self.credits = credits

    @commands.Cog.listener()
    async def on_app_command_completion(self, interaction: discord.Interaction, _command: Any) -> None:
        if interaction.guild_id is None:
            return
        try:
            if await self.credits.has_unseen_grants(interaction.guild_id, interaction.user.id):
                await self._tell(interaction, interaction.guild_id)
        except Exception:  # a notice must never disturb the command it follows
            log.exception("interaction %s: the grant notice failed", interaction.id)

    async def _tell(self, interaction: discord.Interaction, guild_id: int) -> None:
        if interaction.response.type not in FOLLOWABLE:
            return  # a form, or no answer: the next command tells them
        thinking = interaction.response.type is discord.InteractionResponseType.deferred_channel_message
        if thinking and not await _stopped_thinking(interaction):
            return
        notices = await self.credits.take_unseen_grants(guild_id, interaction.user.id)
        if not notices:
            return  # another command told them meanwhile
        try:
            await interaction.followup.send(
                notice_text(notices, interaction.locale), ephemeral=True, allowed_mentions=NONE
            )
        except discord.HTTPException as exc:
            log.info("interaction %s: the grant notice was refused (%s); kept for later", interaction.id, exc)
            await self.credits.put_back_grants(notices)


async def _stopped_thinking(interaction: discord.Interaction) -> bool:
    """Whether the deferred answer no longer shows "thinking…" (edited, or removed), within a bound."""
    delay = 0.1
    loop = asyncio.get_running_loop()
    until = loop.time() + THINKING_WAIT
    while True:
        try:
            message = await interaction.original_response()
        except discord.NotFound:
            return True  # removed (a refusal replaced it): a followup is a message of its own
        if not message.flags.loading:
            return True
        if loop.time() + delay > until:
            return False
        await asyncio.sleep(delay)
        delay = min(delay * 2, 1.0)
