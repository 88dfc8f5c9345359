"""Profile ``kind`` -> adapter class. Adding a vendor is one module and one line here."""

from __future__ import annotations

from collections.abc import Callable

from bot.providers.base import VideoProvider
from bot.providers.http import VendorHttp
from bot.providers.nanophoto import NanophotoSora
from bot.providers.profiles import ProfileError, ProviderProfile

ProviderFactory = Callable[[ProviderProfile, VendorHttp], VideoProvider]

PROVIDER_KINDS: dict[str, ProviderFactory] = {
    "nanophoto": NanophotoSora,
}


def build_provider(profile: ProviderProfile, http: VendorHttp) -> VideoProvider:
    """The adapter for ``profile``; an unknown kind is a configuration error naming the choices."""
    try:
        factory = PROVIDER_KINDS[profile.kind]
    except KeyError:
        known = ", ".join(sorted(PROVIDER_KINDS))
        raise ProfileError(
            f"profile `{profile.name}`: field `kind`: `{profile.kind}` is not a known provider kind "
            f"(known: {known})"
        ) from None
    return factory(profile, http)
