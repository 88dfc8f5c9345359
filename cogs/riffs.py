"""Riffs: something new made from a finished job — Again, Remix or Variation — by anyone on the team.

A team riffs on each other's videos, so any member allowed to generate in the channel may press these
on a colleague's video: the channel and role rules are checked for the presser (``require_allowed``,
in ``cogs.buttons``), and what it makes is the presser's, charged to them. Every riff asks the same
question first — what it makes, what it costs, their balance, Confirm or Cancel (``ConfirmRiff``) —
so a press on someone else's card never spends credits by surprise. The question's key makes a
double press one job: Again's key is its press, a form's key is the press that opened it, so a form
sent twice and confirmed twice makes one job too. The new job remembers the one it riffs on
(``Riff``), so its card can say whose video it builds on and link back to it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from dataclasses import dataclass
from typing import Any

import discord

from bot.engine import member_jobs
from bot.engine.admission import Quote
from bot.engine.engine import Engine
from bot.engine.views import JobView, Riff
from bot.errors import AlreadyMade
from bot.i18n import t
from bot.providers.base import MAX_PROMPT_CHARS, AnyRequest, Kind
from cogs import render
from cogs.errors import respond_error
from cogs.inert import inert
from cogs.launch import origin_from, require_allowed
from storage.states import JobState

log = logging.getLogger(__name__)
NONE = discord.AllowedMentions.none()
CONFIRM_TIMEOUT = 120.0
FORM_TIMEOUT = 600.0
PROMPT_IN_QUESTION = 300  # characters of the new prompt the question repeats
TEXT_INPUT_LIMIT = 4000  # Discord's limit for a text input's value (and so for its default)
QUESTIONS = {"again": "again.ask", "remix": "riff.ask_remix", "variation": "riff.ask_variation"}
FORMS = {  # (title, label, placeholder)
    "remix": ("remix.modal.title", "remix.modal.prompt_label", "remix.modal.prompt_placeholder"),
    "variation": (
        "variation.modal.title",
        "variation.modal.prompt_label",
        "variation.modal.prompt_placeholder",
    ),
}
# Again keeps its own words ("Not made again"); Remix and Variation say "Nothing was made".
ENDINGS = {  # (timed out, cancelled)
    "again": ("again.timeout", "again.cancelled"),
    "remix": ("riff.timeout", "riff.cancelled"),
    "variation": ("riff.timeout", "riff.cancelled"),
}


@dataclass(frozen=True)
class Ask:
    """One riff as the presser is asked to confirm it."""

    action: str  # again | remix | variation
    job: JobView  # the job riffed on
    request: AnyRequest  # what would be made
    riff: Riff
    once_key: str  # however often Confirm is pressed for it, one job (``enqueue``)


def riff_from(interaction: discord.Interaction, job: JobView) -> Riff:
    """The job riffed on and the message to link back to: the one pressed when the channel sees it,
    the original's card when it was pressed on an ephemeral reply, which nobody else could open."""
    message = interaction.message
    if message is not None and interaction.channel_id is not None and not message.flags.ephemeral:
        return Riff(job.id, job.user_id, interaction.channel_id, message.id)
    return Riff(job.id, job.user_id, job.channel_id, job.message_id)


# ---- the three buttons ------------------------------------------------------------------------------


async def ask_again(engine: Engine, interaction: discord.Interaction, job: JobView) -> None:
    """The same request again, after the question."""
    riff = riff_from(interaction, job)
    await ask_to_confirm(engine, interaction, Ask("again", job, job.request, riff, f"again:{interaction.id}"))


async def ask_remix(engine: Engine, interaction: discord.Interaction, job: JobView) -> None:
    """A form for what should change in the finished video, where its provider can remix."""
    if not member_jobs.can_remix(engine, job):
        loc = interaction.locale
        reason = (
            t("remix.not_finished", loc)
            if job.state is not JobState.SUCCEEDED
            else t("remix.not_offered", loc, profile=job.profile)
        )
        await interaction.response.send_message(reason, ephemeral=True, allowed_mentions=NONE)
        return
    await interaction.response.send_modal(RiffForm(engine, "remix", job, interaction))


async def ask_variation(engine: Engine, interaction: discord.Interaction, job: JobView) -> None:
    """A form holding the job's prompt, to change a little; the rest of the request stays."""
    await interaction.response.send_modal(RiffForm(engine, "variation", job, interaction))


class RiffForm(discord.ui.Modal):
    """Remix's "what should change?" or Variation's prompt to edit; sent, it asks to confirm."""

    def __init__(self, engine: Engine, action: str, job: JobView, pressed: discord.Interaction) -> None:
        loc = pressed.locale
        title, label, placeholder = FORMS[action]
        super().__init__(title=t(title, loc, id=job.id), timeout=FORM_TIMEOUT)
        self.engine, self.action, self.job = engine, action, job
        self.riff = riff_from(pressed, job)
        self.once_key = f"{action}:{pressed.id}"  # the form this press opened makes one job
        variation = action == "variation"
        limit = min(MAX_PROMPT_CHARS, TEXT_INPUT_LIMIT)
        self.prompt: discord.ui.TextInput[RiffForm] = discord.ui.TextInput(
            label=t(label, loc),
            style=discord.TextStyle.paragraph,
            custom_id="prompt",
            max_length=limit,
            placeholder=t(placeholder, loc),
            default=(job.text[:limit] or None) if variation else None,
            required=not (variation and job.kind is Kind.STORYBOARD),  # a storyboard's prompt is optional
        )
        self.add_item(self.prompt)

    async def on_submit(self, interaction: discord.Interaction, /) -> None:
        made = await self.engine.admission.made_by(self.once_key)
        if made is not None:
            raise AlreadyMade(made)
        job, text = self.job, self.prompt.value
        if self.action == "remix":
            request: AnyRequest = member_jobs.remix_request(job, text)
        else:
            request = member_jobs.variation_request(job, text)
        await ask_to_confirm(
            self.engine, interaction, Ask(self.action, job, request, self.riff, self.once_key)
        )

    async def on_error(self, interaction: discord.Interaction, error: Exception, /) -> None:  # type: ignore[override]
        await respond_error(interaction, error)


# ---- the question -----------------------------------------------------------------------------------


async def ask_to_confirm(engine: Engine, interaction: discord.Interaction, ask: Ask) -> None:
    """Price the riff for the presser and ask them, ephemerally; nothing is held before Confirm."""
    assert interaction.guild_id is not None
    quote = await engine.admission.quote(ask.request, interaction.guild_id, ask.job.profile)
    await engine.admission.precheck(interaction.guild_id, interaction.user.id, quote)
    balance = await engine.admission.balance(interaction.guild_id, interaction.user.id)
    await interaction.response.send_message(
        question(ask, quote, balance, interaction.locale),
        view=ConfirmRiff(engine, ask, quote, interaction),
        ephemeral=True,
        allowed_mentions=NONE,
    )


def question(ask: Ask, quote: Quote, balance: int, locale: object) -> str:
    job = ask.job
    common = {
        "id": job.id,
        "model": quote.label or quote.model,
        "duration": ask.request.duration,
        "orientation": render.orientation_word(ask.request.orientation.value, locale),
        "cost": quote.cost,
        "balance": balance,
    }
    prompt = inert(
        " ".join(getattr(ask.request, member_jobs.text_field(job), "").split()), PROMPT_IN_QUESTION
    )
    return t(QUESTIONS[ask.action], locale, prompt=prompt, **common)


class ConfirmRiff(discord.ui.View):
    """Confirm or Cancel under the question; only the member asked may press them."""

    def __init__(self, engine: Engine, ask: Ask, quote: Quote, asked: discord.Interaction) -> None:
        super().__init__(timeout=CONFIRM_TIMEOUT)
        self.engine, self.ask, self.quote, self.asked = engine, ask, quote, asked
        self.locale = asked.locale
        self.confirm.label = t("again.confirm", self.locale)
        self.cancel.label = t("again.cancel", self.locale)

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        return interaction.user.id == self.asked.user.id

    async def on_timeout(self) -> None:
        if await self.engine.admission.made_by(self.ask.once_key) is not None:
            return  # confirmed: the question already says which job it made
        with contextlib.suppress(discord.HTTPException):
            await self.asked.edit_original_response(
                content=t(ENDINGS[self.ask.action][0], self.locale), view=None
            )

    @discord.ui.button(label="Confirm", style=discord.ButtonStyle.success)
    async def confirm(self, interaction: discord.Interaction, _button: discord.ui.Button[Any]) -> None:
        # The view stays listening until it times out: a second press is answered ("already made"),
        # never left to fail, and the key in the database keeps it from making a second job.
        admission, key = self.engine.admission, self.ask.once_key
        try:
            assert interaction.guild_id is not None
            made = await admission.made_by(key)
            if made is not None:
                raise AlreadyMade(made)
            await require_allowed(self.engine, interaction)  # the rules may have changed since the press
            await admission.precheck(interaction.guild_id, interaction.user.id, self.quote)
            callback = await interaction.response.defer(thinking=True)
            origin = dataclasses.replace(origin_from(interaction, callback), riff=self.ask.riff)
            new = await admission.enqueue(origin, self.ask.request, self.quote.profile, once_key=key)
        except Exception as exc:
            made = None if isinstance(exc, AlreadyMade) else await admission.made_by(key)
            await respond_error(interaction, AlreadyMade(made) if made is not None else exc)
            return
        try:
            await self.asked.edit_original_response(
                content=t("again.queued", self.locale, id=new.id, cost=self.quote.cost), view=None
            )
        except discord.HTTPException:
            log.info("job %s: could not update the riff's confirmation", new.id)

    @discord.ui.button(label="Cancel", style=discord.ButtonStyle.secondary)
    async def cancel(self, interaction: discord.Interaction, _button: discord.ui.Button[Any]) -> None:
        made = await self.engine.admission.made_by(self.ask.once_key)
        if made is not None:
            await respond_error(interaction, AlreadyMade(made))
            return
        self.stop()
        await interaction.response.edit_message(
            content=t(ENDINGS[self.ask.action][1], self.locale), view=None
        )
