"""A failed job reads as one sentence — what happened, the credits, what next — in both languages,
whatever the vendor said and however its adapter nested it; every vendor error key has its reason."""

from __future__ import annotations

import re

import pytest

from bot.engine import failures
from bot.engine.outcomes import INTERNAL, TIMED_OUT, UNCONFIRMED, of_error, of_task
from bot.i18n import EN, ZH, Msg, catalog, msg
from bot.providers.base import ProviderError, TaskError
from bot.providers.faults import KEY_REJECTED, transport
from bot.providers.http import TransportError
from bot.providers.nanophoto_base import NANOPHOTO_ERRORS
from bot.providers.openai_videos_errors import openai_error

HAN = re.compile(r"[\u4e00-\u9fff]")
# Pieces adapters compose their messages from, not messages of their own.
FRAGMENTS = {
    "provider.freesora.reason",
    "provider.freesora.refunded",
    "provider.openai.said",
    "provider.openai.said_none",
    "provider.will_retry",
}


def both(message: Msg) -> tuple[str, str]:
    return message.render(EN), message.render(ZH)


def one_sentence(text: str) -> bool:
    """One sentence: a single full stop, at the end; nothing nested in brackets but a quote."""
    body = text[:-1]
    return text.endswith((".", "。")) and not re.search(r"[.。!?](\s|$)", body) and "said:" not in text


def test_every_vendor_error_key_has_a_reason_whose_words_exist() -> None:
    keys = {k for k in catalog(EN) if k.startswith("provider.")} - FRAGMENTS
    assert sorted(keys - set(failures.BY_KEY)) == []
    for reason in {*failures.BY_KEY.values(), INTERNAL, TIMED_OUT, UNCONFIRMED}:
        for key in (f"failure.what.{reason.what}", f"failure.next.{reason.next}"):
            assert key in catalog(EN) and HAN.search(catalog(ZH)[key]), key


def test_the_reported_nesting_is_gone() -> None:
    """nanophoto's GENERATION_FAILED, which read as three sentences inside each other."""
    error = NANOPHOTO_ERRORS["GENERATION_FAILED"].error(code="GENERATION_FAILED", detail="d", http_status=500)
    en, zh = both(of_task(error.task_error()).sentence(model="Veo 3.1", cost=40))
    assert (
        en
        == "Veo 3.1 could not make this video; your 40 credits were returned — try again, perhaps with a different prompt."
    )
    assert zh == "Veo 3.1 未能生成这个视频，你的 40 积分已退还——请重试，或换一个提示词。"
    assert "refunded automatically" not in en and one_sentence(en) and one_sentence(zh)


def test_a_vendor_reason_in_its_own_words_is_quoted_once() -> None:
    said = msg("provider.freesora.reason", reason="Content flagged by moderation")
    error = TaskError(
        code="GENERATION_FAILED",
        message="x",
        key="provider.freesora.failed",
        params={"said": said, "refund": msg("provider.freesora.refunded")},
    )
    en, zh = both(of_task(error).sentence(model="Sora 2", cost=4))
    assert en == (
        "Sora 2 could not make this video (the provider said “Content flagged by moderation”); your 4 credits"
        " were returned — try again, perhaps with a different prompt."
    )
    assert "“Content flagged by moderation”" in zh and HAN.search(zh) and one_sentence(zh)
    assert "refunded its credits" not in en


def test_a_literal_vendor_message_is_quoted_and_clipped() -> None:
    long = "Your request was blocked. " + "x" * 500
    en = (
        of_task(TaskError(code="moderation_blocked", message=long))
        .sentence(model="Sora 2", cost=4)
        .render(EN)
    )
    assert en.startswith("Sora 2 could not make this video (the provider said “Your request was blocked. x")
    assert "…”)" in en and len(en) < 400


def test_a_refused_field_names_the_field_and_the_vendors_words() -> None:
    error = openai_error(400, {"message": "duration must be 4, 8 or 12.", "param": "seconds"})
    en = of_error(error).sentence(model="Sora 2", cost=4).render(EN)
    assert (
        en.startswith("The provider refused `") and "(the provider said “duration must be 4, 8 or 12”)" in en
    )
    assert en.endswith("— try other settings.") and one_sentence(en)


@pytest.mark.parametrize(
    ("error", "en"),
    [
        (
            KEY_REJECTED.error(code="LOGIN_REQUIRED", detail="d", http_status=401),
            "The provider refused the bot's API key; your 4 credits were returned — a server admin should check"
            " the provider settings.",
        ),
        (
            transport(TransportError("x", method="POST", url="u", maybe_sent=True, attempts=1), submit=True),
            "The provider did not answer in time; your 4 credits were returned — try again in a few minutes.",
        ),
        (
            NANOPHOTO_ERRORS["INSUFFICIENT_CREDITS"].error(
                code="INSUFFICIENT_CREDITS", detail="d", http_status=402
            ),
            "The provider account is out of credit; your 4 credits were returned — a server admin needs to top"
            " up the provider account.",
        ),
    ],
)
def test_refusals_say_who_can_fix_them(error: ProviderError, en: str) -> None:
    sentence = of_error(error).sentence(model="Sora 2", cost=4)
    assert sentence.render(EN) == en
    assert HAN.search(sentence.render(ZH)) and one_sentence(sentence.render(ZH))


@pytest.mark.parametrize("reason", [INTERNAL, TIMED_OUT, UNCONFIRMED])
def test_the_bots_own_failures_read_the_same_way(reason: failures.Reason) -> None:
    en, zh = both(reason.sentence(model="Veo 3.1", cost=12))
    assert "your 12 credits were returned — try again." in en and one_sentence(en)
    assert "12 积分已退还" in zh and one_sentence(zh)


def test_nothing_charged_says_so() -> None:
    en = of_task(None).sentence(model="Sora 2", cost=0).render(EN)
    assert (
        en
        == "Sora 2 could not make this video; nothing was charged — try again, perhaps with a different prompt."
    )


def test_an_unknown_key_reads_as_could_not_make_it() -> None:
    en = of_task(TaskError(code="X", message="m", key="provider.someday.new")).sentence(model="M", cost=1)
    assert en.render(EN).startswith("M could not make this video;")
