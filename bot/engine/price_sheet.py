"""``/credits prices`` as members read it: one entry per model, what it makes, and each price.

The catalog's rows are one per priced combination; read raw, Veo's storyboards alone are 21 lines
(8 s to 168 s) and nothing says that freesora's 25 s is a storyboard's price. So, per model: the
kinds it makes; a combination that only one of them can be asked for says so ("storyboard only");
and a storyboard priced shot by shot (every n-shot price is n times the one-shot price) becomes one
line, "N credits a shot, up to M shots". A series that does not add up that way is listed whole,
so no price is ever hidden behind a rule it does not follow.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from bot.engine.catalog import PriceRow
from bot.providers.base import Kind
from bot.providers.capabilities import PricePoint


@dataclass(frozen=True)
class PriceLine:
    point: PricePoint
    cost: int
    only: Kind | None = None  # the one kind this combination is for, when the model makes others too


@dataclass(frozen=True)
class PerShot:
    """Storyboards of 2 to ``max_shots`` shots of ``seconds`` each, ``cost`` credits a shot."""

    cost: int
    seconds: int
    resolution: str | None
    audio: bool
    max_shots: int


@dataclass
class ModelPrices:
    profile: str
    label: str
    kinds: tuple[Kind, ...]
    named: bool = False  # another profile sells a model of the same name: say which this is
    lines: list[PriceLine] = field(default_factory=list)
    per_shot: list[PerShot] = field(default_factory=list)


def sheet(rows: Iterable[PriceRow]) -> list[ModelPrices]:
    """The rows grouped by model (in the catalog's order: the server's default profile first)."""
    models: dict[tuple[str, str], ModelPrices] = {}
    series: dict[tuple[str, str], list[PriceRow]] = {}
    for row in rows:
        key = (row.profile, row.label)
        entry = models.setdefault(key, ModelPrices(row.profile, row.label, row.model_kinds))
        if (
            row.seconds_per_shot
            and row.kinds == (Kind.STORYBOARD,)
            and row.point.duration > row.seconds_per_shot
        ):
            series.setdefault(key, []).append(row)  # a storyboard of several fixed-length shots
            continue
        only = row.kinds[0] if len(row.kinds) == 1 and len(row.model_kinds) > 1 else None
        entry.lines.append(PriceLine(row.point, row.cost, only))
    for key, multi in series.items():
        _fold_shots(models[key], multi)
    profiles_of: dict[str, set[str]] = {}
    for profile, label in models:
        profiles_of.setdefault(label, set()).add(profile)
    for entry in models.values():
        entry.named = len(profiles_of[entry.label]) > 1
    return list(models.values())


def _fold_shots(entry: ModelPrices, multi: list[PriceRow]) -> None:
    """One "a shot" line per resolution and audio whose storyboards cost shots × the one-shot price;
    the others as they are."""
    seconds = multi[0].seconds_per_shot or 1
    single = {(x.point.resolution, x.point.audio): x for x in entry.lines if x.point.duration == seconds}
    groups: dict[tuple[str | None, bool], list[PriceRow]] = {}
    for row in multi:
        groups.setdefault((row.point.resolution, row.point.audio), []).append(row)
    for (resolution, audio), group in groups.items():
        one = single.get((resolution, audio))
        shots = [row.point.duration // seconds for row in group]
        every = sorted(shots) == list(range(2, len(shots) + 2))  # "up to M" must mean every count to M
        adds_up = (
            one is not None
            and every
            and all(
                row.point.duration == n * seconds and row.cost == n * one.cost
                for row, n in zip(group, shots, strict=True)
            )
        )
        if adds_up and one is not None:
            entry.per_shot.append(PerShot(one.cost, seconds, resolution, audio, max(shots)))
        else:
            entry.lines.extend(PriceLine(row.point, row.cost, Kind.STORYBOARD) for row in group)
