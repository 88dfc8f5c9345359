"""When a job asks its member to confirm its price before anything is charged.

A server sets a threshold (``/settings limits confirm_above``); until it does, the bot's default
applies (``CONFIRM_ABOVE``, 50 credits). A job that costs more asks first, once: a price the member
already agreed to (``agreed``) is not asked again when the command goes on after the confirm —
unless it rose meanwhile (a storyboard with more shots than the form's first quote, a new price).
0 turns the question off.
"""

from __future__ import annotations

from storage.guilds import GuildSettings

DEFAULT_CONFIRM_ABOVE = 50


def threshold(settings: GuildSettings, default: int = DEFAULT_CONFIRM_ABOVE) -> int:
    """The server's threshold (0: never ask), else the bot's default."""
    return default if settings.confirm_above is None else settings.confirm_above


def asks_first(limit: int, cost: int, *, agreed: int = 0) -> bool:
    """A job of ``cost`` needs a confirm: over the threshold, and more than the member agreed to."""
    return limit > 0 and cost > limit and cost > agreed
