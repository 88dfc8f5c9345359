"""Command options built from what the chosen model can do, never from fixed lists.

``/video`` and ``/sora`` share these: the model a member picks (or the server's default), the kind of
video their pictures make, and autocomplete for every option that depends on the model — each
offering only the values that fit the options already chosen (``Capabilities.allows``). Validation
proper happens in the engine's quote, before any charge; autocomplete only saves the member a
refusal.
"""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands

from bot.engine.catalog import Resolved
from bot.engine.engine import Engine
from bot.errors import InvalidRequest, UserError
from bot.i18n import t
from bot.providers.base import Kind, Orientation

MAX_CHOICES = 25  # Discord shows at most 25 autocomplete choices
REFERENCE_OPTIONS = ("reference_1", "reference_2", "reference_3")


def kind_for(image: object, end_image: object, references: list[Any]) -> Kind:
    """The kind of video the given pictures make; a first/last frame and references do not mix."""
    if references and (image is not None or end_image is not None):
        raise InvalidRequest("reference_1", "invalid.images_mixed", t("allowed.frames_or_references"))
    if end_image is not None and image is None:
        raise InvalidRequest("end_image", "invalid.missing_first_frame", t("allowed.end_needs_image"))
    if references:
        return Kind.REFERENCE
    return Kind.IMAGE if image is not None else Kind.TEXT


def _namespace_kind(interaction: discord.Interaction) -> Kind:
    ns = interaction.namespace
    refs = [getattr(ns, name, None) for name in REFERENCE_OPTIONS]
    if any(r is not None for r in refs):
        return Kind.REFERENCE
    return Kind.IMAGE if getattr(ns, "image", None) is not None else Kind.TEXT


def _chosen(interaction: discord.Interaction) -> dict[str, Any]:
    """The model-dependent options already filled in, as ``Capabilities.allows`` names them."""
    ns = interaction.namespace
    chosen: dict[str, Any] = {}
    duration = str(getattr(ns, "duration", None) or "").strip()
    if duration.isdigit():  # the focused option arrives as the text typed so far
        chosen["duration"] = int(duration)
    aspect = getattr(ns, "aspect", None) or getattr(ns, "orientation", None)
    if aspect in {o.value for o in Orientation}:
        chosen["orientation"] = Orientation(aspect)
    for name in ("resolution", "audio", "fixed_lens", "high_quality", "watermark", "private"):
        value = getattr(ns, name, None)
        if value is not None and value != "":
            chosen[name] = value
    return chosen


async def _target(
    engine: Engine, interaction: discord.Interaction, family: str | None, kind: Kind | None = None
) -> tuple[Resolved, Kind] | None:
    """Where the request being typed would go, or ``None`` when it cannot go anywhere (yet)."""
    if interaction.guild_id is None:
        return None
    kind = kind or _namespace_kind(interaction)
    choice = getattr(interaction.namespace, "model", None) or None
    try:
        return await engine.admission.pick(kind, interaction.guild_id, choice, family=family), kind
    except UserError:
        return None


async def model_choices(
    engine: Engine,
    interaction: discord.Interaction,
    current: str,
    *,
    family: str | None = None,
    kind: Kind | None = None,
) -> list[app_commands.Choice[str]]:
    """The server's live models that make this kind and fit the options already chosen."""
    if interaction.guild_id is None:
        return []
    kind = kind or _namespace_kind(interaction)
    try:
        choices = await engine.admission.model_choices(kind, interaction.guild_id, family=family)
    except UserError:
        return []
    chosen = _chosen(interaction)
    labels = [c.spec.label for c in choices]
    typed = current.lower()
    out: list[app_commands.Choice[str]] = []
    for c in choices:
        caps = engine.catalog.provider(c.profile).capabilities
        if not caps.allows(c.spec.name, kind, **chosen):
            continue
        name = c.spec.label if labels.count(c.spec.label) == 1 else f"{c.spec.label} · {c.profile}"
        if typed in name.lower() or typed in c.spec.name.lower():
            out.append(app_commands.Choice(name=name[:100], value=c.value[:100]))
    return out[:MAX_CHOICES]


async def _fitting(
    engine: Engine, interaction: discord.Interaction, family: str | None, kind: Kind | None, option: str
) -> list[Any]:
    """The chosen model's values of ``option`` that fit the other options already chosen."""
    target = await _target(engine, interaction, family, kind)
    if target is None:
        return []
    where, kind = target
    caps = where.provider.capabilities
    spec = caps.spec(where.model)
    fixed_shots = kind is Kind.STORYBOARD and spec.shots is not None and bool(spec.shots.seconds_per_shot)
    values: dict[str, tuple[Any, ...]] = {
        "duration": () if fixed_shots else spec.durations_for(kind),  # the shots set the length
        "orientation": spec.orientations,
        "resolution": spec.resolutions,
    }
    others = {k: v for k, v in _chosen(interaction).items() if k != option}
    return [v for v in values[option] if caps.allows(where.model, kind, **others, **{option: v})]


async def duration_choices(
    engine: Engine,
    interaction: discord.Interaction,
    current: str,
    *,
    family: str | None = None,
    kind: Kind | None = None,
) -> list[app_commands.Choice[int]]:
    """The chosen model's durations that fit its other options."""
    durations = await _fitting(engine, interaction, family, kind, "duration")
    return [
        app_commands.Choice(name=t("choice.seconds", interaction.locale, seconds=d), value=d)
        for d in durations
        if str(current).strip() in str(d)
    ][:MAX_CHOICES]


async def aspect_choices(
    engine: Engine,
    interaction: discord.Interaction,
    current: str,
    *,
    family: str | None = None,
    kind: Kind | None = None,
) -> list[app_commands.Choice[str]]:
    """The chosen model's aspect ratios, in the member's words."""
    orientations = await _fitting(engine, interaction, family, kind, "orientation")
    names = [(o.value, t(f"choice.orientation.{o.value}", interaction.locale)) for o in orientations]
    return [app_commands.Choice(name=n, value=v) for v, n in names if current.lower() in n.lower()]


async def resolution_choices(
    engine: Engine,
    interaction: discord.Interaction,
    current: str,
    *,
    family: str | None = None,
    kind: Kind | None = None,
) -> list[app_commands.Choice[str]]:
    """The chosen model's resolutions that fit its other options (a shot count, say)."""
    resolutions = await _fitting(engine, interaction, family, kind, "resolution")
    return [app_commands.Choice(name=r, value=r) for r in resolutions if current.lower() in r.lower()]


def default_duration(where: Resolved, kind: Kind) -> int:
    """The chosen model's first duration for ``kind`` (0 when it has none: the quote says so)."""
    durations = where.provider.capabilities.spec(where.model).durations_for(kind)
    return durations[0] if durations else 0


def request_fields(
    where: Resolved,
    kind: Kind,
    *,
    prompt: str,
    duration: int | None,
    aspect: str | None,
    resolution: str | None,
    options: dict[str, Any],
) -> dict[str, Any]:
    """The request a command's options make on the chosen model, its defaults filled in."""
    spec = where.provider.capabilities.spec(where.model)
    orientations = [o.value for o in spec.orientations]
    default_aspect = (
        Orientation.PORTRAIT.value if Orientation.PORTRAIT.value in orientations else orientations[0]
    )
    return {
        "kind": kind,
        "prompt": prompt,
        "model": where.model,
        "duration": duration if duration is not None else default_duration(where, kind),
        "orientation": aspect or default_aspect,
        "resolution": resolution or None,
        "options": options,
    }
