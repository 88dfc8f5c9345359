"""``/credits prices``: every model of every profile the server can use, what it makes, what it costs.

The entries come from ``bot.engine.price_sheet`` (so a price list never names a model the adapters did
not describe); here they become text — ``**Veo 3.1**``, *makes text, image, storyboard*, then one
line a combination (``16 s · 720p · audio — 32 credits``, "storyboard only" where only one kind is
made at that length, "10 credits a shot" for storyboards priced by the shot). When the whole list is
longer than one embed description (4,096 characters), it is cut between models into pages that
Previous/Next turn, so nothing is cut off.
"""

from __future__ import annotations

import discord

from bot.engine.catalog import PriceRow
from bot.engine.price_sheet import ModelPrices, sheet
from bot.i18n import t
from bot.providers.capabilities import PricePoint
from cogs.limits import lines_within

MAX_DESCRIPTION = 4096  # Discord's limit for an embed description
PAGE_TIMEOUT = 600.0


def combination_words(point: PricePoint, locale: object = None) -> str:
    """``16 s · 720p · audio``: what sets the price, beside the model."""
    parts = [t("choice.seconds", locale, seconds=point.duration)]
    if point.resolution:
        parts.append(point.resolution)
    if point.audio:
        parts.append(t("prices.with_audio", locale))
    return " · ".join(parts)


def point_words(point: PricePoint, locale: object = None, label: str | None = None) -> str:
    return f"{label or point.model} · {combination_words(point, locale)}"


def model_block(entry: ModelPrices, locale: object = None) -> str:
    """One model: its name (and profile, where two sell a model of that name), its kinds, its prices."""
    title = (
        t("prices.model", locale, model=entry.label, profile=entry.profile)
        if entry.named
        else f"**{entry.label}**"
    )
    kinds = t("list.sep", locale).join(t(f"prices.kind.{k.value}", locale) for k in entry.kinds)
    lines = [title, t("prices.makes", locale, kinds=kinds)]
    for line in entry.lines:
        only = t("prices.only", locale, kind=t(f"prices.kind.{line.only.value}", locale)) if line.only else ""
        cost = t("prices.cost", locale, cost=line.cost)
        lines.append(f"{combination_words(line.point, locale)} — {cost}{only}")
    for shot in entry.per_shot:
        point = PricePoint("", shot.seconds, shot.resolution, shot.audio)
        lines.append(
            t(
                "prices.per_shot",
                locale,
                cost=shot.cost,
                combination=combination_words(point, locale),
                max=shot.max_shots,
            )
        )
    return "\n".join(lines)


def price_pages(rows: list[PriceRow], locale: object = None, limit: int = MAX_DESCRIPTION) -> list[str]:
    """The list in pages of at most ``limit`` characters, cut between models (a model longer than a
    page alone is cut within its lines, saying so)."""
    pages: list[str] = []
    page = ""
    for entry in sheet(rows):
        block = model_block(entry, locale)
        if len(block) > limit:
            block = lines_within(block.split("\n"), limit)
        joined = f"{page}\n\n{block}" if page else block
        if len(joined) <= limit:
            page = joined
            continue
        pages.append(page)
        page = block
    if page:
        pages.append(page)
    return pages


def price_list(rows: list[PriceRow], locale: object = None) -> str:
    """The first page (the whole list when it fits one embed)."""
    pages = price_pages(rows, locale)
    return pages[0] if pages else ""


def prices_embed(pages: list[str], page: int, locale: object = None) -> discord.Embed:
    embed = discord.Embed(
        title=t("prices.title", locale), description=pages[page] if pages else t("prices.none", locale)
    )
    footer = t("prices.footer", locale)
    if len(pages) > 1:
        footer = t("prices.page", locale, page=page + 1, pages=len(pages)) + " · " + footer
    embed.set_footer(text=footer)
    return embed


class PricesView(discord.ui.View):
    """Previous/Next through a price list of several pages; only the member who asked turns them."""

    def __init__(self, pages: list[str], owner_id: int, locale: object = None) -> None:
        super().__init__(timeout=PAGE_TIMEOUT)
        self.pages, self.owner_id, self.locale, self.page = pages, owner_id, locale, 0
        self.previous.label = t("prices.previous", locale)
        self.next.label = t("prices.next", locale)
        self._sync()

    def _sync(self) -> None:
        self.previous.disabled = self.page == 0
        self.next.disabled = self.page >= len(self.pages) - 1

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        return interaction.user.id == self.owner_id

    async def _turn(self, interaction: discord.Interaction, delta: int) -> None:
        self.page = min(max(self.page + delta, 0), len(self.pages) - 1)
        self._sync()
        await interaction.response.edit_message(
            embed=prices_embed(self.pages, self.page, self.locale), view=self
        )

    @discord.ui.button(label="Previous", emoji="◀️", style=discord.ButtonStyle.secondary)
    async def previous(self, interaction: discord.Interaction, _: discord.ui.Button[PricesView]) -> None:
        await self._turn(interaction, -1)

    @discord.ui.button(label="Next", emoji="▶️", style=discord.ButtonStyle.secondary)
    async def next(self, interaction: discord.Interaction, _: discord.ui.Button[PricesView]) -> None:
        await self._turn(interaction, +1)


async def send_prices(interaction: discord.Interaction, rows: list[PriceRow]) -> None:
    """The list as an ephemeral answer, with page buttons when it takes more than one embed."""
    loc = interaction.locale
    pages = price_pages(rows, loc)
    embed = prices_embed(pages, 0, loc)
    if len(pages) > 1:
        view = PricesView(pages, interaction.user.id, loc)
        await interaction.response.send_message(embed=embed, view=view, ephemeral=True)
    else:
        await interaction.response.send_message(embed=embed, ephemeral=True)
