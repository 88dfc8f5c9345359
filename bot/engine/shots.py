"""Storyboard shots as a member writes them: one shot a line, ``seconds | what happens``.

The modal gives one free-text box, so the whole storyboard arrives as text. Parsing it here (not in
the cog) keeps the rules testable without Discord, and every refusal names the line to fix, in the
member's own numbering (blank lines count, as they see them in the box).
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation

from bot.errors import UserError
from bot.i18n import msg
from bot.providers.base import Shot

MAX_SHOTS = 15
EXAMPLE = "`5 | what happens`"
_EXAMPLE = msg("shots.example")  # the same, in the member's language
_SECONDS = re.compile(r"^\s*(?P<num>[^\s|]+?)\s*(?:s|sec|secs|seconds?)?\s*$", re.IGNORECASE)


class ShotError(UserError):
    """The storyboard text cannot be used; the message names the line and how to fix it."""


def parse_shots(text: str, total: int) -> tuple[Shot, ...]:
    """Parse ``text`` (``5 | scene`` per line) into shots whose durations add up to ``total`` seconds.

    Blank lines are skipped. Durations may have decimals (``2.5``) and an ``s`` suffix (``5s``).
    Raises ``ShotError`` for no shots, more than ``MAX_SHOTS``, a line without a duration or scene,
    a duration that is not a number above zero, or durations that do not add up to ``total``.
    """
    shots: list[Shot] = []
    sum_seconds = Decimal(0)
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
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
        raise ShotError("shots.none", example=_EXAMPLE)
    if len(shots) > MAX_SHOTS:
        raise ShotError("shots.too_many", max=MAX_SHOTS, count=len(shots))
    if sum_seconds != total:
        raise ShotError("shots.wrong_total", sum=_fmt(sum_seconds), total=total)
    return tuple(shots)


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
    if value <= 0:
        raise ShotError("shots.not_positive", line=number, value=_fmt(value))
    return value


def _fmt(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text
