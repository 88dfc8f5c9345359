"""``/credits`` for members and ``/credits-admin`` for managers: parse, call ``Credits``, render."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import discord
from discord import app_commands

from bot.engine.credits import MAX_AMOUNT, Credits, HistoryPage
from bot.engine.views import JobView
from bot.i18n import t
from bot.providers.capabilities import PricePoint
from cogs import render
from cogs.balance import balance_text
from cogs.inert import EMBED_TITLE, inert
from cogs.launch import is_manager
from cogs.limits import fit_embed, lines_within
from cogs.prices import point_words, send_prices
from cogs.translator import L
from storage.ledger import Entry

NONE = discord.AllowedMentions.none()
# An export that is written this fast, and small enough to upload at once, is the command's answer;
# any other is acknowledged first (Discord's 3 s) and attached when ready.
EXPORT_ANSWER_WITHIN = 1.0  # seconds
EXPORT_DIRECT_BYTES = 1 << 20
ENTRY_WORDS = {kind: f"ledger.kind.{kind}" for kind in ("grant", "hold", "capture", "release", "adjust")}


def reason_words(reason: str, locale: object) -> str:
    """The reasons the bot writes itself (``welcome``, ``allowance 2026-W47``) in words; others as typed."""
    if reason == "welcome":
        return t("ledger.reason.welcome", locale)
    if reason.startswith("allowance "):
        return t("ledger.reason.allowance", locale, period=reason.removeprefix("allowance "))
    return inert(reason)


def job_label(job: JobView, locale: object) -> str:
    """`Text to video · sora2 · 10 s · done`, in the reader's language."""
    state = render.state_words(job.state, locale)
    return f"{render.kind_title(job.kind, locale)} · {job.model} · {job.duration} s · {state}"


def entry_line(entry: Entry, jobs: dict[int, JobView], locale: object = None) -> str:
    sign = "+" if entry.amount > 0 else ""
    amount = f"`{sign}{entry.amount}`" if entry.amount else "`±0`"
    what = t(ENTRY_WORDS[entry.kind], locale) if entry.kind in ENTRY_WORDS else entry.kind
    detail = ""
    if entry.job_id is not None:
        label = f" ({job_label(jobs[entry.job_id], locale)})" if entry.job_id in jobs else ""
        detail = t("ledger.job", locale, id=entry.job_id, label=label)
    if entry.reason and entry.kind in ("grant", "adjust"):
        detail += f" · {reason_words(entry.reason, locale)}"
    return f"{amount} {what}{detail} · <t:{int(entry.created_at)}:R>"


def history_embed(member: discord.abc.User, page: HistoryPage, locale: object = None) -> discord.Embed:
    lines = [entry_line(e, page.jobs, locale) for e in page.entries] or [t("ledger.empty", locale)]
    embed = discord.Embed(
        title=t("ledger.title", locale, name=inert(member.display_name, EMBED_TITLE // 2)),
        description=lines_within(lines),  # ten reasons of 200 characters, escaped, can pass 4,096
    )
    embed.set_footer(text=t("ledger.footer", locale, page=page.page + 1, pages=page.pages))
    return fit_embed(embed)


class HistoryView(discord.ui.View):
    """Older/Newer buttons; only the member who asked can turn the pages."""

    def __init__(
        self,
        credits: Credits,
        owner_id: int,
        member: discord.abc.User,
        guild_id: int,
        page: HistoryPage,
        locale: object = None,
    ):
        super().__init__(timeout=300)
        self.locale = locale
        self.newer.label = t("ledger.newer", locale)
        self.older.label = t("ledger.older", locale)
        self.credits, self.owner_id, self.member, self.guild_id, self.page = (
            credits,
            owner_id,
            member,
            guild_id,
            page,
        )
        self._sync()

    def _sync(self) -> None:
        self.newer.disabled = self.page.page == 0
        self.older.disabled = self.page.page >= self.page.pages - 1

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id != self.owner_id:
            await interaction.response.send_message(t("ledger.not_yours", interaction.locale), ephemeral=True)
            return False
        return True

    async def _turn(self, interaction: discord.Interaction, delta: int) -> None:
        self.page = await self.credits.history(
            self.guild_id,
            self.member.id,
            self.page.page + delta,
            actor_id=interaction.user.id,
            is_manager=is_manager(interaction),
            beside=self.page,
        )
        self._sync()
        await interaction.response.edit_message(
            embed=history_embed(self.member, self.page, self.locale), view=self
        )

    @discord.ui.button(label="Newer", emoji="◀️", style=discord.ButtonStyle.secondary)
    async def newer(self, interaction: discord.Interaction, _: discord.ui.Button[HistoryView]) -> None:
        await self._turn(interaction, -1)

    @discord.ui.button(label="Older", emoji="▶️", style=discord.ButtonStyle.secondary)
    async def older(self, interaction: discord.Interaction, _: discord.ui.Button[HistoryView]) -> None:
        await self._turn(interaction, +1)


@app_commands.guild_only()
class CreditsGroup(app_commands.Group, name=L("cmd.credits.name"), description=L("cmd.credits.description")):
    def __init__(self, credits: Credits) -> None:
        super().__init__()
        self.credits = credits

    @app_commands.command(
        name=L("cmd.credits.balance.name"), description=L("cmd.credits.balance.description")
    )
    @app_commands.rename(member=L("opt.member.name"))
    @app_commands.describe(member=L("cmd.credits.balance.opt.member"))
    async def balance(self, interaction: discord.Interaction, member: discord.Member | None = None) -> None:
        assert interaction.guild_id is not None
        who = member or interaction.user
        bal = await self.credits.balance(
            interaction.guild_id, who.id, actor_id=interaction.user.id, is_manager=is_manager(interaction)
        )
        mention = None if who.id == interaction.user.id else who.mention
        text = balance_text(bal, mention=mention, locale=interaction.locale)
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NONE)

    @app_commands.command(
        name=L("cmd.credits.history.name"), description=L("cmd.credits.history.description")
    )
    @app_commands.rename(member=L("opt.member.name"))
    @app_commands.describe(member=L("cmd.credits.history.opt.member"))
    async def history(self, interaction: discord.Interaction, member: discord.Member | None = None) -> None:
        assert interaction.guild_id is not None
        who = member or interaction.user
        page = await self.credits.history(
            interaction.guild_id, who.id, 0, actor_id=interaction.user.id, is_manager=is_manager(interaction)
        )
        loc = interaction.locale
        view = HistoryView(self.credits, interaction.user.id, who, interaction.guild_id, page, loc)
        await interaction.response.send_message(
            embed=history_embed(who, page, loc), view=view, ephemeral=True, allowed_mentions=NONE
        )

    @app_commands.command(name=L("cmd.credits.prices.name"), description=L("cmd.credits.prices.description"))
    async def prices(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None
        await send_prices(interaction, await self.credits.prices(interaction.guild_id))


Amount = app_commands.Range[int, 1, MAX_AMOUNT]
PERIODS: list[app_commands.Choice[str]] = [
    app_commands.Choice(name=L(f"period.choice.{p}"), value=p) for p in ("week", "month")
]


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class CreditsAdminGroup(
    app_commands.Group, name=L("cmd.credits_admin.name"), description=L("cmd.credits_admin.description")
):
    def __init__(self, credits: Credits) -> None:
        super().__init__()
        self.credits = credits

    async def _change(
        self,
        interaction: discord.Interaction,
        change: Callable[..., Awaitable[int]],
        done_key: str,
        member: discord.Member,
        amount: int,
        reason: str,
    ) -> None:
        """A grant or a take: the service decides, the member sees the new balance."""
        assert interaction.guild_id is not None
        new = await change(
            interaction.guild_id,
            member.id,
            amount,
            reason,
            actor_id=interaction.user.id,
            is_manager=is_manager(interaction),
            target_is_bot=member.bot,
        )
        await interaction.response.send_message(
            t(done_key, interaction.locale, amount=amount, member=member.mention, balance=new),
            ephemeral=True,
            allowed_mentions=NONE,
        )

    @app_commands.command(
        name=L("cmd.credits_admin.grant.name"), description=L("cmd.credits_admin.grant.description")
    )
    @app_commands.rename(
        member=L("opt.member.name"), amount=L("opt.amount.name"), reason=L("opt.reason.name")
    )
    @app_commands.describe(
        member=L("cmd.credits_admin.grant.opt.member"),
        amount=L("cmd.credits_admin.opt.amount"),
        reason=L("cmd.credits_admin.opt.reason"),
    )
    async def grant(
        self,
        interaction: discord.Interaction,
        member: discord.Member,
        amount: Amount,
        reason: app_commands.Range[str, 1, 200],
    ) -> None:
        await self._change(interaction, self.credits.grant, "credits.granted", member, amount, reason)

    @app_commands.command(
        name=L("cmd.credits_admin.take.name"), description=L("cmd.credits_admin.take.description")
    )
    @app_commands.rename(
        member=L("opt.member.name"), amount=L("opt.amount.name"), reason=L("opt.reason.name")
    )
    @app_commands.describe(
        member=L("cmd.credits_admin.take.opt.member"),
        amount=L("cmd.credits_admin.opt.amount"),
        reason=L("cmd.credits_admin.opt.reason"),
    )
    async def take(
        self,
        interaction: discord.Interaction,
        member: discord.Member,
        amount: Amount,
        reason: app_commands.Range[str, 1, 200],
    ) -> None:
        await self._change(interaction, self.credits.take, "credits.took", member, amount, reason)

    @app_commands.command(
        name=L("cmd.credits_admin.allowance.name"), description=L("cmd.credits_admin.allowance.description")
    )
    @app_commands.rename(amount=L("opt.amount.name"), period=L("opt.period.name"))
    @app_commands.describe(
        amount=L("cmd.credits_admin.allowance.opt.amount"), period=L("cmd.credits_admin.allowance.opt.period")
    )
    @app_commands.choices(period=PERIODS)
    async def allowance(
        self,
        interaction: discord.Interaction,
        amount: app_commands.Range[int, 0, MAX_AMOUNT],
        period: str = "week",
    ) -> None:
        assert interaction.guild_id is not None
        await self.credits.set_allowance(
            interaction.guild_id, amount, period, is_manager=is_manager(interaction)
        )
        loc = interaction.locale
        text = (
            t("credits.allowance_on", loc, amount=amount, period=t(f"period.{period}", loc))
            if amount
            else t("credits.allowance_off", loc)
        )
        await interaction.response.send_message(text, ephemeral=True)

    @app_commands.command(
        name=L("cmd.credits_admin.multiplier.name"), description=L("cmd.credits_admin.multiplier.description")
    )
    @app_commands.rename(value=L("opt.value.name"))
    @app_commands.describe(value=L("cmd.credits_admin.multiplier.opt.value"))
    async def multiplier(self, interaction: discord.Interaction, value: float) -> None:
        assert interaction.guild_id is not None
        await self.credits.set_multiplier(interaction.guild_id, value, is_manager=is_manager(interaction))
        await interaction.response.send_message(
            t("credits.multiplier_set", interaction.locale, value=f"{value:g}"), ephemeral=True
        )

    @app_commands.command(
        name=L("cmd.credits_admin.price.name"), description=L("cmd.credits_admin.price.description")
    )
    @app_commands.rename(
        model=L("opt.model.name"),
        duration=L("opt.duration.name"),
        credits=L("opt.credits.name"),
        resolution=L("opt.resolution.name"),
        audio=L("opt.audio.name"),
    )
    @app_commands.describe(
        model=L("cmd.credits_admin.price.opt.model"),
        duration=L("cmd.credits_admin.price.opt.duration"),
        credits=L("cmd.credits_admin.price.opt.credits"),
        resolution=L("cmd.credits_admin.price.opt.resolution"),
        audio=L("cmd.credits_admin.price.opt.audio"),
    )
    async def price(
        self,
        interaction: discord.Interaction,
        model: str,
        duration: int,
        credits: int,
        resolution: str | None = None,
        audio: bool = False,
    ) -> None:
        assert interaction.guild_id is not None
        point = PricePoint(model, duration, resolution, audio)
        await self.credits.set_price(interaction.guild_id, point, credits, is_manager=is_manager(interaction))
        loc = interaction.locale
        text = (
            t("credits.price_set", loc, point=point_words(point, loc), credits=credits)
            if credits
            else t("credits.price_reset", loc)
        )
        await interaction.response.send_message(text, ephemeral=True)

    @app_commands.command(
        name=L("cmd.credits_admin.export.name"), description=L("cmd.credits_admin.export.description")
    )
    @app_commands.rename(start=L("opt.start.name"), end=L("opt.end.name"))
    @app_commands.describe(
        start=L("cmd.credits_admin.export.opt.start"), end=L("cmd.credits_admin.export.opt.end")
    )
    async def export(
        self, interaction: discord.Interaction, start: str | None = None, end: str | None = None
    ) -> None:
        assert interaction.guild_id is not None
        span = await self.credits.export_span(
            interaction.guild_id, start, end, is_manager=is_manager(interaction)
        )  # refusals before any deferral: an ephemeral reply
        writing = asyncio.ensure_future(self.credits.export(span, upload_limit=interaction.filesize_limit))
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(writing), EXPORT_ANSWER_WITHIN)
            if not writing.done() or writing.result().size > EXPORT_DIRECT_BYTES:
                await interaction.response.defer(ephemeral=True, thinking=True)  # attach when ready
            done = await writing
            file = discord.File(done.path, filename=done.filename)
            text = t("credits.exported", interaction.locale, count=done.rows)
            if interaction.response.is_done():
                await interaction.edit_original_response(content=text, attachments=[file])
            else:
                await interaction.response.send_message(text, file=file, ephemeral=True)
        finally:
            if not writing.done():
                writing.cancel()  # the export removes its own file when cancelled
            elif not writing.cancelled() and writing.exception() is None:
                writing.result().discard()
