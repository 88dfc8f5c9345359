"""One scenario driver per vendor fake, so the shared contract suite can speak to all of them alike.

Adding a vendor = one adapter module, one registry line, one fake, and one ``VendorCase`` here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any

from bot.providers.base import AnyRequest, TextToVideo, TvcRequest
from bot.providers.http import VendorHttp
from bot.providers.profiles import ProviderProfile
from bot.providers.registry import build_provider
from tests.fakes import freesora, nanophoto, nanophoto_tvc, openai_videos


@dataclass
class VendorCase:
    """What the contract suite needs from one vendor fake."""

    name: str
    open: Callable[[], AbstractAsyncContextManager[Any]]
    request: AnyRequest
    unknown_model_field: str
    script_success: Callable[[Any], None]
    script_failure: Callable[[Any], None]
    script_never: Callable[[Any], None]
    auth_error_at_submit: Callable[[Any], None]
    rate_limit_at_submit: Callable[[Any], None]
    server_error_on_poll: Callable[[Any, int], None]
    submit_calls: Callable[[Any], int]

    def profile(self, fake: Any) -> ProviderProfile:
        profile: ProviderProfile = fake.profile()
        return profile

    def provider(self, fake: Any, http: VendorHttp) -> Any:
        return build_provider(self.profile(fake), http)


def _opener(cls: type[Any], **kwargs: Any) -> Callable[[], AbstractAsyncContextManager[Any]]:
    @asynccontextmanager
    async def open_fake() -> AsyncIterator[Any]:
        async with cls(**kwargs) as fake:
            yield fake

    return open_fake


TEXT = TextToVideo(prompt="A lighthouse in a storm, slow dolly in")

CASES = [
    VendorCase(
        name="nanophoto",
        open=_opener(nanophoto.FakeNanophoto),
        request=TEXT,
        unknown_model_field="tier",
        script_success=lambda f: f.script_next(nanophoto.TaskScript(stages=("generating",))),
        script_failure=lambda f: f.script_next(nanophoto.TaskScript(outcome="failed")),
        script_never=lambda f: f.script_next(nanophoto.TaskScript(outcome="never")),
        auth_error_at_submit=lambda f: f.fail_next("generate", status=401, code="LOGIN_REQUIRED", error="x"),
        rate_limit_at_submit=lambda f: f.force("generate", status=429, body=nanophoto.RATE_LIMIT_BODY),
        server_error_on_poll=lambda f, n: f.fail_next("status", status=503, times=n),
        submit_calls=lambda f: len(f.calls("generate")),
    ),
    VendorCase(
        name="nanophoto_tvc",
        open=_opener(nanophoto_tvc.FakeNanophotoTvc),
        request=TvcRequest(ad_theme="Trail running shoes that grip wet rock"),
        unknown_model_field="tier",
        script_success=lambda f: f.script_next(nanophoto_tvc.TvcScript()),
        script_failure=lambda f: f.script_next(nanophoto_tvc.TvcScript(outcome="failed", at_step=2)),
        script_never=lambda f: f.script_next(nanophoto_tvc.TvcScript(outcome="never")),
        auth_error_at_submit=lambda f: f.fail_next("generate", status=401, code="LOGIN_REQUIRED", error="x"),
        rate_limit_at_submit=lambda f: f.force("generate", status=429, body=nanophoto.RATE_LIMIT_BODY),
        server_error_on_poll=lambda f, n: f.fail_next("status", status=503, times=n),
        submit_calls=lambda f: len(f.calls("generate")),
    ),
    VendorCase(
        name="freesora",
        open=_opener(freesora.FakeFreeSora),
        request=TEXT,
        unknown_model_field="tier",
        script_success=lambda f: f.script_next(freesora.TaskScript()),
        script_failure=lambda f: f.script_next(freesora.TaskScript(outcome="failed")),
        script_never=lambda f: f.script_next(freesora.TaskScript(outcome="never")),
        auth_error_at_submit=lambda f: f.fail_next("create", status=401, message="Unauthorized"),
        rate_limit_at_submit=lambda f: f.error_200_next(
            "create", code=1029, message="Too many concurrent tasks"
        ),
        server_error_on_poll=lambda f, n: f.fail_next("status", status=503, times=n),
        submit_calls=lambda f: len(f.calls("create")),
    ),
    VendorCase(
        name="openai_videos",
        open=_opener(openai_videos.FakeOpenAIVideos),
        request=TEXT,
        unknown_model_field="tier",
        script_success=lambda f: f.script_next(openai_videos.VideoScript()),
        script_failure=lambda f: f.script_next(openai_videos.VideoScript(outcome="failed")),
        script_never=lambda f: f.script_next(openai_videos.VideoScript(outcome="never")),
        auth_error_at_submit=lambda f: f.fail_next(
            "create",
            status=401,
            message="Incorrect API key provided.",
            type="invalid_request_error",
            code="invalid_api_key",
        ),
        rate_limit_at_submit=lambda f: f.rate_limit_next("create"),
        server_error_on_poll=lambda f, n: f.fail_next("status", status=503, times=n),
        submit_calls=lambda f: len(f.calls("create")),
    ),
]
