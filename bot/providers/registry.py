"""Profile ``kind`` -> adapter class. Adding a vendor is one module and one line here."""

from __future__ import annotations

from collections.abc import Callable

from bot.providers.base import VideoProvider
from bot.providers.freesora import FreeSoraPro
from bot.providers.http import VendorHttp
from bot.providers.nanophoto import NanophotoSora
from bot.providers.nanophoto_tvc import NanophotoTvc
from bot.providers.openai_videos import OpenAIVideos
from bot.providers.profiles import ProfileError, ProviderProfile

ProviderFactory = Callable[[ProviderProfile, VendorHttp], VideoProvider]

PROVIDER_KINDS: dict[str, ProviderFactory] = {
    "nanophoto": NanophotoSora,
    "nanophoto_tvc": NanophotoTvc,
    "freesora": FreeSoraPro,
    "freesora-url": FreeSoraPro,  # same vendor; images sent as a public imageUrl instead of imageData
    "openai_videos": OpenAIVideos,
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
