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
from bot.providers.base import Shot

MAX_SHOTS = 15
EXAMPLE = "`5 | what happens`"
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
            raise ShotError(f"Line {number} has no duration: write {EXAMPLE}.")
        head, scene = (part.strip() for part in line.split("|", 1))
        if not head:
            raise ShotError(f"Line {number} has no duration: write {EXAMPLE}.")
        seconds = _seconds(head, number)
        if not scene:
            raise ShotError(f"Line {number} has no scene: write what happens after the `|`.")
        shots.append(Shot(scene=scene, duration=float(seconds)))
        sum_seconds += seconds
    if not shots:
        raise ShotError(f"Write at least one shot, one per line: {EXAMPLE}.")
    if len(shots) > MAX_SHOTS:
        raise ShotError(f"A storyboard takes at most {MAX_SHOTS} shots; you wrote {len(shots)}.")
    if sum_seconds != total:
        raise ShotError(
            f"The shots add up to {_fmt(sum_seconds)} s but the video is {total} s. "
            f"Change the durations so they add up to {total}."
        )
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
        raise ShotError(f"Line {number}: `{shown}` is not a number of seconds. Write {EXAMPLE}.")
    if value <= 0:
        raise ShotError(f"Line {number}: a shot must last more than 0 seconds (it says {_fmt(value)}).")
    return value


def _fmt(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text
