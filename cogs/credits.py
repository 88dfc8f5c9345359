"""``/credits`` for members and ``/credits-admin`` for managers: parse, call ``Credits``, render."""

from __future__ import annotations

import io
from typing import Literal

import discord
from discord import app_commands

from bot.engine.credits import MAX_AMOUNT, Credits, HistoryPage
from storage.ledger import Entry

NONE = discord.AllowedMentions.none()
KIND_WORDS = {
    "grant": "granted",
    "hold": "held",
    "capture": "spent",
    "release": "returned",
    "adjust": "adjusted",
}


def is_manager(interaction: discord.Interaction) -> bool:
    return bool(interaction.permissions.manage_guild)


def entry_line(entry: Entry, jobs: dict[int, str]) -> str:
    sign = "+" if entry.amount > 0 else ""
    amount = f"`{sign}{entry.amount}`" if entry.amount else "`±0`"
    what = KIND_WORDS.get(entry.kind, entry.kind)
    detail = ""
    if entry.job_id is not None:
        detail = f" · job #{entry.job_id}" + (f" ({jobs[entry.job_id]})" if entry.job_id in jobs else "")
    if entry.reason and entry.kind in ("grant", "adjust"):
        detail += f" · {discord.utils.escape_markdown(entry.reason)}"
    return f"{amount} {what}{detail} · <t:{int(entry.created_at)}:R>"


def history_embed(member: discord.abc.User, page: HistoryPage) -> discord.Embed:
    lines = [entry_line(e, page.jobs) for e in page.entries] or ["No entries yet."]
    embed = discord.Embed(title=f"Credit history — {member.display_name}", description="\n".join(lines))
    embed.set_footer(text=f"Page {page.page + 1} of {page.pages} · newest first")
    return embed


class HistoryView(discord.ui.View):
    """Older/Newer buttons; only the member who asked can turn the pages."""

    def __init__(
        self, credits: Credits, owner_id: int, member: discord.abc.User, guild_id: int, page: HistoryPage
    ):
        super().__init__(timeout=300)
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
            await interaction.response.send_message("These buttons belong to someone else.", ephemeral=True)
            return False
        return True

    async def _turn(self, interaction: discord.Interaction, delta: int) -> None:
        self.page = await self.credits.history(
            self.guild_id,
            self.member.id,
            self.page.page + delta,
            actor_id=interaction.user.id,
            is_manager=is_manager(interaction),
        )
        self._sync()
        await interaction.response.edit_message(embed=history_embed(self.member, self.page), view=self)

    @discord.ui.button(label="Newer", emoji="◀️", style=discord.ButtonStyle.secondary)
    async def newer(self, interaction: discord.Interaction, _: discord.ui.Button[HistoryView]) -> None:
        await self._turn(interaction, -1)

    @discord.ui.button(label="Older", emoji="▶️", style=discord.ButtonStyle.secondary)
    async def older(self, interaction: discord.Interaction, _: discord.ui.Button[HistoryView]) -> None:
        await self._turn(interaction, +1)


@app_commands.guild_only()
class CreditsGroup(app_commands.Group, name="credits", description="Your credits on this server."):
    def __init__(self, credits: Credits) -> None:
        super().__init__()
        self.credits = credits

    @app_commands.command(name="balance", description="Show your credits (or a member's, for managers).")
    @app_commands.describe(member="Whose balance (managers only; default: yours).")
    async def balance(self, interaction: discord.Interaction, member: discord.Member | None = None) -> None:
        assert interaction.guild_id is not None
        who = member or interaction.user
        bal = await self.credits.balance(
            interaction.guild_id, who.id, actor_id=interaction.user.id, is_manager=is_manager(interaction)
        )
        subject = "You have" if who.id == interaction.user.id else f"{who.mention} has"
        held = f" ({bal.held} more held by videos in progress)" if bal.held else ""
        await interaction.response.send_message(
            f"{subject} **{bal.available}** credits{held}.", ephemeral=True, allowed_mentions=NONE
        )

    @app_commands.command(name="history", description="Your credit history, newest first.")
    @app_commands.describe(member="Whose history (managers only; default: yours).")
    async def history(self, interaction: discord.Interaction, member: discord.Member | None = None) -> None:
        assert interaction.guild_id is not None
        who = member or interaction.user
        page = await self.credits.history(
            interaction.guild_id, who.id, 0, actor_id=interaction.user.id, is_manager=is_manager(interaction)
        )
        view = HistoryView(self.credits, interaction.user.id, who, interaction.guild_id, page)
        await interaction.response.send_message(
            embed=history_embed(who, page), view=view, ephemeral=True, allowed_mentions=NONE
        )

    @app_commands.command(name="prices", description="What each video costs on this server.")
    async def prices(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None
        rows = await self.credits.prices(interaction.guild_id)
        lines = [f"`{model}` · {duration} s — **{cost}** credits" for model, duration, cost in rows]
        embed = discord.Embed(title="Prices", description="\n".join(lines) or "No prices configured.")
        embed.set_footer(text="Credits are held when a video is queued and returned if it fails.")
        await interaction.response.send_message(embed=embed, ephemeral=True)


Amount = app_commands.Range[int, 1, MAX_AMOUNT]


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class CreditsAdminGroup(app_commands.Group, name="credits-admin", description="Manage members' credits."):
    def __init__(self, credits: Credits) -> None:
        super().__init__()
        self.credits = credits

    @app_commands.command(name="grant", description="Give a member credits.")
    @app_commands.describe(member="Who receives them.", amount="How many.", reason="Shown in their history.")
    async def grant(
        self,
        interaction: discord.Interaction,
        member: discord.Member,
        amount: Amount,
        reason: app_commands.Range[str, 1, 200],
    ) -> None:
        assert interaction.guild_id is not None
        new = await self.credits.grant(
            interaction.guild_id,
            member.id,
            amount,
            reason,
            actor_id=interaction.user.id,
            is_manager=is_manager(interaction),
            target_is_bot=member.bot,
        )
        await interaction.response.send_message(
            f"Granted **{amount}** credits to {member.mention} — new balance **{new}**.",
            ephemeral=True,
            allowed_mentions=NONE,
        )

    @app_commands.command(name="take", description="Take credits back from a member.")
    @app_commands.describe(member="From whom.", amount="How many.", reason="Shown in their history.")
    async def take(
        self,
        interaction: discord.Interaction,
        member: discord.Member,
        amount: Amount,
        reason: app_commands.Range[str, 1, 200],
    ) -> None:
        assert interaction.guild_id is not None
        new = await self.credits.take(
            interaction.guild_id,
            member.id,
            amount,
            reason,
            actor_id=interaction.user.id,
            is_manager=is_manager(interaction),
            target_is_bot=member.bot,
        )
        await interaction.response.send_message(
            f"Took **{amount}** credits from {member.mention} — new balance **{new}**.",
            ephemeral=True,
            allowed_mentions=NONE,
        )

    @app_commands.command(name="allowance", description="Credits every member receives each week or month.")
    @app_commands.describe(amount="Credits per member per period (0 turns it off).", period="How often.")
    async def allowance(
        self,
        interaction: discord.Interaction,
        amount: app_commands.Range[int, 0, MAX_AMOUNT],
        period: Literal["week", "month"] = "week",
    ) -> None:
        assert interaction.guild_id is not None
        await self.credits.set_allowance(
            interaction.guild_id, amount, period, is_manager=is_manager(interaction)
        )
        text = (
            f"Every member now receives **{amount}** credits each {period}."
            if amount
            else "Allowance turned off."
        )
        await interaction.response.send_message(text, ephemeral=True)

    @app_commands.command(name="multiplier", description="Scale every provider price on this server.")
    @app_commands.describe(value="1 = the provider's prices; 1.5 = 50% more; 0.5 = half.")
    async def multiplier(self, interaction: discord.Interaction, value: float) -> None:
        assert interaction.guild_id is not None
        await self.credits.set_multiplier(interaction.guild_id, value, is_manager=is_manager(interaction))
        await interaction.response.send_message(f"Prices are now ×{value:g} the provider's.", ephemeral=True)

    @app_commands.command(name="price", description="Set an explicit price for one model and duration.")
    @app_commands.describe(
        model="Model or tier.", duration="Seconds.", credits="Price (0 = back to default)."
    )
    async def price(self, interaction: discord.Interaction, model: str, duration: int, credits: int) -> None:
        assert interaction.guild_id is not None
        await self.credits.set_price(
            interaction.guild_id, model, duration, credits, is_manager=is_manager(interaction)
        )
        text = f"`{model}` · {duration} s now costs **{credits}** credits." if credits else "Price reset."
        await interaction.response.send_message(text, ephemeral=True)

    @app_commands.command(name="export", description="Download the server's credit entries as CSV.")
    @app_commands.describe(
        start="First day, YYYY-MM-DD (default: the beginning).", end="Last day (default: today)."
    )
    async def export(
        self, interaction: discord.Interaction, start: str | None = None, end: str | None = None
    ) -> None:
        assert interaction.guild_id is not None
        name, data, count = await self.credits.export(
            interaction.guild_id, start, end, is_manager=is_manager(interaction)
        )
        await interaction.response.send_message(
            f"{count} entries.", file=discord.File(io.BytesIO(data), filename=name), ephemeral=True
        )
