"""The one error path: every command error becomes a friendly ephemeral message.

A ``UserError`` is shown as it is. Anything else is logged with its traceback under a short
reference id, and the member sees only that id — never a raw exception.
"""

from __future__ import annotations

import logging
import secrets

import discord
from discord import app_commands

from bot.errors import UserError

log = logging.getLogger(__name__)


def friendly(error: BaseException) -> tuple[str, str | None]:
    """The message for a member and, for internal faults, the reference id it was logged under."""
    if isinstance(error, app_commands.CommandInvokeError | app_commands.TransformerError):
        error = error.__cause__ or error
    if isinstance(error, UserError):
        return error.message, None
    if isinstance(error, app_commands.NoPrivateMessage):
        return "This command works in a server channel, not in direct messages.", None
    if isinstance(error, app_commands.MissingPermissions | app_commands.CheckFailure):
        return "You don't have permission to use this command here.", None
    if isinstance(error, app_commands.CommandOnCooldown):
        return f"Slow down — try again in {error.retry_after:.0f} s.", None
    ref = secrets.token_hex(3)
    return f"Something went wrong on our side (reference `{ref}`). Please try again.", ref


async def on_tree_error(interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
    message, ref = friendly(error)
    if ref is not None:
        command = interaction.command.qualified_name if interaction.command else "?"
        log.error("command %s failed (ref %s, interaction %s)", command, ref, interaction.id, exc_info=error)
    try:
        if interaction.response.is_done():
            await interaction.edit_original_response(
                content=message, embed=None, allowed_mentions=discord.AllowedMentions.none()
            )
        else:
            await interaction.response.send_message(
                message, ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
            )
    except discord.HTTPException:
        log.warning("could not tell interaction %s about its error (ref %s)", interaction.id, ref)
