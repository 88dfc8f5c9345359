"""What an OpenAI-compatible ``/v1/videos`` reseller offers: models, sizes, options and prices.

Unlike nanophoto's tiers, the model names and ``seconds`` are open-ended configuration (C1, C3 in
docs/vendors.md, "OpenAI-compatible /v1/videos"): a profile names whatever its reseller accepts, and
we default to OpenAI's documented ``sora-2``/``sora-2-pro`` at 10 and 15 s. The rules that depend
on the model or on option values live in the capabilities rather than in ``submit`` because the
engine validates through ``capabilities.validate_request`` before anything is charged:

- C1: a model counts as "pro" when a ``-``/``_`` separated part of its name is ``pro``; only pro
  models get the 1024x1792 / 1792x1024 sizes (``options.high_quality``).
- ``character_url`` comes with ``character_timestamps`` 1-3 s apart; a remix takes no options.

Pricing is not documented for lconai. ``default_prices`` is therefore a *reference* table in member
credits — the nanophoto prices of the comparable Sora 2 tier (standard 4/8, pro 60/100 for 10/15 s;
per second otherwise) — so a profile works out of the box; set the profile's ``prices`` to what the
reseller really charges.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Literal

from pydantic import Field

from bot.errors import InvalidRequest
from bot.i18n import msg
from bot.providers.base import AnyRequest, Kind, Orientation, RemixRequest
from bot.providers.capabilities import Capabilities, ModelSpec, PricePoint
from bot.providers.profiles import ProfileError

OPENAI_VIDEOS_MODELS: tuple[str, ...] = ("sora-2", "sora-2-pro")
OPENAI_VIDEOS_DEFAULT_MODEL = "sora-2"
OPENAI_VIDEOS_DURATIONS: tuple[int, ...] = (10, 15)
OPENAI_VIDEOS_OPTIONS = frozenset({"watermark", "private", "high_quality", "character"})

Size = Literal["720x1280", "1280x720", "1024x1792", "1792x1024"]
SIZES: dict[tuple[bool, Orientation], Size] = {
    (False, Orientation.PORTRAIT): "720x1280",
    (False, Orientation.LANDSCAPE): "1280x720",
    (True, Orientation.PORTRAIT): "1024x1792",
    (True, Orientation.LANDSCAPE): "1792x1024",
}
# Reference member credits (see the module docstring): by (is pro, seconds), else per second.
REFERENCE_PRICES: dict[tuple[bool, int], int] = {
    (False, 10): 4,
    (False, 15): 8,
    (True, 10): 60,
    (True, 15): 100,
}
REFERENCE_PER_SECOND: dict[bool, float] = {False: 0.5, True: 6.5}
CHARACTER_SPAN = (1.0, 3.0)  # seconds between character_start and character_end


def is_pro_model(model: str) -> bool:
    """``sora-2-pro``, ``sora-2-pro-2025-10-06``, ``sora_video2-pro``: a name part ``pro``."""
    return "pro" in model.lower().replace("_", "-").split("-")


def reference_price(model: str, seconds: int) -> int:
    """Member credits for a video when the profile names no price (see the module docstring)."""
    pro = is_pro_model(model)
    known = REFERENCE_PRICES.get((pro, seconds))
    return known if known is not None else max(1, math.ceil(seconds * REFERENCE_PER_SECOND[pro]))


class OpenAIVideosCapabilities(Capabilities):
    """``Capabilities`` plus the rules that depend on the model and on option values."""

    pro_models: frozenset[str] = frozenset()
    sizes: dict[str, frozenset[str]] = Field(default_factory=dict)  # a model's own sizes, where named

    def validate_request(self, req: AnyRequest) -> None:
        super().validate_request(req)
        opts = req.options
        if isinstance(req, RemixRequest):
            if not req.source_remote_id.strip():
                raise InvalidRequest("source", "invalid.empty", msg("allowed.finished_video_id"))
            chosen = sorted(opts.chosen())
            if chosen:
                raise InvalidRequest(chosen[0], "invalid.not_on_remix", msg("allowed.unset"))
            return
        model = self.resolve_model(req)
        if opts.high_quality and model not in self.pro_models:
            pro = ", ".join(sorted(self.pro_models))
            raise InvalidRequest(
                "high_quality",
                "invalid.needs_pro",
                msg("allowed.off_or_pro", tiers=pro) if pro else msg("allowed.off_no_pro"),
                model=model,
            )
        own = self.sizes.get(model)
        size = SIZES[(bool(opts.high_quality) and model in self.pro_models, req.orientation)]
        if own is not None and size not in own:
            raise InvalidRequest(
                "high_quality" if opts.high_quality else "orientation",
                "invalid.size_not_offered",
                ", ".join(sorted(own)),
                value=size,
                model=model,
            )
        if "character" in opts.chosen():
            _check_character(opts.character_url, opts.character_start, opts.character_end)


def _check_character(url: str | None, start: float | None, end: float | None) -> None:
    low, high = CHARACTER_SPAN
    if not url or not url.strip():
        raise InvalidRequest("character_url", "invalid.missing", msg("allowed.character_url"))
    if not url.startswith(("http://", "https://")):
        raise InvalidRequest("character_url", "invalid.not_web_link", msg("allowed.video_link"))
    if start is None or not math.isfinite(start) or start < 0:
        raise InvalidRequest("character_start", "invalid.not_a_time", msg("allowed.character_start"))
    if end is None or not math.isfinite(end):
        raise InvalidRequest(
            "character_end",
            "invalid.not_a_time",
            msg("allowed.character_span", low=f"{low:g}", high=f"{high:g}"),
        )
    span = end - start
    if not (low - 1e-9 <= span <= high + 1e-9):
        raise InvalidRequest(
            "character_end",
            "invalid.span_after_start",
            msg("allowed.character_span", low=f"{low:g}", high=f"{high:g}"),
            span=f"{span:g}",
        )


def openai_videos_capabilities(
    models: tuple[str, ...] | None = None,
    durations: tuple[int, ...] | None = None,
    *,
    profile: str = "?",
    per_model: Mapping[str, tuple[int, ...]] | None = None,
    sizes: Mapping[str, tuple[str, ...]] | None = None,
) -> OpenAIVideosCapabilities:
    """The reseller's models/durations, replaced by a profile's ``models``/``durations`` when given:
    any model name and any positive number of seconds the reseller accepts (C1, C3). ``per_model``
    gives one model its own durations (a reseller whose ``sora-2-pro`` takes 15/25 s while
    ``sora-2`` takes 10/15); ``sizes`` one model its own sizes (its aspect ratios follow, and the
    large sizes make it a pro model whatever its name)."""
    names = OPENAI_VIDEOS_MODELS if models is None else tuple(models)
    if not names or any(not m.strip() for m in names):
        raise ProfileError(f"profile `{profile}`: field `models`: needs at least one non-empty model name")
    own = dict(per_model or {})
    unknown = sorted(set(own) - set(names))
    if unknown:
        raise ProfileError(
            f"profile `{profile}`: field `model_durations`: {', '.join(unknown)} is not one of the "
            f"profile's models ({', '.join(names)})"
        )
    own_sizes = _checked_sizes(sizes or {}, names, profile)
    specs: list[ModelSpec] = []
    for name in names:
        secs = own.get(name) or (OPENAI_VIDEOS_DURATIONS if durations is None else tuple(durations))
        if not secs or any(d <= 0 for d in secs):
            field = "model_durations" if name in own else "durations"
            raise ProfileError(
                f"profile `{profile}`: field `{field}`: needs positive numbers of seconds (e.g. 10, 15)"
            )
        specs.append(
            ModelSpec(
                name=name,
                label=name,
                family="sora" if "sora" in name.lower() else name,  # resellers sell other models too
                kinds=frozenset({Kind.TEXT, Kind.IMAGE, Kind.REMIX}),
                durations=tuple(secs),
                orientations=_orientations(own_sizes.get(name)),
                switches=OPENAI_VIDEOS_OPTIONS,  # ``high_quality`` on a non-pro model: refused below
                # lconai documents no prices: reference credits, overridden by the profile's ``prices``.
                prices={PricePoint(name, d): reference_price(name, d) for d in secs},
            )
        )
    return OpenAIVideosCapabilities(
        specs=tuple(specs),
        default_model=OPENAI_VIDEOS_DEFAULT_MODEL if OPENAI_VIDEOS_DEFAULT_MODEL in names else names[0],
        pro_models=frozenset(m for m in names if _is_pro(m, own_sizes.get(m))),
        sizes={m: frozenset(v) for m, v in own_sizes.items()},
    )


def _checked_sizes(
    sizes: Mapping[str, tuple[str, ...]], names: tuple[str, ...], profile: str
) -> dict[str, tuple[str, ...]]:
    known = set(SIZES.values())
    for model, given in sizes.items():
        if model not in names:
            raise ProfileError(
                f"profile `{profile}`: field `model_sizes`: {model} is not one of the profile's models"
            )
        bad = [s for s in given if s not in known]
        if bad or not given:
            raise ProfileError(
                f"profile `{profile}`: field `model_sizes`: {model} takes sizes from {', '.join(sorted(known))}"
                + (f"; unknown: {', '.join(bad)}" if bad else "; the list is empty")
            )
    return dict(sizes)


def _orientations(sizes: tuple[str, ...] | None) -> tuple[Orientation, ...]:
    if sizes is None:
        return (Orientation.PORTRAIT, Orientation.LANDSCAPE)
    return tuple(o for o in Orientation if any(SIZES[(pro, o)] in sizes for pro in (False, True)))


def _is_pro(model: str, sizes: tuple[str, ...] | None) -> bool:
    if sizes is None:
        return is_pro_model(model)
    return any(SIZES[(True, o)] in sizes for o in Orientation)
