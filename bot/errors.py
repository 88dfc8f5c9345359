"""The one user-facing error type.

Anything raised as a ``UserError`` is safe to show to a member as it is: it never carries a raw
exception text, a key or a token. Everything else is an internal fault and reaches members only as
a friendly message with a reference id (see ``cogs/errors.py``).

A ``UserError`` carries a catalog key and its parameters (``bot.i18n``) and is rendered in the
member's locale where it is shown (``render(locale)``); ``message`` is the en-US rendering, for logs.
Text that is not a catalog key (``UserError("--image: no such file")`` in the operator CLI, or
words that merely look like a key, ``"config.toml"``) is kept as it is, untranslated. That every
key the code names exists is checked by the i18n tests, not at run time.

A refusal that quotes what the member typed quotes it through ``quoted``: one line, at most
``QUOTE_LIMIT`` characters. A member can paste 6,000 characters into an option; quoted whole, the
refusal would be longer than Discord takes (2,000) and the member would get no answer at all.
"""

from __future__ import annotations

from typing import Any

from bot.i18n import EN, Msg, has, is_key, t

QUOTE_LIMIT = 100
BACKTICK_STAND_IN = "ˋ"  # U+02CB: looks like a backtick, cannot end the code span a value sits in


def quoted(value: Any) -> Any:
    """A member's value as a refusal may quote it: on one line, with no backtick (templates show it
    in a code span), at most ``QUOTE_LIMIT`` characters with ``…`` where it was cut. Numbers and
    catalog messages are returned as they are."""
    if not isinstance(value, str):
        return value
    text = " ".join(value.split()).replace("`", BACKTICK_STAND_IN)
    return text if len(text) <= QUOTE_LIMIT else text[: QUOTE_LIMIT - 1].rstrip() + "…"


class UserError(Exception):
    """A problem the member (or an admin) can act on, phrased for them in any catalog language."""

    def __init__(self, key: str, /, **params: Any) -> None:
        if not (is_key(key) and has(key, EN)):  # plain words: shown as they are, in every language
            key, params = "common.literal", {"text": key}
        self.key = key
        self.params = params
        self.message = t(key, EN, **params)
        super().__init__(self.message)

    @property
    def msg(self) -> Msg:
        return Msg(self.key, self.params)

    def render(self, locale: object = EN) -> str:
        return t(self.key, locale, **self.params)


def field_ref(field: str, locale: object = EN) -> str:
    """An option's name as the member sees it: literal (`` `duration` ``), with its localized name
    beside it when the locale names the option differently (`` `duration`（时长） ``)."""
    key = f"opt.{field}.name"
    label = t(key, locale) if has(key, locale) else field
    if label == field:
        return f"`{field}`"
    return t("invalid.field_ref", locale, field=field, label=label)


class InvalidRequest(UserError):
    """A request option is not allowed: names the field, what was given and what is allowed.

    ``problem`` is a catalog key (its parameters are ``params``) saying what is wrong with the value;
    ``allowed`` is either literal text (option values, model names — never translated) or a ``Msg``.
    The field name stays literal in every language: it is the option's name.
    """

    def __init__(self, field: str, problem: str, allowed: str | Msg, /, **params: Any) -> None:
        self.field = field
        self.problem = Msg(problem, {name: quoted(v) for name, v in params.items()})
        self.allowed_msg = allowed
        self.allowed = allowed.render(EN) if isinstance(allowed, Msg) else allowed  # en-US, for logs
        super().__init__("errors.invalid", field=field_ref(field, EN), problem=self.problem, allowed=allowed)

    def render(self, locale: object = EN) -> str:
        return t(
            "errors.invalid",
            locale,
            field=field_ref(self.field, locale),
            problem=self.problem,
            allowed=self.allowed_msg,
        )


class InsufficientCredits(UserError):
    """The member's balance does not cover the cost of what they asked for."""

    def __init__(self, balance: int, cost: int) -> None:
        super().__init__("errors.not_enough_credits", balance=balance, cost=cost)
        self.balance = balance
        self.cost = cost


class AlreadyMade(UserError):
    """A confirmation pressed again: the job it asked for exists already (``job_id``)."""

    def __init__(self, job_id: int) -> None:
        super().__init__("again.already", id=job_id)
        self.job_id = job_id
