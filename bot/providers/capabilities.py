"""What one profile can make, model by model: the only place a model's numbers live.

Models come and go, so nothing above the adapters may know a model's name, its durations or its
prices. Each adapter describes its models as ``ModelSpec`` values — kinds, durations, aspect ratios,
resolutions, switches, image roles, shot rules, prompt length and the vendor's price table — and
commands, autocomplete, validation and pricing read them from here. ``Capabilities`` is one
profile's set of specs; its ``validate_request`` runs before anything is charged and names what the
chosen model allows.

``allows`` answers the same question for a request still being typed (autocomplete): which values of
one option fit the options already chosen.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from bot.errors import InvalidRequest
from bot.i18n import Msg, msg
from bot.providers.base import (
    MAX_PROMPT_CHARS,
    AnyRequest,
    ImageToVideo,
    Kind,
    Orientation,
    ReferenceToVideo,
    StoryboardRequest,
    TvcRequest,
    is_blank,
)

SWITCHES = frozenset({"watermark", "private", "high_quality", "character", "audio", "fixed_lens"})


@dataclass(frozen=True, order=True)
class PricePoint:
    """One priced combination: a model at a duration, with a resolution and audio where they matter.

    ``key()`` is how an operator writes it in a profile's ``prices`` (``"sora2:10"``,
    ``"veo-3.1:16:720p"``, ``"seedance-1.5-pro:8:720p:audio"``).
    """

    model: str
    duration: int
    resolution: str | None = None
    audio: bool = False

    def key(self) -> str:
        parts = [self.model, str(self.duration)]
        if self.resolution:
            parts.append(self.resolution)
        if self.audio:
            parts.append("audio")
        return ":".join(parts)


class ShotRules(BaseModel):
    """How a multi-shot model takes its shots.

    ``seconds_per_shot``: every shot has this fixed length (the video is shots × seconds); ``None``:
    the member gives each shot's length and they must add up to one of ``totals`` (empty: the
    model's ``durations``).
    ``multi_shot_resolutions``: the resolutions allowed with more than one shot (empty: any).
    """

    model_config = ConfigDict(frozen=True)

    max_shots: int = Field(gt=0)
    seconds_per_shot: int | None = None
    totals: tuple[int, ...] = ()
    multi_shot_resolutions: tuple[str, ...] = ()

    def durations(self, single: Iterable[int]) -> tuple[int, ...]:
        if self.seconds_per_shot is None:
            return self.totals or tuple(single)
        return tuple(self.seconds_per_shot * n for n in range(1, self.max_shots + 1))


class ModelSpec(BaseModel):
    """One model as a profile offers it. ``name`` is what members choose and prices are keyed by;
    ``label`` is what they read; ``family`` groups models a command may be limited to."""

    model_config = ConfigDict(frozen=True)

    name: str
    label: str
    family: str
    kinds: frozenset[Kind]
    durations: tuple[int, ...]
    orientations: tuple[Orientation, ...] = (Orientation.PORTRAIT, Orientation.LANDSCAPE)
    resolutions: tuple[str, ...] = ()  # empty: the model has no resolution choice
    default_resolution: str | None = None
    switches: frozenset[str] = frozenset()  # names from ``Options.chosen()`` this model accepts
    end_frame: bool = False  # image-to-video may also take a last frame
    max_references: int = 0  # reference images for ``Kind.REFERENCE``
    shots: ShotRules | None = None  # set when the model makes storyboards
    max_prompt_chars: int = MAX_PROMPT_CHARS
    prices: Mapping[PricePoint, int] = Field(default_factory=dict)  # the vendor's own table
    retired: bool = False

    def durations_for(self, kind: Kind) -> tuple[int, ...]:
        if kind is Kind.STORYBOARD and self.shots is not None:
            return self.shots.durations(self.durations)
        return self.durations

    def price_point(self, req: AnyRequest) -> PricePoint:
        resolution = (req.resolution or self.default_resolution) if self.resolutions else None
        return PricePoint(self.name, req.duration, resolution, bool(req.options.audio))

    def price_points(self) -> list[PricePoint]:
        """Every combination this model can be asked for, in the order a price list shows them."""
        kinds_durations = sorted({d for k in self.kinds for d in self.durations_for(k)})
        resolutions: tuple[str | None, ...] = self.resolutions or (None,)
        audio = (False, True) if "audio" in self.switches else (False,)
        points = [PricePoint(self.name, d, r, a) for r in resolutions for a in audio for d in kinds_durations]
        return [p for p in points if self._combination_ok(p)]

    def _combination_ok(self, point: PricePoint) -> bool:
        if self.shots is None or self.shots.seconds_per_shot is None or not self.shots.multi_shot_resolutions:
            return True
        single = point.duration <= self.shots.seconds_per_shot
        return single or point.resolution in self.shots.multi_shot_resolutions


class Capabilities(BaseModel):
    """One profile's models. ``validate_request`` raises ``InvalidRequest`` naming the first field
    the chosen model does not accept, and what it does."""

    model_config = ConfigDict(frozen=True)

    specs: tuple[ModelSpec, ...] = Field(min_length=1)
    default_model: str
    # The vendor downloads a member's image itself from a public URL (True), rather than being sent
    # the bytes inline (False): an image must then be reachable from the internet, not a local file.
    image_by_url: bool = False

    # ------------------------------------------------------------------ the offer, read

    @property
    def models(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.specs)

    @property
    def live_models(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.specs if not s.retired)

    @property
    def kinds(self) -> frozenset[Kind]:
        return frozenset(k for s in self.specs if not s.retired for k in s.kinds)

    @property
    def durations(self) -> tuple[int, ...]:
        """Every duration of any model and kind, in order: for summaries, not validation."""
        return tuple(sorted({d for s in self.specs for k in s.kinds for d in s.durations_for(k)}))

    def spec(self, model: str) -> ModelSpec:
        for spec in self.specs:
            if spec.name == model:
                return spec
        raise InvalidRequest("model", "invalid.value_not_known", ", ".join(self.live_models), value=model)

    def models_for(self, kind: Kind) -> tuple[str, ...]:
        return tuple(s.name for s in self.specs if kind in s.kinds and not s.retired)

    def resolve_model(self, req: AnyRequest) -> str:
        """The request's model, else ``default_for`` its kind."""
        return req.model or self.default_for(req.kind)

    def default_for(self, kind: Kind) -> str:
        """The profile's default model when it makes ``kind``, else the first live one that does."""
        default = self.spec(self.default_model)
        if kind in default.kinds and not default.retired:
            return self.default_model
        offering = self.models_for(kind)
        return offering[0] if offering else self.default_model

    # ------------------------------------------------------------------ validation

    def validate_request(self, req: AnyRequest) -> None:
        spec = self.spec(self.resolve_model(req))
        if spec.retired:
            raise InvalidRequest(
                "model",
                "invalid.model_retired",
                ", ".join(self.live_models) or msg("common.none"),
                value=spec.label,
            )
        offering = [s.label for s in self.specs if req.kind in s.kinds and not s.retired]
        if not offering:
            kinds = ", ".join(sorted(k.value for k in self.kinds))
            raise InvalidRequest("kind", "invalid.value_not_offered_by_provider", kinds, value=req.kind.value)
        if req.kind not in spec.kinds:
            raise InvalidRequest(
                "model",
                "invalid.model_cannot_make",
                ", ".join(offering) or msg("common.none"),
                value=spec.label,
                kind=msg(f"kind.words.{req.kind.value}"),
            )
        _check_text(spec, req)
        _check_duration(spec, req)
        _check_choices(spec, req)
        _check_images(spec, req)
        if isinstance(req, StoryboardRequest):
            _check_shots(spec, req)

    def allows(self, model: str, kind: Kind, **chosen: Any) -> bool:
        """Whether the options ``chosen`` so far (``duration``, ``orientation``, ``resolution``,
        ``audio``, ``shots``…) fit ``model`` for ``kind``: autocomplete's filter."""
        try:
            spec = self.spec(model)
        except InvalidRequest:
            return False
        if spec.retired or kind not in spec.kinds:
            return False
        duration = chosen.get("duration")
        if duration is not None and duration not in spec.durations_for(kind):
            return False
        orientation = chosen.get("orientation")
        if orientation is not None and orientation not in spec.orientations:
            return False
        resolution = chosen.get("resolution")
        if resolution is not None and resolution not in spec.resolutions:
            return False
        for switch in ("audio", "fixed_lens", "watermark", "private", "high_quality"):
            if chosen.get(switch) is not None and switch not in spec.switches:
                return False
        rules = spec.shots
        if (
            kind is Kind.STORYBOARD
            and rules is not None
            and rules.seconds_per_shot
            and resolution is not None
        ):
            shots = chosen.get("shots") or (duration or 0) // rules.seconds_per_shot
            multi = rules.multi_shot_resolutions
            if shots > 1 and multi and resolution not in multi:
                return False  # e.g. 1080p on a 16-second (two-shot) storyboard
        return True


def _seconds(values: Iterable[int]) -> str:
    return ", ".join(f"{d} s" for d in values)


def _check_text(spec: ModelSpec, req: AnyRequest) -> None:
    prompt = req.ad_theme if isinstance(req, TvcRequest) else getattr(req, "prompt", "")
    field = "theme" if isinstance(req, TvcRequest) else "prompt"
    limit = spec.max_prompt_chars
    if req.kind is not Kind.STORYBOARD and is_blank(prompt or ""):
        raise InvalidRequest(field, "invalid.empty", msg("allowed.chars_from_one", max=limit))
    if prompt and len(prompt) > limit:
        raise InvalidRequest(
            field, "invalid.chars_long", msg("allowed.at_most_chars", max=limit), length=len(prompt)
        )


def _check_duration(spec: ModelSpec, req: AnyRequest) -> None:
    if isinstance(req, StoryboardRequest) and spec.shots is not None and spec.shots.seconds_per_shot:
        return  # the shot count sets the length: checked with the shots
    allowed = spec.durations_for(req.kind)
    if req.duration not in allowed:
        raise InvalidRequest(
            "duration",
            "invalid.seconds_not_offered_by",
            _seconds(allowed),
            seconds=req.duration,
            model=spec.label,
        )


def _check_choices(spec: ModelSpec, req: AnyRequest) -> None:
    if req.orientation not in spec.orientations:
        raise InvalidRequest(
            "aspect",
            "invalid.value_not_offered_by",
            ", ".join(o.value for o in spec.orientations),
            value=req.orientation.value,
            model=spec.label,
        )
    if req.resolution is not None and req.resolution not in spec.resolutions:
        allowed: str | Msg = ", ".join(spec.resolutions) or msg("common.none")
        raise InvalidRequest(
            "resolution", "invalid.value_not_offered_by", allowed, value=req.resolution, model=spec.label
        )
    unsupported = sorted(req.options.chosen() - spec.switches)
    if unsupported:
        offered: str | Msg = ", ".join(sorted(spec.switches)) or msg("common.none")
        raise InvalidRequest(unsupported[0], "invalid.switch_not_offered_by", offered, model=spec.label)


def _check_images(spec: ModelSpec, req: AnyRequest) -> None:
    if isinstance(req, ImageToVideo) and req.end_image_url is not None and not spec.end_frame:
        raise InvalidRequest("end_image", "invalid.no_end_frame", msg("allowed.one_image"), model=spec.label)
    if isinstance(req, ReferenceToVideo):
        count = len(req.image_urls)
        if not 1 <= count <= spec.max_references:
            raise InvalidRequest(
                "reference",
                "invalid.image_count",
                msg("allowed.images_from_one", max=spec.max_references),
                count=count,
                model=spec.label,
            )


def _check_shots(spec: ModelSpec, req: StoryboardRequest) -> None:
    rules = spec.shots
    assert rules is not None  # a model without shot rules does not make storyboards (kinds)
    count = len(req.shots)
    if not 1 <= count <= rules.max_shots:
        raise InvalidRequest(
            "shots", "invalid.shot_count", msg("allowed.shots_up_to", max=rules.max_shots), count=count
        )
    for n, shot in enumerate(req.shots, start=1):
        if is_blank(shot.scene):
            raise InvalidRequest(f"shot {n} scene", "invalid.empty", msg("allowed.shot_scene"))
        if len(shot.scene) > spec.max_prompt_chars:
            raise InvalidRequest(
                f"shot {n} scene",
                "invalid.chars_long",
                msg("allowed.at_most_chars", max=spec.max_prompt_chars),
                length=len(shot.scene),
            )
    if rules.seconds_per_shot:
        if req.duration != rules.seconds_per_shot * count:
            raise InvalidRequest(
                "duration",
                "invalid.fixed_shot_length",
                msg("allowed.shot_seconds", seconds=rules.seconds_per_shot),
                seconds=req.duration,
                count=count,
            )
        resolution = req.resolution or spec.default_resolution
        if count > 1 and rules.multi_shot_resolutions and resolution not in rules.multi_shot_resolutions:
            raise InvalidRequest(
                "resolution",
                "invalid.resolution_single_shot",
                ", ".join(rules.multi_shot_resolutions),
                value=resolution,
                count=count,
            )
        return
    for n, shot in enumerate(req.shots, start=1):
        if not shot.duration > 0:
            raise InvalidRequest(
                f"shot {n} duration",
                "invalid.is_seconds",
                msg("allowed.more_than_zero"),
                seconds=f"{shot.duration:g}",
            )
    total = sum(s.duration for s in req.shots)
    if abs(total - req.duration) > 1e-6:
        raise InvalidRequest(
            "shots",
            "invalid.shots_total",
            msg("allowed.shots_total", total=req.duration),
            sum=f"{total:g}",
            total=req.duration,
        )


def uniform(
    names: Iterable[str],
    *,
    labels: Mapping[str, str],
    family: str,
    prices: Mapping[tuple[str, int], int] | None = None,
    **common: Any,
) -> tuple[ModelSpec, ...]:
    """Specs for models that differ only in name and price (one vendor's tiers)."""
    table = prices or {}
    return tuple(
        ModelSpec(
            name=name,
            label=labels.get(name, name),
            family=family,
            prices={PricePoint(m, d): c for (m, d), c in table.items() if m == name},
            **common,
        )
        for name in names
    )
