"""What a job costs in member credits.

Prices are per ``PricePoint`` — a model at a duration, with its resolution and audio where the model
has them — so a model's numbers live only in its adapter's table. Order of precedence: the server's
explicit price for this profile and point; otherwise the profile's price (``prices`` in the profiles
file, keyed by ``PricePoint.key()``) or the vendor's documented table, times the server's multiplier
(rounded up, so a multiplier never makes a paid job free).
"""

from __future__ import annotations

import math

from bot.errors import UserError
from bot.providers.capabilities import ModelSpec, PricePoint
from bot.providers.profiles import ProviderProfile
from storage.guilds import GuildSettings


class PriceUnknown(UserError):
    """No price is configured for this combination: an operator must add one."""

    def __init__(self, profile: str, point: PricePoint) -> None:
        super().__init__("errors.price_unknown", profile=profile, point=point.key())


def guild_price_key(profile: str, point: PricePoint) -> str:
    return f"{profile}:{point.key()}"


def cost_of(
    profile: ProviderProfile, spec: ModelSpec, point: PricePoint, guild: GuildSettings | None = None
) -> int:
    """Credits for one job at ``point`` on ``profile``'s model ``spec``."""
    if guild is not None:
        explicit = guild.prices.get(guild_price_key(profile.name, point))
        if explicit is not None:
            return explicit
    base = profile.prices.get(point.key())
    if base is None:
        base = spec.prices.get(point)
    if base is None:
        raise PriceUnknown(profile.name, point)
    multiplier = guild.price_multiplier if guild is not None else 1.0
    return math.ceil(base * multiplier - 1e-9)
