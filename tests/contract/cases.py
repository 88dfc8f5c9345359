"""One ``VendorCase`` per vendor fake, so the shared contract suite can speak to all of them alike.

Adding a vendor = one adapter module, one registry line, one fake, and one ``VendorCase`` here; then
``test_contract.py`` runs every shared test against it (and ``test_nanophoto_family.py`` too, for a
nanophoto kind). A case says how to script its fake in the vendor's own terms and what the vendor
calls the outcomes the contract checks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.providers.base import AnyRequest, TaskState, TextToVideo, TvcRequest
from bot.providers.freesora import FreeSoraPro
from bot.providers.http import VendorHttp
from bot.providers.nanophoto import NanophotoSora
from bot.providers.nanophoto_seedance import NanophotoSeedance
from bot.providers.nanophoto_tvc import NanophotoTvc
from bot.providers.nanophoto_veo import NanophotoVeo
from bot.providers.openai_videos import OpenAIVideos
from bot.providers.profiles import ProviderProfile
from bot.providers.registry import build_provider
from tests.contract.openai_spec import check_exchange
from tests.fakes import freesora, nanophoto, nanophoto_seedance, nanophoto_tvc, nanophoto_veo, openai_videos
from tests.fakes.vendor import FakeVendor

Script = Callable[[Any], None]


@dataclass(frozen=True)
class VendorCase:
    """What the contract suite needs from one vendor and its fake.

    ``script_*`` queue the next job's behaviour: to a video, to a failure, forever running (whose
    first poll shows ``first_poll``), or done in the create answer itself (its video at
    ``video_url``). ``codes`` are the vendor's words for a rejected key (``auth``), a gateway's
    HTML 5xx (``gateway``) and a server error at create (``server``). ``created_without_id`` is a
    create answer that starts something without naming it; ``status_saying`` a status answer with
    another status word. ``jobs`` are the jobs the fake has started; ``spec_problems`` what its
    exchanges broke of a published spec; ``family`` its model's family.
    """

    name: str
    kind: str
    adapter: type[Any]
    fake_class: type[FakeVendor]
    request: AnyRequest
    create_route: str
    image_by_url: bool
    script_success: Script
    script_failure: Script
    script_never: Script
    script_immediate: Script
    first_poll: Mapping[str, Any]
    video_url: Callable[[Any, str], str]
    auth_error_at_submit: Script
    rate_limit_at_submit: Script
    codes: Mapping[str, str]
    created_without_id: Mapping[str, Any]
    status_saying: Callable[[Any, str, str], dict[str, Any]]
    jobs: Callable[[Any], Mapping[str, Any]]
    spec_problems: Callable[[Any], list[str]] = field(default=lambda fake: [])
    family: str = "sora"  # the family of the case's model (``/sora`` makes only Sora-family videos)

    def open(self, **options: Any) -> FakeVendor:
        """A new fake of this vendor, to run with ``async with`` (``options``: the fake's own)."""
        return self.fake_class(**options)

    def profile(self, fake: Any, **overrides: Any) -> ProviderProfile:
        profile: ProviderProfile = fake.profile(**overrides)
        return profile

    def provider(self, fake: Any, http: VendorHttp, **overrides: Any) -> Any:
        return build_provider(self.profile(fake, **overrides), http)

    def calls(self, fake: Any, route: str) -> int:
        """How many requests ``route`` got (``FakeVendor.calls``: every fake counts alike)."""
        return len(fake.calls(route))


TEXT = TextToVideo(prompt="A lighthouse in a storm, slow dolly in")

NANOPHOTO = VendorCase(
    name="nanophoto",
    kind="nanophoto",
    adapter=NanophotoSora,
    fake_class=nanophoto.FakeNanophoto,
    request=TEXT,
    create_route="generate",
    image_by_url=True,
    script_success=lambda f: f.script_next(nanophoto.TaskScript(stages=("generating",))),
    script_failure=lambda f: f.script_next(nanophoto.TaskScript(outcome="failed")),
    script_never=lambda f: f.script_next(nanophoto.TaskScript(outcome="never")),
    script_immediate=lambda f: f.script_next(nanophoto.TaskScript(immediate=True)),
    first_poll={"state": TaskState.RUNNING, "stage": "generating", "progress_pct": None},
    video_url=lambda f, remote_id: f.video_url(remote_id),
    auth_error_at_submit=lambda f: f.fail_next("generate", status=401, code="LOGIN_REQUIRED", error="x"),
    rate_limit_at_submit=lambda f: f.force("generate", status=429, body=nanophoto.RATE_LIMIT_BODY),
    codes={"auth": "LOGIN_REQUIRED", "gateway": "HTTP_502", "server": "INTERNAL_ERROR"},
    created_without_id={"success": True, "status": "processing", "message": "Video generation in progress"},
    status_saying=lambda f, remote_id, word: {"success": True, "status": word, "taskId": remote_id},
    jobs=lambda f: f.tasks,
)

NANOPHOTO_TVC = VendorCase(
    name="nanophoto_tvc",
    kind="nanophoto_tvc",
    adapter=NanophotoTvc,
    fake_class=nanophoto_tvc.FakeNanophotoTvc,
    request=TvcRequest(ad_theme="Trail running shoes that grip wet rock"),
    create_route="generate",
    image_by_url=True,
    script_success=lambda f: f.script_next(nanophoto_tvc.TvcScript()),
    script_failure=lambda f: f.script_next(nanophoto_tvc.TvcScript(outcome="failed", at_step=2)),
    script_never=lambda f: f.script_next(nanophoto_tvc.TvcScript(outcome="never")),
    script_immediate=lambda f: f.script_next(nanophoto_tvc.TvcScript(immediate=True)),
    first_poll={"state": TaskState.RUNNING, "step": 1, "step_name": "Generating Storyboard Prompt"},
    video_url=lambda f, remote_id: f.video_url(remote_id),
    auth_error_at_submit=lambda f: f.fail_next("generate", status=401, code="LOGIN_REQUIRED", error="x"),
    rate_limit_at_submit=lambda f: f.force("generate", status=429, body=nanophoto.RATE_LIMIT_BODY),
    codes={"auth": "LOGIN_REQUIRED", "gateway": "HTTP_502", "server": "INTERNAL_ERROR"},
    created_without_id={"success": True, "status": "processing", "taskId": "video_task_1"},
    status_saying=lambda f, remote_id, word: {"success": True, "status": word, "recordId": remote_id},
    jobs=lambda f: f.records,
)

NANOPHOTO_VEO = VendorCase(
    name="nanophoto_veo",
    kind="nanophoto_veo",
    adapter=NanophotoVeo,
    fake_class=nanophoto_veo.FakeNanophotoVeo,
    request=TextToVideo(prompt="A lighthouse in a storm, slow dolly in", duration=8),
    create_route="generate",
    image_by_url=True,
    script_success=lambda f: f.script_next(nanophoto_veo.VeoScript()),
    script_failure=lambda f: f.script_next(nanophoto_veo.VeoScript(outcome="failed")),
    script_never=lambda f: f.script_next(nanophoto_veo.VeoScript(outcome="never")),
    script_immediate=lambda f: f.script_next(nanophoto_veo.VeoScript(immediate=True)),
    first_poll={"state": TaskState.RUNNING, "step": None, "video_url": None},
    video_url=lambda f, remote_id: f.video_url(remote_id),  # one shot: its own task's video
    auth_error_at_submit=lambda f: f.fail_next("generate", status=401, code="LOGIN_REQUIRED", error="x"),
    rate_limit_at_submit=lambda f: f.force("generate", status=429, body=nanophoto.RATE_LIMIT_BODY),
    codes={"auth": "LOGIN_REQUIRED", "gateway": "HTTP_502", "server": "INTERNAL_ERROR"},
    created_without_id={"success": True, "status": "processing"},
    status_saying=lambda f, remote_id, word: {
        "success": True,
        "status": word,
        "shots": [{"shotId": "shot-1", "taskId": remote_id, "status": word}],
    },
    jobs=lambda f: f.jobs,
    family="veo",
)

NANOPHOTO_SEEDANCE = VendorCase(
    name="nanophoto_seedance",
    kind="nanophoto_seedance",
    adapter=NanophotoSeedance,
    fake_class=nanophoto_seedance.FakeNanophotoSeedance,
    request=TextToVideo(prompt="A lighthouse in a storm, slow dolly in", duration=8),
    create_route="generate",
    image_by_url=True,
    script_success=lambda f: f.script_next(nanophoto.TaskScript(stages=("generating",))),
    script_failure=lambda f: f.script_next(nanophoto.TaskScript(outcome="failed")),
    script_never=lambda f: f.script_next(nanophoto.TaskScript(outcome="never")),
    script_immediate=lambda f: f.script_next(nanophoto.TaskScript(immediate=True)),
    first_poll={"state": TaskState.RUNNING, "stage": "generating", "progress_pct": None},
    video_url=lambda f, remote_id: f.video_url(remote_id),
    auth_error_at_submit=lambda f: f.fail_next("generate", status=401, code="LOGIN_REQUIRED", error="x"),
    rate_limit_at_submit=lambda f: f.force("generate", status=429, body=nanophoto.RATE_LIMIT_BODY),
    codes={"auth": "LOGIN_REQUIRED", "gateway": "HTTP_502", "server": "INTERNAL_ERROR"},
    created_without_id={"success": True, "status": "processing", "message": "Video generation in progress"},
    status_saying=lambda f, remote_id, word: {"success": True, "status": word, "taskId": remote_id},
    jobs=lambda f: f.tasks,
    family="seedance",
)

FREESORA = VendorCase(
    name="freesora",
    kind="freesora",
    adapter=FreeSoraPro,
    fake_class=freesora.FakeFreeSora,
    request=TEXT,
    create_route="create",
    image_by_url=False,
    script_success=lambda f: f.script_next(freesora.TaskScript()),
    script_failure=lambda f: f.script_next(freesora.TaskScript(outcome="failed")),
    script_never=lambda f: f.script_next(freesora.TaskScript(outcome="never")),
    script_immediate=lambda f: f.script_next(freesora.TaskScript(immediate=True)),
    first_poll={"state": TaskState.QUEUED, "progress_pct": 0},
    video_url=lambda f, remote_id: f.video_url(remote_id),
    auth_error_at_submit=lambda f: f.fail_next("create", status=401, message="Unauthorized"),
    rate_limit_at_submit=lambda f: f.error_200_next("create", code=1029, message="Too many concurrent tasks"),
    codes={"auth": "UNAUTHORIZED", "gateway": "INTERNAL_ERROR", "server": "INTERNAL_ERROR"},
    created_without_id={"code": 0, "message": "ok", "data": {}},
    status_saying=lambda f, remote_id, word: {
        "code": 0,
        "message": "Success",
        "data": {"taskId": remote_id, "status": word, "progress": 80},
    },
    jobs=lambda f: f.tasks,
)

OPENAI_VIDEOS = VendorCase(
    name="openai_videos",
    kind="openai_videos",
    adapter=OpenAIVideos,
    fake_class=openai_videos.FakeOpenAIVideos,
    request=TEXT,
    create_route="create",
    image_by_url=False,
    script_success=lambda f: f.script_next(openai_videos.VideoScript()),
    script_failure=lambda f: f.script_next(openai_videos.VideoScript(outcome="failed")),
    script_never=lambda f: f.script_next(openai_videos.VideoScript(outcome="never")),
    script_immediate=lambda f: f.script_next(openai_videos.VideoScript(immediate=True, direct_url=True)),
    first_poll={"state": TaskState.QUEUED, "progress_pct": 0},
    video_url=lambda f, remote_id: f.cdn_url(remote_id),
    auth_error_at_submit=lambda f: f.fail_next(
        "create",
        status=401,
        message="Incorrect API key provided.",
        type="invalid_request_error",
        code="invalid_api_key",
    ),
    rate_limit_at_submit=lambda f: f.rate_limit_next("create"),
    codes={"auth": "invalid_api_key", "gateway": "HTTP_502", "server": "server_error"},
    created_without_id={"status": "queued", "progress": 0},
    status_saying=lambda f, remote_id, word: f.video_object(f.videos[remote_id]) | {"status": word},
    jobs=lambda f: f.videos,
    spec_problems=check_exchange,
)

NANOPHOTO_CASES = [NANOPHOTO, NANOPHOTO_TVC, NANOPHOTO_VEO, NANOPHOTO_SEEDANCE]
CASES = [*NANOPHOTO_CASES, FREESORA, OPENAI_VIDEOS]
