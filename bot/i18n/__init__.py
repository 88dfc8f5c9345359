"""Message catalogs (en-US, zh-CN) and the one function that renders them: ``t(key, locale, **params)``.

Catalogs are TOML files shipped beside this module (``en-US.toml``, ``zh-CN.toml``), read once. Keys
are dotted and grouped (``errors.not_enough_credits``, ``job.status.queued``, ``cmd.sora.description``);
templates use ``str.format`` placeholders (``{cost}``, ``{amount:,}``).

Locales: ``zh-CN`` exactly gets Simplified Chinese; every other locale (``zh-TW``, ``en-GB``, ``None``…)
gets en-US. A key missing from zh-CN falls back to en-US; a key missing from en-US is a bug and raises
``KeyError`` — never the key itself shown to a member (``tests/unit/test_i18n.py`` checks both catalogs
carry every key the code uses).

A message that is shown later (a job's failure, stored in the database) is kept as a ``Msg``: the key
and its parameters, rendered at display time in the reader's locale. A parameter may itself be a
``Msg`` (rendered in the same locale), so sentences compose without English leaking into Chinese.
"""

from __future__ import annotations

import json
import re
import string
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

EN = "en-US"
ZH = "zh-CN"
LOCALES = (EN, ZH)
DEFAULT = EN


def resolve(locale: object) -> str:
    """The catalog for ``locale`` (a ``discord.Locale``, a string or ``None``): ``zh-CN`` or en-US."""
    if locale is None:
        return DEFAULT
    value = getattr(locale, "value", locale)
    text = str(value).strip().replace("_", "-").lower()
    return ZH if text == "zh-cn" else DEFAULT


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in table.items():
        key = f"{prefix}{name}"
        if isinstance(value, Mapping):
            out.update(_flatten(value, key + "."))
        elif isinstance(value, str):
            out[key] = value
        else:
            raise TypeError(f"catalog value {key!r} is not text: {value!r}")
    return out


@cache
def catalog(locale: str) -> Mapping[str, str]:
    """Every key of one locale's catalog (``en-US`` or ``zh-CN``), flattened to dotted keys."""
    if locale not in LOCALES:
        raise KeyError(f"no catalog for locale {locale!r}")
    text = resources.files(__name__).joinpath(f"{locale}.toml").read_text(encoding="utf-8")
    return _flatten(tomllib.loads(text))


_KEY_SHAPE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_-]+)+$")


def is_key(text: str) -> bool:
    """True when ``text`` is shaped like a catalog key (``errors.not_enough_credits``), not words."""
    return bool(_KEY_SHAPE.match(text))


def has(key: str, locale: object = DEFAULT) -> bool:
    """True when ``locale``'s own catalog (no fallback) carries ``key``."""
    return key in catalog(resolve(locale))


def template(key: str, locale: object = DEFAULT) -> str:
    """The raw template for ``key``: the locale's, else en-US's; ``KeyError`` when en-US lacks it too."""
    loc = resolve(locale)
    found = catalog(loc).get(key)
    if found is None:
        found = catalog(DEFAULT).get(key)
    if found is None:
        raise KeyError(f"no message {key!r} in the catalogs")
    return found


def t(key: str, locale: object = DEFAULT, /, **params: Any) -> str:
    """Render ``key`` in ``locale``; ``Msg`` parameters are rendered in the same locale first."""
    loc = resolve(locale)
    values = {name: _value(v, loc) for name, v in params.items()}
    return template(key, loc).format(**values)


def _value(value: Any, locale: str) -> Any:
    if isinstance(value, Msg):
        return value.render(locale)
    return value


def placeholders(text: str) -> set[str]:
    """The parameter names a template uses (``{cost}``, ``{amount:,}`` → ``cost``, ``amount``)."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@dataclass(frozen=True)
class Msg:
    """A message to render later: a catalog key and its parameters (text, numbers or other ``Msg``)."""

    key: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def render(self, locale: object = DEFAULT) -> str:
        return t(self.key, locale, **self.params)

    def __str__(self) -> str:
        return self.render(DEFAULT)

    def to_data(self) -> dict[str, Any]:
        """JSON-ready: nested ``Msg`` parameters become ``{"key": …, "params": …}`` objects."""
        return {
            "key": self.key,
            "params": {n: v.to_data() if isinstance(v, Msg) else v for n, v in self.params.items()},
        }

    def to_json(self) -> str:
        return json.dumps(self.to_data(), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Msg:
        params = {
            n: cls.from_data(v) if isinstance(v, Mapping) and "key" in v else v
            for n, v in dict(data.get("params") or {}).items()
        }
        return cls(str(data["key"]), params)

    @classmethod
    def from_json(cls, text: str) -> Msg:
        return cls.from_data(json.loads(text))


def msg(key: str, /, **params: Any) -> Msg:
    return Msg(key, params)


def literal(text: str) -> Msg:
    """Words that are not translated (a vendor's own message) as a ``Msg``."""
    return Msg("common.literal", {"text": text})
