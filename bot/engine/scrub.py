"""Vendor text with every configured key blanked, before it is stored or shown to anyone.

A vendor may echo a key back: in a progress word, an error message, a link with the key in its
query. Adapters blank the key they used (``bot.providers.base.scrub``), but not the account's other
keys, nor another profile's key that the same reseller holds. So the engine blanks *every* key of
*every* configured profile at the one place vendor text enters a job — the runner, before a
snapshot, a failure or a result link is written — and nothing with a key in it reaches the database,
an event, a card or a reply. The redaction is the logs' own (``bot.logs.Redactor``), so a key is
blanked the same way in both.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bot.i18n import Msg
from bot.logs import Redactor
from bot.providers.profiles import ProviderProfile


class Scrubber:
    """Blanks every key of ``profiles`` from text, catalog messages and job fields."""

    def __init__(self, profiles: Iterable[ProviderProfile]) -> None:
        self._redact = Redactor(key.secret.get_secret_value() for p in profiles for key in p.keys)

    @classmethod
    def of(cls, profiles: Mapping[str, ProviderProfile]) -> Scrubber:
        return cls(profiles.values())

    def text(self, text: str) -> str:
        return self._redact(text)

    def value(self, value: Any) -> Any:
        """Text blanked, a ``Msg``'s parameters blanked (nested too); anything else as it is."""
        if isinstance(value, str):
            return self._redact(value)
        if isinstance(value, Msg):
            return self.msg(value)
        return value

    def msg(self, message: Msg) -> Msg:
        return Msg(message.key, {name: self.value(v) for name, v in message.params.items()})

    def fields(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Job columns about to be written, every text value blanked."""
        return {name: self.value(v) for name, v in fields.items()}
