"""What the bot can make: the configured profiles, their providers, and what a job costs on them.

The one place that decides which profile and model a request uses (``resolve``): the command's
explicit choice, else the server's default profile when it makes that kind of video, else the
bot's default, else the first profile that does. Commands, autocomplete, prices, buttons, Animate
and ``generate`` all ask here, so they can never disagree about where a job goes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from bot.engine import pricing
from bot.errors import InvalidRequest, UserError
from bot.i18n import msg
from bot.providers.base import AnyRequest, Kind, VideoProvider
from bot.providers.capabilities import ModelSpec, PricePoint
from bot.providers.profiles import ProviderProfile
from storage.guilds import GuildSettings


@dataclass(frozen=True)
class Resolved:
    """Where a request goes: the profile, its provider, and the model it will be made with."""

    profile: str
    provider: VideoProvider
    model: str


@dataclass(frozen=True)
class ModelChoice:
    """One model a member may pick: on which profile, and what it can do."""

    profile: str
    spec: ModelSpec

    @property
    def value(self) -> str:
        """What a command option carries: ``profile/model``, unique even when two vendors sell one model."""
        return f"{self.profile}/{self.spec.name}"


@dataclass(frozen=True)
class PriceRow:
    profile: str
    label: str  # the model as members read it
    point: PricePoint
    cost: int
    kinds: tuple[Kind, ...] = ()  # what the model makes at this point (25 s on freesora: storyboards only)
    model_kinds: tuple[Kind, ...] = ()  # everything the model makes
    seconds_per_shot: int | None = None  # a storyboard of this model is shots of this length


# The order members read a model's kinds in: from the plainest to the most built-up.
SHOWN_ORDER: tuple[Kind, ...] = (Kind.TEXT, Kind.IMAGE, Kind.REFERENCE, Kind.STORYBOARD, Kind.TVC, Kind.REMIX)
KIND_ORDER: tuple[Kind, ...] = (*SHOWN_ORDER, *(k for k in Kind if k not in SHOWN_ORDER))


def kinds_at(spec: ModelSpec, duration: int) -> tuple[Kind, ...]:
    """The kinds ``spec`` makes at ``duration``, in ``KIND_ORDER``."""
    return tuple(k for k in KIND_ORDER if k in spec.kinds and duration in spec.durations_for(k))


class Catalog:
    def __init__(
        self,
        profiles: Mapping[str, ProviderProfile],
        providers: Mapping[str, VideoProvider],
        default_profile: str | None = None,
        is_gone: Callable[[str, str], bool] = lambda _profile, _model: False,
    ) -> None:
        if not profiles:
            raise ValueError("at least one provider profile is needed")
        self._profiles = dict(profiles)
        self._providers = dict(providers)
        self.is_gone = is_gone  # the vendor said it no longer serves this model (``Availability``)
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
        """The profile has a model, neither retired nor gone, that makes ``kind``."""
        return bool(self._live(name, kind))

    def _live(self, name: str, kind: Kind) -> list[str]:
        if name not in self._providers:
            return []
        return [m for m in self._providers[name].capabilities.models_for(kind) if not self.is_gone(name, m)]

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
        if model is not None:
            if self.is_gone(name, model):
                offered = ", ".join(c.spec.label for c in self.model_choices(kind, settings)) or msg(
                    "common.none"
                )
                raise InvalidRequest("model", "invalid.model_retired", offered, value=caps.spec(model).label)
            return Resolved(name, provider, model)
        live = self._live(name, kind)
        preferred = [settings.default_model, caps.default_for(kind), *live]
        model = next((m for m in preferred if m in live), None) or caps.default_for(kind)
        return Resolved(name, provider, model)

    def _server_order(self, settings: GuildSettings) -> list[str]:
        """Every profile, the server's default first, then the bot's."""
        preferred = [settings.default_profile] if settings.default_profile else []
        names = [*preferred, self.default_profile, *self._profiles]
        return [n for n in dict.fromkeys(names) if n in self._providers]

    def model_choices(
        self, kind: Kind, settings: GuildSettings, *, family: str | None = None
    ) -> list[ModelChoice]:
        """Every live model that makes ``kind`` (of ``family`` when given), the server's default first."""
        return [
            ModelChoice(name, spec)
            for name in self._server_order(settings)
            for spec in self._providers[name].capabilities.specs
            if not spec.retired
            and not self.is_gone(name, spec.name)
            and kind in spec.kinds
            and (family is None or spec.family == family)
        ]

    def pick(
        self, kind: Kind, settings: GuildSettings, choice: str | None = None, *, family: str | None = None
    ) -> Resolved:
        """Where a member's model ``choice`` (``profile/model``, a model name or label; ``None`` for the
        server's default) makes ``kind``. ``InvalidRequest`` names the models on offer otherwise."""
        if choice is None:
            where = self.resolve(kind, settings)
            if family is None or where.provider.capabilities.spec(where.model).family == family:
                return where
        choices = self.model_choices(kind, settings, family=family)
        if not choices:
            raise UserError("errors.no_provider_for", what=msg(f"kind.words.{kind.value}"))
        if choice is None:
            first = choices[0]
            return Resolved(first.profile, self.provider(first.profile), first.spec.name)
        wanted = choice.strip().lower()
        profile, _, model = choice.strip().partition("/")
        if model and profile in self._providers:  # a retired or gone model is refused by the quote
            spec = self._providers[profile].capabilities.spec(model)
            if kind not in spec.kinds or (family is not None and spec.family != family):
                raise InvalidRequest(
                    "model",
                    "invalid.model_cannot_make",
                    ", ".join(dict.fromkeys(c.spec.label for c in choices)),
                    value=spec.label,
                    kind=msg(f"kind.words.{kind.value}"),
                )
            return Resolved(profile, self._providers[profile], spec.name)
        for c in choices:
            if wanted in (c.spec.name.lower(), c.spec.label.lower()):
                return Resolved(c.profile, self.provider(c.profile), c.spec.name)
        offered = ", ".join(dict.fromkeys(c.spec.label for c in choices))
        raise InvalidRequest("model", "invalid.value_not_offered", offered, value=choice)

    def price(self, profile: str, point: PricePoint, settings: GuildSettings | None) -> int:
        """Member credits for one job at ``point``; ``PriceUnknown`` when neither the server, the
        profile nor the vendor's table names a price."""
        spec = self.provider(profile).capabilities.spec(point.model)
        return pricing.cost_of(self._profiles[profile], spec, point, settings)

    def price_of(self, where: Resolved, req: AnyRequest, settings: GuildSettings | None) -> int:
        """What ``req`` costs where it goes."""
        spec = where.provider.capabilities.spec(where.model)
        return self.price(
            where.profile, spec.price_point(req.model_copy(update={"model": where.model})), settings
        )

    def price_rows(self, settings: GuildSettings) -> list[PriceRow]:
        """Every model and combination this server can ask for, with what it costs here and which
        kinds of video it is the price of (``bot.engine.price_sheet`` groups them for members)."""
        rows: list[PriceRow] = []
        for name in self._server_order(settings):
            for spec in self.provider(name).capabilities.specs:
                if spec.retired or self.is_gone(name, spec.name):
                    continue
                made = tuple(k for k in KIND_ORDER if k in spec.kinds)
                per_shot = spec.shots.seconds_per_shot if spec.shots is not None else None
                for point in spec.price_points():
                    try:
                        cost = self.price(name, point, settings)
                    except pricing.PriceUnknown:
                        continue
                    at = kinds_at(spec, point.duration)
                    rows.append(PriceRow(name, spec.label, point, cost, at, made, per_shot))
        return rows

    def price_target(self, point: PricePoint, settings: GuildSettings) -> str:
        """The profile a server's explicit price for ``point`` applies to: the first profile whose
        model offers that combination. ``InvalidRequest`` naming what is offered otherwise."""
        offering = [n for n in self._profiles if point.model in self.provider(n).capabilities.live_models]
        if not offering:
            models = list(
                dict.fromkeys(m for n in self._profiles for m in self.provider(n).capabilities.live_models)
            )
            raise InvalidRequest("model", "invalid.value_not_offered", ", ".join(models), value=point.model)
        for name in offering:
            if point in self.provider(name).capabilities.spec(point.model).price_points():
                return name
        points = self.provider(offering[0]).capabilities.spec(point.model).price_points()
        durations = sorted({p.duration for p in points})
        if point.duration not in durations:
            raise InvalidRequest(
                "duration",
                "invalid.seconds_not_offered",
                ", ".join(map(str, durations)),
                seconds=point.duration,
            )
        offered = ", ".join(p.key() for p in points if p.duration == point.duration)
        raise InvalidRequest("resolution", "invalid.combination_not_offered", offered, value=point.key())
