"""What a job costs in member credits.

Order of precedence: the server's explicit price for this profile, model and duration; otherwise
the profile's price (``prices`` in the profiles file) or the vendor's documented table, times the
server's multiplier (rounded up, so a multiplier never makes a paid job free).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from bot.errors import UserError
from bot.providers.profiles import ProviderProfile
from storage.guilds import GuildSettings


class PriceUnknown(UserError):
    """No price is configured for this model and duration: an operator must add one."""

    def __init__(self, profile: str, model: str, duration: int) -> None:
        super().__init__("errors.price_unknown", profile=profile, model=model, duration=duration)


def guild_price_key(profile: str, model: str, duration: int) -> str:
    return f"{profile}:{model}:{duration}"


def cost_of(
    profile: ProviderProfile,
    vendor_prices: Mapping[tuple[str, int], int],
    model: str,
    duration: int,
    guild: GuildSettings | None = None,
) -> int:
    """Credits for one job. Profile override keys look like ``"sora2:10"``."""
    if guild is not None:
        explicit = guild.prices.get(guild_price_key(profile.name, model, duration))
        if explicit is not None:
            return explicit
    base = profile.prices.get(f"{model}:{duration}")
    if base is None:
        base = vendor_prices.get((model, duration))
    if base is None:
        raise PriceUnknown(profile.name, model, duration)
    multiplier = guild.price_multiplier if guild is not None else 1.0
    return math.ceil(base * multiplier - 1e-9)
