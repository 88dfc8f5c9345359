"""A failed job in one sentence: what happened, whether the credits came back, and what to try next.

Vendors' errors are whole messages, each with its own "try again" and sometimes a remark on the
vendor's own credits ("its credits are refunded automatically" — the vendor's, not the member's).
Wrapped in the bot's own sentence they nested into three sentences that contradicted each other. So
a job's failure is never a message inside another: each catalog key an adapter reports maps here onto
a *reason* (what happened, in plain words, naming the model as members know it — never a profile)
and a *next step*; the credits are the engine's to state, from the job's own hold. A vendor's own
free-text words (a freesoragenerator ``failure_reason``, an OpenAI-compatible reseller's message) go
in once, quoted and clipped. The same keys still render whole where no job exists yet (a refusal at
``/sora``: nothing was charged, so there is nothing to say about credits).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.i18n import Msg, msg

VENDOR_WORDS = 200  # a vendor's reason, quoted: a clause, not a page


@dataclass(frozen=True)
class Reason:
    """``what`` and ``next`` are tails of ``failure.what.*`` / ``failure.next.*``; ``params`` fill ``what``."""

    what: str
    next: str
    params: Mapping[str, Any] | None = None
    said: str | None = None  # the vendor's own words, quoted after ``what``

    def sentence(self, *, model: str, cost: int) -> Msg:
        """The one sentence a member reads, credits included (the job's hold is always released)."""
        credits = msg("failure.credits.returned", cost=cost) if cost > 0 else msg("failure.credits.none")
        said = msg("failure.said", words=self.said) if self.said else ""
        return msg(
            "failure.sentence",
            what=Msg(f"failure.what.{self.what}", {"model": model, **dict(self.params or {})}),
            said=said,
            credits=credits,
            next=Msg(f"failure.next.{self.next}", {}),
        )


FAILED = Reason("failed", "again_prompt")
TIMED_OUT = Reason("timed_out", "again")
INTERNAL = Reason("internal", "again")
UNCONFIRMED = Reason("unconfirmed", "again")

_PICTURE = Reason("picture", "picture")
_SETTINGS = Reason("settings", "settings")
_BUSY = Reason("busy", "later")
_KEY = Reason("account_key", "admin")
_CREDIT = Reason("account_credit", "admin_credit")
_LOST = Reason("lost", "admin")
_NO_ANSWER = Reason("no_answer", "later")

# Every catalog key an adapter reports (``ProviderError.user_key``, ``TaskError.key``).
BY_KEY: dict[str, Reason] = {
    "provider.generic": Reason("unknown", "later"),
    "provider.hourly_limit": _BUSY,
    "provider.image_download_failed": _PICTURE,
    "provider.image_expired": _PICTURE,
    "provider.image_too_large": Reason("picture_size", "smaller_picture"),
    "provider.internal": Reason("vendor_error", "later"),
    "provider.key_rejected": _KEY,
    "provider.malformed": Reason("unreadable", "later"),
    "provider.model_not_served": Reason("not_served", "other_model"),
    "provider.no_answer_poll": _NO_ANSWER,
    "provider.no_answer_submit": _NO_ANSWER,
    "provider.no_video": Reason("no_video", "again"),
    "provider.out_of_credit": _CREDIT,
    "provider.out_of_credits": _CREDIT,
    "provider.task_gone": _LOST,
    "provider.unreachable": Reason("unreachable", "later"),
    "provider.vendor_down": Reason("vendor_down", "later"),
    "provider.freesora.bad_request": _SETTINGS,
    "provider.freesora.concurrency_limit": _BUSY,
    "provider.freesora.failed": FAILED,
    "provider.freesora.image_unusable": _PICTURE,
    "provider.freesora.model_unavailable": Reason("unavailable", "other_model"),
    "provider.freesora.task_id": _LOST,
    "provider.freesora.vip_required": Reason("private", "no_private"),
    "provider.nanophoto.generation_failed": FAILED,
    "provider.nanophoto.image_required": Reason("picture_missing", "picture"),
    "provider.nanophoto.image_urls_required": _PICTURE,
    "provider.nanophoto.invalid_image_count": Reason("pictures_count", "fewer_pictures"),
    "provider.nanophoto.invalid_input": _SETTINGS,
    "provider.nanophoto.prompt_required": Reason("prompt_empty", "prompt"),
    "provider.nanophoto.reference_image_required": _PICTURE,
    "provider.nanophoto.shots_required": Reason("incomplete", "admin"),
    "provider.nanophoto.task_id_required": _LOST,
    "provider.nanophoto.unauthorized": _KEY,
    "provider.openai.field_refused": Reason("field", "settings"),
    "provider.openai.model_refused": Reason("model_refused", "admin"),
    "provider.openai.private_source": Reason("source_private", "remix_other"),
    "provider.openai.rate_limited": _BUSY,
    "provider.openai.request_refused": _SETTINGS,
    "provider.openai.source_gone": Reason("source_gone", "remix_other"),
    "provider.openai.video_too_large": Reason("too_large", "again"),
}
_TEXT_PARAMS = ("field", "mb")  # the parameters a reason's words use, taken from the vendor message


def reason_for(key: str | None, params: Mapping[str, Any], *, text: str | None = None) -> Reason:
    """The reason for an adapter's catalog ``key`` and ``params``; ``text`` is a vendor's message
    that came without a key (its own words, quoted). An unknown key reads as "could not make it"."""
    if key is None:
        return Reason(FAILED.what, FAILED.next, said=_clip(text)) if text else FAILED
    found = BY_KEY.get(key, FAILED)
    kept = {name: params[name] for name in _TEXT_PARAMS if name in params}
    return Reason(found.what, found.next, kept or None, said=_clip(vendor_said(params)))


def vendor_said(params: Mapping[str, Any]) -> str | None:
    """The vendor's own words in an adapter message's parameters, wherever the adapter put them:
    a ``reason``/``words`` text, or inside the ``said`` message it nests (``provider.*.said``)."""
    for name in ("reason", "words"):
        value = params.get(name)
        if isinstance(value, str) and value.strip():
            return value
    inner = params.get("said")
    return vendor_said(inner.params) if isinstance(inner, Msg) else None


def _clip(text: str | None) -> str | None:
    if not text:
        return None
    words = " ".join(text.split()).rstrip(".。 ")
    if len(words) > VENDOR_WORDS:
        words = words[: VENDOR_WORDS - 1].rstrip() + "…"
    return words or None
