"""Storyboard shots as a member writes them: one shot a line, ``seconds | what happens``.

The modal gives one free-text box, so the whole storyboard arrives as text. Parsing it here (not in
the cog) keeps the rules testable without Discord, and every refusal names the line to fix, in the
member's own numbering (blank lines count, as they see them in the box).
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from bot.errors import UserError, quoted
from bot.i18n import msg, t
from bot.providers.base import Shot

MAX_SHOTS = 15
PLACEHOLDER_LIMIT = 100  # characters Discord shows as a text input's placeholder
EXAMPLE = "`5 | what happens`"
_EXAMPLE = msg("shots.example")  # the same, in the member's language
_FIXED_EXAMPLE = msg("shots.fixed_example")  # "`what happens`" (one line a shot)
SCENES = ("shots.scene_1", "shots.scene_2", "shots.scene_3")  # the example's, short enough to fit
_SECONDS = re.compile(r"^\s*(?P<num>[^\s|]+?)\s*(?:s|sec|secs|seconds?)?\s*$", re.IGNORECASE)


class ShotError(UserError):
    """The storyboard text cannot be used; the message names the line and how to fix it.

    What it quotes of the member's text (a duration that is not one, a sum) goes through ``quoted``,
    so the refusal fits one Discord message however long the line was."""

    def __init__(self, key: str, /, **params: Any) -> None:
        super().__init__(key, **{name: quoted(v) for name, v in params.items()})


def parse_shots(
    text: str, total: int, *, seconds_per_shot: int | None = None, max_shots: int = MAX_SHOTS
) -> tuple[Shot, ...]:
    """Parse ``text`` (``5 | scene`` per line) into shots whose durations add up to ``total`` seconds.

    Blank lines are skipped. Durations may have decimals (``2.5``) and an ``s`` suffix (``5s``).
    On a model whose shots all last ``seconds_per_shot``, a line is just its scene (a ``seconds |``
    prefix is allowed when it says that length) and ``total`` is ignored: the shots set the length.
    Raises ``ShotError`` for no shots, more than ``max_shots``, a line without a duration or scene,
    a duration that is not a number above zero, or durations that do not add up to ``total``.
    """
    shots: list[Shot] = []
    sum_seconds = Decimal(0)
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if seconds_per_shot is not None:
            shots.append(_fixed_shot(line, number, seconds_per_shot))
            continue
        if "|" not in line:
            raise ShotError("shots.no_duration", line=number, example=_EXAMPLE)
        head, scene = (part.strip() for part in line.split("|", 1))
        if not head:
            raise ShotError("shots.no_duration", line=number, example=_EXAMPLE)
        seconds = _seconds(head, number)
        if not scene:
            raise ShotError("shots.no_scene", line=number)
        shots.append(Shot(scene=scene, duration=float(seconds)))
        sum_seconds += seconds
    if not shots:
        raise ShotError("shots.none", example=_FIXED_EXAMPLE if seconds_per_shot else _EXAMPLE)
    if len(shots) > max_shots:
        raise ShotError("shots.too_many", max=max_shots, count=len(shots))
    if seconds_per_shot is None and sum_seconds != total:
        raise ShotError("shots.wrong_total", sum=_fmt(sum_seconds), total=total)
    return tuple(shots)


def _fixed_shot(line: str, number: int, seconds: int) -> Shot:
    head, bar, rest = line.partition("|")
    scene = line
    if bar and _SECONDS.match(head.strip()):
        given = _seconds(head.strip(), number)
        if given != seconds:
            raise ShotError("shots.fixed_length", line=number, value=_fmt(given), seconds=seconds)
        scene = rest.strip()
    if not scene:
        raise ShotError("shots.no_scene", line=number)
    return Shot(scene=scene, duration=float(seconds))


def example(
    total: int | None, seconds_per_shot: int | None, max_shots: int = MAX_SHOTS, locale: object = None
) -> str:
    """Shot lines that are valid for this model and length, in the member's language: the form's
    placeholder (at most ``PLACEHOLDER_LIMIT`` characters, Discord's limit for it).

    An example that does not parse teaches the wrong thing: cut to fit, the old one dropped its last
    line and added up to 10 s on a 15 s video. The scenes are short so every line fits."""
    scenes = [t(key, locale) for key in SCENES]
    if seconds_per_shot is not None:
        return "\n".join(scenes[: max(1, min(len(scenes), max_shots))])
    total = max(1, total or 1)
    count = max(1, min(3 if total >= 15 else 2, max_shots, total))
    lengths = [total // count] * count
    lengths[-1] += total - sum(lengths)
    return "\n".join(f"{n} | {scene}" for n, scene in zip(lengths, scenes, strict=False))


def _seconds(head: str, number: int) -> Decimal:
    match = _SECONDS.match(head)
    value: Decimal | None = None
    if match:
        try:
            value = Decimal(match.group("num").replace(",", "."))
        except InvalidOperation:
            value = None
    if value is None or not value.is_finite() or not math.isfinite(float(value)):
        shown = head if len(head) <= 20 else head[:19] + "…"
        raise ShotError("shots.not_seconds", line=number, value=shown, example=_EXAMPLE)
    if value <= 0 or float(value) <= 0:  # 1e-999 is above 0, but not as the vendor's float
        raise ShotError("shots.not_positive", line=number, value=_fmt(value))
    return value


def _fmt(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text
