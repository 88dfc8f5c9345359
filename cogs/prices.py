"""Price points as members read them: ``Veo 3.1 · 16 s · 720p · audio``, grouped by model.

The rows come from the catalog (every live model of every profile), so a price list never names a
model the adapters did not describe.
"""

from __future__ import annotations

from bot.engine.catalog import PriceRow
from bot.i18n import t
from bot.providers.capabilities import PricePoint

MAX_DESCRIPTION = 4096  # Discord's limit for an embed description


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


def price_list(rows: list[PriceRow], locale: object = None) -> str:
    """One paragraph a model (its name, then each combination and cost), cut to fit an embed."""
    groups: dict[tuple[str, str], list[str]] = {}
    profiles_of: dict[str, set[str]] = {}
    for row in rows:
        profiles_of.setdefault(row.label, set()).add(row.profile)
    for row in rows:
        cost = t("prices.cost", locale, cost=row.cost)
        groups.setdefault((row.label, row.profile), []).append(
            f"{combination_words(row.point, locale)} — {cost}"
        )
    text = ""
    for (label, profile), items in groups.items():
        # The profile is named only where two of them sell a model of the same name.
        title = (
            t("prices.model", locale, model=label, profile=profile)
            if len(profiles_of[label]) > 1
            else f"**{label}**"
        )
        block = title + "\n" + "\n".join(items) + "\n\n"
        if len(text) + len(block) > MAX_DESCRIPTION - 2:
            text += "…"
            break
        text += block
    return text.strip()
