"""Profile ``kind`` -> adapter class. Adding a vendor is one module and one line here."""

from __future__ import annotations

from collections.abc import Callable

from bot.decoding import DecodePool
from bot.providers.adapter import VendorAdapter
from bot.providers.base import VideoProvider
from bot.providers.capabilities import Capabilities
from bot.providers.freesora import FreeSoraPro
from bot.providers.http import VendorHttp
from bot.providers.nanophoto import NanophotoSora
from bot.providers.nanophoto_seedance import NanophotoSeedance
from bot.providers.nanophoto_tvc import NanophotoTvc
from bot.providers.nanophoto_veo import NanophotoVeo
from bot.providers.openai_videos import OpenAIVideos
from bot.providers.profiles import ProfileError, ProviderProfile

ProviderFactory = Callable[[ProviderProfile, VendorHttp], VideoProvider]

PROVIDER_KINDS: dict[str, ProviderFactory] = {
    "nanophoto": NanophotoSora,
    "nanophoto_tvc": NanophotoTvc,
    "nanophoto_veo": NanophotoVeo,
    "nanophoto_seedance": NanophotoSeedance,
    "freesora": FreeSoraPro,
    "freesora-url": FreeSoraPro,  # same vendor; images sent as a public imageUrl instead of imageData
    "openai_videos": OpenAIVideos,
}


def build_provider(
    profile: ProviderProfile, http: VendorHttp, decoder: DecodePool | None = None
) -> VideoProvider:
    """The adapter for ``profile``; an unknown kind is a configuration error naming the choices.

    ``decoder`` is the process's one image-decode pool, for the adapter that decodes members'
    pictures (the others send a link or the bytes as they are); one pool for every profile keeps
    the number of pictures in memory bounded however many profiles there are.
    """
    try:
        factory = PROVIDER_KINDS[profile.kind]
    except KeyError:
        known = ", ".join(sorted(PROVIDER_KINDS))
        raise ProfileError(
            f"profile `{profile.name}`: field `kind`: `{profile.kind}` is not a known provider kind "
            f"(known: {known})"
        ) from None
    if factory is OpenAIVideos:  # it fits each picture to the video frame before sending it
        provider: VideoProvider = OpenAIVideos(profile, http, decoder=decoder)
    else:
        provider = factory(profile, http)
    if profile.retired and isinstance(provider, VendorAdapter):
        provider.capabilities = retire(provider.capabilities, profile)
    return provider


def retire(caps: Capabilities, profile: ProviderProfile) -> Capabilities:
    """``caps`` with the profile's ``retired`` models kept (old jobs name them) but never offered."""
    unknown = [m for m in profile.retired if m not in caps.models]
    if unknown:
        raise ProfileError(
            f"profile `{profile.name}`: field `retired`: {', '.join(unknown)} is not one of the profile's "
            f"models ({', '.join(caps.models)})"
        )
    specs = tuple(s.model_copy(update={"retired": s.name in profile.retired}) for s in caps.specs)
    live = [s.name for s in specs if not s.retired]
    default = caps.default_model if caps.default_model in live else (live[0] if live else caps.default_model)
    return caps.model_copy(update={"specs": specs, "default_model": default})
