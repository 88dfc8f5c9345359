"""What a job costs in member credits: the profile's own prices first, then the vendor's table."""

from __future__ import annotations

from collections.abc import Mapping

from bot.errors import UserError
from bot.providers.profiles import ProviderProfile


class PriceUnknown(UserError):
    """No price is configured for this model and duration: an operator must add one."""

    def __init__(self, profile: str, model: str, duration: int) -> None:
        super().__init__(
            f"No price is set for {model} at {duration} s on provider `{profile}` — "
            "a server admin needs to add it to the provider profile."
        )


def cost_of(
    profile: ProviderProfile, vendor_prices: Mapping[tuple[str, int], int], model: str, duration: int
) -> int:
    """Credits for one job. Profile override keys look like ``"sora2:10"``."""
    override = profile.prices.get(f"{model}:{duration}")
    if override is not None:
        return override
    price = vendor_prices.get((model, duration))
    if price is None:
        raise PriceUnknown(profile.name, model, duration)
    return price
