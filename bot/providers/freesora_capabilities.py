"""What freesoragenerator's ``sora-pro`` API offers: tiers, the vendor model each kind becomes, the
rules that depend on that model, and the credits it costs.

A member picks a *tier*; the vendor wants one of seven model names, derived from tier + kind
(https://freesoragenerator.com/en/sora-2-pro-api; docs/vendors.md, "freesoragenerator sora-pro"):

============  ==============================  ==============================  =========================
tier          text                            image                           storyboard
============  ==============================  ==============================  =========================
sora-2        ``sora-2-text-to-video``        ``sora-2-image-to-video``       —
sora-2-stable ``sora-2-text-to-video-stable`` ``sora-2-image-to-video-stable`` —
sora-2-pro    ``sora-2-pro-text-to-video``    ``sora-2-pro-image-to-video``   ``sora-2-pro-storyboard``
============  ==============================  ==============================  =========================

A storyboard is always ``sora-2-pro-storyboard``, so its tier resolves to ``sora-2-pro`` (which also
prices it: the vendor charges the same 375/675 credits for pro 10/15 s, and 875 for a 25 s
storyboard). A profile's ``models`` may name tiers (all their models) or single vendor model names
(e.g. to drop ``sora-2-pro-image-to-video`` only); tiers and kinds left without a model disappear.

These rules live in the capabilities rather than in ``submit`` because the engine quotes with
``validate_request``/``resolve_model`` before anything is charged. The readings they follow
(docs/vendors.md, "freesoragenerator sora-pro"): B3 (25 s is storyboard only), B5
(``removeWatermark`` only for non-stable, non-storyboard models), B7 (``size`` only for pro
text/image), B8 (shots add up to ``nFrames``).
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.errors import InvalidRequest
from bot.i18n import msg
from bot.providers.base import AnyRequest, ImageToVideo, Kind
from bot.providers.capabilities import Capabilities, ModelSpec, PricePoint, ShotRules
from bot.providers.profiles import narrowed

TIER_SORA2 = "sora-2"
TIER_STABLE = "sora-2-stable"
TIER_PRO = "sora-2-pro"
FREESORA_TIERS: tuple[str, ...] = (TIER_SORA2, TIER_STABLE, TIER_PRO)
FREESORA_DEFAULT_TIER = TIER_SORA2
TIER_LABELS = {TIER_SORA2: "Sora 2", TIER_STABLE: "Sora 2 Stable", TIER_PRO: "Sora 2 Pro"}
MAX_STORYBOARD_SHOTS = 15  # the vendor names no limit; what a storyboard form holds
STORYBOARD_MODEL = "sora-2-pro-storyboard"

# (tier, kind) -> the vendor's model name (B2: all seven are accepted).
WIRE_MODELS: dict[tuple[str, Kind], str] = {
    (TIER_SORA2, Kind.TEXT): "sora-2-text-to-video",
    (TIER_SORA2, Kind.IMAGE): "sora-2-image-to-video",
    (TIER_STABLE, Kind.TEXT): "sora-2-text-to-video-stable",
    (TIER_STABLE, Kind.IMAGE): "sora-2-image-to-video-stable",
    (TIER_PRO, Kind.TEXT): "sora-2-pro-text-to-video",
    (TIER_PRO, Kind.IMAGE): "sora-2-pro-image-to-video",
    (TIER_PRO, Kind.STORYBOARD): STORYBOARD_MODEL,
}
FREESORA_MODELS: tuple[str, ...] = tuple(WIRE_MODELS.values())
SIZED_MODELS = frozenset({"sora-2-pro-text-to-video", "sora-2-pro-image-to-video"})  # B7
WATERMARK_MODELS = frozenset({"sora-2-text-to-video", "sora-2-image-to-video", *SIZED_MODELS})  # B5
FREESORA_DURATIONS: tuple[int, ...] = (10, 15, 25)
VIDEO_DURATIONS: tuple[int, ...] = (10, 15)  # text and image; 25 s is storyboard only (B3)

# Vendor credits per job by (tier, seconds): the latest table seen, a default only (B11). A storyboard
# resolves to the sora-2-pro tier, whose 10/15 s prices equal the storyboard's.
FREESORA_PRICES: dict[tuple[str, int], int] = {
    (TIER_SORA2, 10): 100,
    (TIER_SORA2, 15): 150,
    (TIER_STABLE, 10): 100,
    (TIER_STABLE, 15): 150,
    (TIER_PRO, 10): 375,
    (TIER_PRO, 15): 675,
    (TIER_PRO, 25): 875,
}


def _allowed_tiers(models: Mapping[tuple[str, Kind], str], wire: frozenset[str], kind: Kind) -> list[str]:
    return [t for t in FREESORA_TIERS if (t, kind) in models and models[(t, kind)] in wire]


class FreeSoraCapabilities(Capabilities):
    """``Capabilities`` plus the rules that depend on the vendor model (B3, B5, B7, B8)."""

    wire_models: frozenset[str]

    def wire_model(self, req: AnyRequest) -> str:
        """The vendor model for ``req``; ``InvalidRequest`` naming ``tier`` when there is none."""
        tier = self.resolve_model(req)
        model = WIRE_MODELS.get((tier, req.kind))
        if model is None or model not in self.wire_models:
            tiers = _allowed_tiers(WIRE_MODELS, self.wire_models, req.kind)
            raise InvalidRequest(
                "model",
                "invalid.tier_not_for_kind",
                ", ".join(tiers) or msg("common.none"),
                value=tier,
                kind=req.kind.value,
            )
        return model

    def validate_request(self, req: AnyRequest) -> None:
        super().validate_request(req)
        model = self.wire_model(req)
        opts = req.options
        if opts.high_quality is not None and model not in SIZED_MODELS:
            raise InvalidRequest("high_quality", "invalid.cannot_set_for", msg("allowed.fsg_hq"), model=model)
        if opts.watermark is not None and model not in WATERMARK_MODELS:
            raise InvalidRequest(
                "watermark", "invalid.cannot_change_for", msg("allowed.fsg_watermark"), model=model
            )
        if isinstance(req, ImageToVideo) and not req.image_url.startswith(("http://", "https://")):
            raise InvalidRequest("image", "invalid.not_web_link", msg("allowed.image_link"))


def freesora_capabilities(
    models: tuple[str, ...] | None = None,
    durations: tuple[int, ...] | None = None,
    *,
    profile: str = "?",
    image_by_url: bool = False,
) -> FreeSoraCapabilities:
    """The vendor's tiers/kinds/durations, narrowed by a profile's ``models``/``durations``.

    ``models`` entries are tier names (every model of the tier) or vendor model names.
    ``image_by_url``: images go as their public ``imageUrl`` rather than inline ``imageData``.
    """
    names = narrowed(
        profile,
        "models",
        models,
        FREESORA_TIERS,
        offered=(*FREESORA_TIERS, *FREESORA_MODELS),
        offer=f"freesora offers the tiers {', '.join(FREESORA_TIERS)} "
        f"or the models {', '.join(FREESORA_MODELS)}",
    )
    wire: set[str] = set()
    for name in names:
        if name in FREESORA_TIERS:
            wire.update(m for (t, _k), m in WIRE_MODELS.items() if t == name)
        else:
            wire.add(name)
    secs = narrowed(
        profile,
        "durations",
        durations,
        FREESORA_DURATIONS,
        offer="freesora offers 10 and 15 seconds (25 for storyboards)",
    )
    frozen = frozenset(wire)
    specs = tuple(
        _tier_spec(tier, frozen, secs)
        for tier in FREESORA_TIERS
        if any(WIRE_MODELS.get((tier, k)) in frozen for k in Kind)
    )
    tiers = tuple(s.name for s in specs)
    default = FREESORA_DEFAULT_TIER if FREESORA_DEFAULT_TIER in tiers else tiers[0]
    return FreeSoraCapabilities(
        specs=specs, default_model=default, image_by_url=image_by_url, wire_models=frozen
    )


def _tier_spec(tier: str, wire: frozenset[str], secs: tuple[int, ...]) -> ModelSpec:
    """One tier as a model: the kinds its vendor models make, and the switches they take (B5, B7)."""
    models = {k: m for (t, k), m in WIRE_MODELS.items() if t == tier and m in wire}
    switches = {"private"}
    if set(models.values()) & SIZED_MODELS:
        switches.add("high_quality")
    if set(models.values()) & WATERMARK_MODELS:
        switches.add("watermark")
    boards = Kind.STORYBOARD in models
    return ModelSpec(
        name=tier,
        label=TIER_LABELS[tier],
        family="sora",
        kinds=frozenset(models),
        durations=tuple(d for d in secs if d in VIDEO_DURATIONS),  # 25 s is storyboard only (B3)
        switches=frozenset(switches),
        shots=ShotRules(max_shots=MAX_STORYBOARD_SHOTS, totals=secs) if boards else None,
        prices={PricePoint(t, d): c for (t, d), c in FREESORA_PRICES.items() if t == tier},
    )
