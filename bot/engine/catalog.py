"""What the bot can make: the configured profiles, their providers, and what a job costs on them.

The one place that decides which profile and model a request uses (``resolve``): the command's
explicit choice, else the server's default profile when it makes that kind of video, else the
bot's default, else the first profile that does. Commands, autocomplete, prices, buttons, Animate
and ``generate`` all ask here, so they can never disagree about where a job goes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.engine import pricing
from bot.errors import InvalidRequest, UserError
from bot.i18n import msg
from bot.providers.base import AnyRequest, Kind, VideoProvider
from bot.providers.profiles import ProviderProfile
from storage.guilds import GuildSettings


@dataclass(frozen=True)
class Resolved:
    """Where a request goes: the profile, its provider, and the model it will be made with."""

    profile: str
    provider: VideoProvider
    model: str


@dataclass(frozen=True)
class PriceRow:
    profile: str
    model: str
    duration: int
    cost: int


class Catalog:
    def __init__(
        self,
        profiles: Mapping[str, ProviderProfile],
        providers: Mapping[str, VideoProvider],
        default_profile: str | None = None,
    ) -> None:
        if not profiles:
            raise ValueError("at least one provider profile is needed")
        self._profiles = dict(profiles)
        self._providers = dict(providers)
        self.default_profile = default_profile or next(iter(self._profiles))
        if self.default_profile not in self._profiles:
            raise ValueError(f"default profile `{self.default_profile}` is not configured")

    @property
    def profile_names(self) -> tuple[str, ...]:
        return tuple(self._profiles)

    def has(self, name: str) -> bool:
        return name in self._profiles

    def profile(self, name: str) -> ProviderProfile:
        return self._profiles[name]

    def profiles(self) -> Mapping[str, ProviderProfile]:
        return self._profiles

    def provider(self, name: str) -> VideoProvider:
        """The provider of a configured profile; ``UserError`` naming the choices when it is not one."""
        if name not in self._providers:
            available = ", ".join(sorted(self._profiles))
            raise UserError("errors.unknown_provider", name=name, available=available)
        return self._providers[name]

    def offers(self, name: str, kind: Kind) -> bool:
        return name in self._providers and kind in self._providers[name].capabilities.kinds

    def profile_for(self, kind: Kind, settings: GuildSettings) -> str:
        """The profile that makes ``kind`` for this server; ``UserError`` when no profile does."""
        preferred = [settings.default_profile] if settings.default_profile else []
        for name in [*preferred, self.default_profile, *self._profiles]:
            if self.offers(name, kind):
                return name
        raise UserError("errors.no_provider_for", what=msg(f"kind.words.{kind.value}"))

    def resolve(
        self,
        kind: Kind,
        settings: GuildSettings,
        *,
        profile: str | None = None,
        request: AnyRequest | None = None,
    ) -> Resolved:
        """The profile and model a request of ``kind`` uses.

        The profile: an explicit ``profile``, else ``profile_for``. The model: the request's own, else
        the server's default model where this profile offers it, else the provider's default for
        the request (some vendors default by kind).
        """
        name = profile or self.profile_for(kind, settings)
        provider = self.provider(name)
        caps = provider.capabilities
        model = request.model if request is not None else None
        if model is None and settings.default_model in caps.models:
            model = settings.default_model
        if model is None:
            model = caps.resolve_model(request) if request is not None else caps.default_model
        return Resolved(name, provider, model)

    def server_profiles(self, settings: GuildSettings) -> list[str]:
        """Every profile this server's commands would use, one per kind of video, without repeats."""
        names: list[str] = []
        for kind in Kind:
            try:
                name = self.profile_for(kind, settings)
            except UserError:
                continue
            if name not in names:
                names.append(name)
        return names

    def price(self, profile: str, model: str, duration: int, settings: GuildSettings | None) -> int:
        """Member credits for one job; ``PriceUnknown`` when neither the server, the profile nor the
        vendor's table names a price."""
        provider = self.provider(profile)
        return pricing.cost_of(self._profiles[profile], provider.default_prices, model, duration, settings)

    def price_rows(self, settings: GuildSettings) -> list[PriceRow]:
        """Every model and duration this server can ask for, with what it costs here."""
        rows: list[PriceRow] = []
        for name in self.server_profiles(settings):
            caps = self.provider(name).capabilities
            for model in caps.models:
                for duration in caps.durations:
                    try:
                        rows.append(
                            PriceRow(name, model, duration, self.price(name, model, duration, settings))
                        )
                    except pricing.PriceUnknown:
                        continue
        return rows

    def price_target(self, model: str, duration: int, settings: GuildSettings) -> str:
        """The profile a server's explicit price for ``model`` and ``duration`` applies to: the first of
        the server's profiles that offers both. ``InvalidRequest`` naming what is offered otherwise."""
        names = self.server_profiles(settings)
        offering = [n for n in names if model in self.provider(n).capabilities.models]
        if not offering:
            models = list(dict.fromkeys(m for n in names for m in self.provider(n).capabilities.models))
            raise InvalidRequest("model", "invalid.value_not_offered", ", ".join(models), value=model)
        for name in offering:
            if duration in self.provider(name).capabilities.durations:
                return name
        durations = sorted({d for n in offering for d in self.provider(n).capabilities.durations})
        raise InvalidRequest(
            "duration", "invalid.seconds_not_offered", ", ".join(map(str, durations)), seconds=duration
        )
