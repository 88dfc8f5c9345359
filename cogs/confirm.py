"""Asking before an expensive video is charged: "This video costs N credits (you have M). Make it?"

A job priced over the server's threshold (``bot.engine.confirm``) is not deferred, held or queued
by its command: the member gets this ephemeral question instead, and only Confirm goes on — with
the same request, checked and priced again, so nothing is charged without it. The question has a
key (``confirm:<interaction id>``) that ``enqueue`` keeps with the job it makes: however often
Confirm is pressed, or a form it opened is sent, one job is made, and a second press is told which.

Commands that open a form (``/storyboard``, Animate) ask before the form opens, when the price is
already known, so nobody writes a storyboard to be surprised by its price; Confirm then opens the
form, which carries the price agreed to and the key. A price that still rises with what is typed
(more shots) is asked again after the form is sent, the text kept in the question.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import discord

from bot.engine.admission import Quote
from bot.engine.engine import Engine
from bot.engine.views import JobView
from bot.errors import AlreadyMade
from bot.i18n import t
from cogs.errors import respond_error

log = logging.getLogger(__name__)
NONE = discord.AllowedMentions.none()
CONFIRM_TIMEOUT = 300.0

# Goes on after Confirm, answering the press: (the press, the question's key) -> the job it made, or
# None when it made none yet (a form opened, a refusal already shown).
Proceed = Callable[[discord.Interaction, str], Awaitable[JobView | None]]
# Opens a form in answer to an interaction: (interaction, credits agreed to, the question's key).
OpenForm = Callable[[discord.Interaction, int, str | None], Awaitable[None]]


async def ask_first(
    engine: Engine, interaction: discord.Interaction, quote: Quote, proceed: Proceed, *, form: bool = False
) -> None:
    """Answer ``interaction`` with the price question; ``proceed`` runs when the member confirms."""
    assert interaction.guild_id is not None
    balance = await engine.admission.balance(interaction.guild_id, interaction.user.id)
    view = ConfirmPrice(engine, interaction, quote, proceed)
    key = "confirm.ask_form" if form else "confirm.ask"
    text = t(key, interaction.locale, cost=quote.cost, balance=balance, model=quote.label or quote.model)
    await interaction.response.send_message(text, view=view, ephemeral=True, allowed_mentions=NONE)


async def form_first(
    engine: Engine, interaction: discord.Interaction, quote: Quote, open_form: OpenForm
) -> None:
    """Open the form now, or — for a price over the threshold — when the member confirms it."""
    assert interaction.guild_id is not None
    if not await engine.admission.asks_first(interaction.guild_id, quote):
        await open_form(interaction, 0, None)
        return

    async def proceed(press: discord.Interaction, key: str) -> JobView | None:
        await open_form(press, quote.cost, key)
        return None  # the form makes the job, under the same key

    await ask_first(engine, interaction, quote, proceed, form=True)


class ConfirmPrice(discord.ui.View):
    """Confirm / Cancel under the price question; only the member who asked can press them."""

    def __init__(self, engine: Engine, asked: discord.Interaction, quote: Quote, proceed: Proceed) -> None:
        super().__init__(timeout=CONFIRM_TIMEOUT)
        self.engine, self.asked, self.quote, self.proceed = engine, asked, quote, proceed
        self.locale = asked.locale
        self.confirm.label = t("confirm.confirm", self.locale)
        self.cancel.label = t("confirm.cancel", self.locale)

    @property
    def once_key(self) -> str:
        return f"confirm:{self.asked.id}"

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        return interaction.user.id == self.asked.user.id

    async def on_timeout(self) -> None:
        if await self.engine.admission.made_by(self.once_key) is not None:
            return  # confirmed: the question already says which job it made
        with contextlib.suppress(discord.HTTPException):
            await self.asked.edit_original_response(content=t("confirm.timeout", self.locale), view=None)

    @discord.ui.button(label="Confirm", style=discord.ButtonStyle.success)
    async def confirm(self, interaction: discord.Interaction, _button: discord.ui.Button[Any]) -> None:
        # The view listens until it times out: a second press is answered ("already confirmed") and
        # the key kept with the job stops it from making a second one, even when both race.
        admission = self.engine.admission
        try:
            made = await admission.made_by(self.once_key)
            if made is not None:
                raise AlreadyMade(made)
            job = await self.proceed(interaction, self.once_key)
        except Exception as exc:
            made = None if isinstance(exc, AlreadyMade) else await admission.made_by(self.once_key)
            await respond_error(interaction, AlreadyMade(made) if made is not None else exc)
            return
        if job is None:
            return
        try:
            await self.asked.edit_original_response(
                content=t("confirm.queued", self.locale, id=job.id, cost=job.cost), view=None
            )
        except discord.HTTPException:
            log.info("job %s: could not update the price question", job.id)

    @discord.ui.button(label="Cancel", style=discord.ButtonStyle.secondary)
    async def cancel(self, interaction: discord.Interaction, _button: discord.ui.Button[Any]) -> None:
        made = await self.engine.admission.made_by(self.once_key)
        if made is not None:
            await respond_error(interaction, AlreadyMade(made))
            return
        self.stop()
        await interaction.response.edit_message(content=t("confirm.cancelled", self.locale), view=None)
