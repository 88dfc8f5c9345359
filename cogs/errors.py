"""The one error path: every command error becomes a friendly ephemeral message.

A ``UserError`` is shown as it is, in the member's language (``interaction.locale``). Anything else
is logged with its traceback under a short reference id, and the member sees only that id — never a
raw exception.
"""

from __future__ import annotations

import logging
import secrets

import discord
from discord import app_commands

from bot.errors import UserError
from bot.i18n import t

log = logging.getLogger(__name__)


def friendly(error: BaseException, locale: object = None) -> tuple[str, str | None]:
    """The message for a member (in ``locale``) and, for internal faults, the reference id it was
    logged under."""
    if isinstance(error, app_commands.CommandInvokeError | app_commands.TransformerError):
        error = error.__cause__ or error
    if isinstance(error, UserError):
        return error.render(locale), None
    if isinstance(error, app_commands.NoPrivateMessage):
        return t("errors.guild_only", locale), None
    if isinstance(error, app_commands.MissingPermissions | app_commands.CheckFailure):
        return t("errors.no_permission", locale), None
    if isinstance(error, app_commands.CommandOnCooldown):
        return t("errors.cooldown", locale, seconds=f"{error.retry_after:.0f}"), None
    ref = secrets.token_hex(3)
    return t("errors.internal", locale, ref=ref), ref


async def on_tree_error(interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
    message, ref = friendly(error, interaction.locale)
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
