"""A vendor saying "this model is not served" is its own error, read the same way by every family.

The engine ends such a job at once, tells the managers and stops offering the model, so the error
must say so (``ProviderError.model_unavailable``), must not be retried and must not be confused with
a vendor that is only down for a while. nanophoto documents no code for it (our reading A11);
OpenAI-compatible relays answer ``code: model_not_found`` (C8).
"""

from __future__ import annotations

import pytest

from bot.providers.nanophoto_base import nanophoto_error
from bot.providers.openai_videos_errors import openai_error


def gone(err: object) -> tuple[object, ...]:
    e = err
    return (e.model_unavailable, e.retryable, e.blame, e.vendor_refunds)  # type: ignore[attr-defined]


GONE = (True, False, "vendor", True)


@pytest.mark.parametrize(
    ("code", "message", "status"),
    [
        ("MODEL_NOT_AVAILABLE", "x", 400),
        ("MODEL_UNAVAILABLE", "x", 503),
        ("MODEL_NOT_FOUND", "x", 404),
        ("MODEL_DEPRECATED", "x", 200),
        ("SERVICE_UNAVAILABLE", "The Veo 3.1 model is no longer available", 503),
        (None, "Model seedance-1.5-pro has been retired", 410),
        ("SOMETHING_NEW", "This model is discontinued", 400),
    ],
)
def test_nanophoto_codes_and_words_that_mean_the_model_is_gone(
    code: str | None, message: str, status: int
) -> None:
    err = nanophoto_error(code, message, status)
    assert gone(err) == GONE
    assert err.code == (code or f"HTTP_{status}") and "no longer offers" in err.user_message


@pytest.mark.parametrize(
    ("code", "message", "status"),
    [
        ("SERVICE_UNAVAILABLE", "Model temporarily unavailable, try later", 503),
        ("SERVICE_UNAVAILABLE", "Service unavailable", 503),
        ("GENERATION_FAILED", "The model is no longer available", 500),  # a documented code keeps its meaning
        ("MODEL_OVERLOADED", "Upstream model is overloaded", 200),
    ],
)
def test_nanophoto_errors_that_are_not_a_retirement(code: str, message: str, status: int) -> None:
    assert not nanophoto_error(code, message, status).model_unavailable


@pytest.mark.parametrize("status", [503, 404, 400, 500])
@pytest.mark.parametrize("route", ["create", "status"])
def test_openai_model_not_found_is_permanent_whatever_the_status(status: int, route: str) -> None:
    error = {
        "message": "No available channel for model sora-2 under group default (distributor)",
        "code": "model_not_found",
    }
    err = openai_error(status, error, route=route)
    assert gone(err) == GONE and err.code == "model_not_found" and err.http_status == status


def test_openai_no_channel_in_chinese_without_a_code() -> None:
    err = openai_error(
        503, {"message": "当前分组 default 下对于模型 sora-2 无可用渠道", "type": "new_api_error"}
    )
    assert gone(err) == GONE


def test_an_ordinary_503_is_still_worth_another_try() -> None:
    err = openai_error(503, {"message": "upstream overloaded", "type": "server_error"})
    assert not err.model_unavailable and err.retryable
