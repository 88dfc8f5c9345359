"""The one error path: every refusal and every fault becomes a friendly message only the member sees.

A ``UserError`` is shown as it is, in the member's language (``interaction.locale``). Anything else
is logged with its traceback under a short reference id, and the member sees only that id — never a
raw exception. ``respond_error`` serves slash commands (as ``tree.on_error``), buttons, modals and
refusals after a command deferred, so every refusal reads and behaves the same. Whatever a refusal
quotes, it is cut to fit one message (``cogs.inert.CONTENT``): a refusal Discord would not take is
no refusal at all.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

import discord
from discord import app_commands

from bot.errors import UserError
from bot.i18n import t
from cogs.inert import CONTENT, clip
from storage.faults import is_storage_fault

log = logging.getLogger(__name__)
NONE = discord.AllowedMentions.none()


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
    if is_storage_fault(error):  # a database blip outlasted the retries: say so, not "our side"
        return t("errors.database", locale, ref=ref), ref
    return t("errors.internal", locale, ref=ref), ref


async def respond_error(
    interaction: discord.Interaction, error: BaseException, *, view: discord.ui.View | None = None
) -> None:
    """Tell the member what went wrong, ephemerally, whatever state the interaction is in.

    ``view`` goes with the refusal (a refused storyboard form's "Fix and resend"), never with the
    public last-resort channel message.

    Not answered yet: an ephemeral reply. Deferred publicly ("thinking…"): that message is removed
    and the refusal follows ephemerally (edited in place if it cannot be removed). Answered
    otherwise (a modal, a confirm): an ephemeral followup. When that fails (Discord refused it, the
    deferred message was deleted), a fresh followup; when that fails too, a short channel message
    that mentions the member (``_in_channel``) — a member is always answered.
    """
    message, ref = friendly(error, interaction.locale)
    message = clip(message, CONTENT)
    if ref is not None:
        what = interaction.command.qualified_name if interaction.command else "component"
        log.error("%s failed (ref %s, interaction %s)", what, ref, interaction.id, exc_info=error)
    extra: dict[str, Any] = {"view": view} if view is not None else {}  # discord.py takes no view=None
    try:
        if not interaction.response.is_done():
            await interaction.response.send_message(message, ephemeral=True, allowed_mentions=NONE, **extra)
        elif interaction.response.type is discord.InteractionResponseType.deferred_channel_message:
            await _replace_thinking(interaction, message, extra)
        else:
            await interaction.followup.send(message, ephemeral=True, allowed_mentions=NONE, **extra)
        return
    except discord.HTTPException as exc:
        log.info(
            "interaction %s: the refusal was not taken (%s); trying a fresh followup", interaction.id, exc
        )
    if interaction.response.is_done():  # a followup needs an acknowledged interaction
        try:
            await interaction.followup.send(message, ephemeral=True, allowed_mentions=NONE, **extra)
            return
        except discord.HTTPException as exc:
            log.info("interaction %s: the followup was not taken either (%s)", interaction.id, exc)
    if not await _in_channel(interaction, message):
        log.warning("could not tell interaction %s about its error (ref %s)", interaction.id, ref)


async def _in_channel(interaction: discord.Interaction, message: str) -> bool:
    """The refusal as a channel message, pinging only the member: public, so used only as a last resort."""
    if interaction.channel_id is None:
        return False
    channel = interaction.client.get_partial_messageable(
        interaction.channel_id, guild_id=interaction.guild_id
    )
    user = interaction.user.id
    text = clip(t("errors.for_member", interaction.locale, user_id=user, message=message), CONTENT)
    try:
        await channel.send(text, allowed_mentions=discord.AllowedMentions(users=[discord.Object(user)]))
    except discord.HTTPException:
        return False
    return True


async def _replace_thinking(interaction: discord.Interaction, message: str, extra: dict[str, Any]) -> None:
    try:
        await interaction.delete_original_response()
    except discord.HTTPException:
        log.info("interaction %s: could not remove the deferred message; editing it", interaction.id)
        await interaction.edit_original_response(
            content=message, embed=None, view=extra.get("view"), allowed_mentions=NONE
        )
        return
    await interaction.followup.send(message, ephemeral=True, allowed_mentions=NONE, **extra)


async def on_tree_error(interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
    await respond_error(interaction, error)
