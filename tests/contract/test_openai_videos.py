"""The OpenAI-compatible ``/v1/videos`` adapter against the fake reseller, checked against the spec.

Only what the ``/v1/videos`` protocol does differently is here (status vocabularies, ``/content``
styles, the reference image, options, ``seconds``, remix); what every adapter does is in
``test_contract.py``. Every request the adapter sends (and every Video object it accepts) is
validated at teardown against ``tests/specs/openai-videos.openapi.json`` (``openai_spec.py``).
"""

from __future__ import annotations

import io
import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from PIL import Image

from bot.decoding import DecodePool
from bot.engine.pricing import PriceUnknown
from bot.errors import InvalidRequest
from bot.media import ImageError, fit_image, image_mime
from bot.providers import openai_videos
from bot.providers.base import (
    ApiKey,
    ImageToVideo,
    Options,
    Orientation,
    ProviderError,
    RemixRequest,
    TaskState,
    TextToVideo,
    TvcRequest,
)
from bot.providers.capabilities import PricePoint
from bot.providers.http import USER_AGENT, VendorHttp
from bot.providers.openai_videos import OpenAIVideos
from bot.providers.openai_videos_errors import openai_error
from bot.providers.openai_videos_objects import OPENAI_VIDEOS_WORDS as WORDS
from bot.providers.profiles import ProfileError
from bot.providers.registry import build_provider
from tests.contract.openai_spec import (
    check_exchange,
    create_validator,
    error_validator,
    remix_validator,
    spec_route,
    video_validator,
)
from tests.contract.support import RecordedSleep, point_cost, poll_until_done
from tests.fakes.openai_videos import (
    INPAINT_MISMATCH,
    FakeClock,
    FakeOpenAIVideos,
    VideoScript,
    mp4_bytes,
)
from tests.fakes.pictures import png_bomb

PROMPT = "A paper boat sailing down a rainy street, macro lens"


# ------------------------------------------------------------------------------------ fixtures


FakeFactory = Callable[..., Awaitable[FakeOpenAIVideos]]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def make_fake(clock: FakeClock) -> AsyncIterator[FakeFactory]:
    """Start fakes on demand; at teardown every exchange with each is checked against the spec."""
    started: list[FakeOpenAIVideos] = []

    async def make(**kwargs: Any) -> FakeOpenAIVideos:
        kwargs.setdefault("clock", clock)
        fake = await FakeOpenAIVideos(**kwargs).start()
        started.append(fake)
        return fake

    yield make
    for fake in started:
        await fake.stop()
    problems = [p for fake in started for p in check_exchange(fake)]
    assert not problems, "\n".join(problems)


@pytest.fixture
async def fake(make_fake: FakeFactory) -> FakeOpenAIVideos:
    return await make_fake()


@pytest.fixture
def provider(fake: FakeOpenAIVideos, http: VendorHttp) -> OpenAIVideos:
    return OpenAIVideos(fake.profile(), http)


def _image(width: int, height: int, *, mode: str = "RGB", fmt: str = "JPEG") -> bytes:
    img = Image.new(mode, (width, height), (200, 40, 40, 128) if mode == "RGBA" else (200, 40, 40))
    out = io.BytesIO()
    img.save(out, format=fmt)
    return out.getvalue()


class ImageHost:
    """A stand-in for Discord's attachment CDN on 127.0.0.1: ``/img/{name}`` serves ``files[name]``."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[bytes, str]] = {}
        self.auth_seen: list[str | None] = []
        self.base_url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        async def serve(request: web.Request) -> web.Response:
            self.auth_seen.append(request.headers.get("Authorization"))
            found = self.files.get(request.match_info["name"])
            if found is None:
                return web.Response(status=404, text="Not Found")
            return web.Response(body=found[0], content_type=found[1])

        app = web.Application()
        app.router.add_get("/img/{name}", serve)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.2)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self.base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        await web.SockSite(self._runner, sock).start()

    def put(self, name: str, data: bytes, content_type: str = "image/jpeg") -> str:
        self.files[name] = (data, content_type)
        return f"{self.base_url}/img/{name}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


@pytest.fixture
async def images() -> AsyncIterator[ImageHost]:
    host = ImageHost()
    await host.start()
    yield host
    await host.stop()


async def probe(fake: FakeOpenAIVideos, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
    """A raw request that is not the adapter's (another User-Agent, so the spec check skips it)."""
    import aiohttp

    headers = {"User-Agent": "probe/1", **kwargs.pop("headers", {})}
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, fake.base_url + path, headers=headers, **kwargs) as resp,
    ):
        return resp.status, await resp.json(content_type=None)


def _bearer(fake: FakeOpenAIVideos) -> dict[str, str]:
    return {"Authorization": f"Bearer {fake.keys['key-a']}"}


def _form(**fields: Any) -> Any:
    import aiohttp

    form = aiohttp.FormData(default_to_multipart=True)
    for name, value in fields.items():
        if isinstance(value, tuple):
            form.add_field(name, value[0], filename="ref", content_type=value[1])
        else:
            form.add_field(name, value)
    return form


# ------------------------------------------------------------------------------------ happy paths


async def test_text_to_video_end_to_end_with_bytes_content(
    fake: FakeOpenAIVideos, provider: OpenAIVideos, key: ApiKey
) -> None:
    fake.script_next(VideoScript(queued_polls=1, progress=(30, 70)))

    task = await provider.submit(TextToVideo(prompt=PROMPT), key)
    snaps = await poll_until_done(provider, task, key)

    assert task.remote_id.startswith("video_")
    assert task.extra == {"model": "sora-2", "seconds": "10", "size": "720x1280"}
    assert task.snapshot is not None and task.snapshot.state is TaskState.QUEUED
    assert [(s.state, s.progress_pct) for s in snaps] == [
        (TaskState.QUEUED, 0),
        (TaskState.RUNNING, 30),
        (TaskState.RUNNING, 70),
        (TaskState.SUCCEEDED, 100),
    ]
    (create,) = fake.calls("create")
    assert create.form == {"model": "sora-2", "prompt": PROMPT, "seconds": "10", "size": "720x1280"}
    assert create.files == {}
    assert create.key_name == key.name and create.user_agent == USER_AGENT
    assert [c.path for c in fake.calls("status")] == [f"/v1/videos/{task.remote_id}"] * 4

    source = await provider.open_result(snaps[-1], key)
    assert source.data is not None
    assert source.data == mp4_bytes(fake.video_size) and source.content_type == "video/mp4"
    assert source.url == fake.content_url(task.remote_id)
    assert fake.calls("content")[0].key_name == key.name


@pytest.mark.parametrize("vocabulary", ["openai", "reseller", "pending"])
async def test_every_vocabulary_reaches_success_and_failure(
    make_fake: FakeFactory, http: VendorHttp, vocabulary: str
) -> None:
    fake = await make_fake(vocabulary=vocabulary)
    provider, key = OpenAIVideos(fake.profile(), http), fake.api_key()
    fake.script_next(VideoScript(progress=(10,)), VideoScript(progress=(10,), outcome="failed"))

    ok = await poll_until_done(provider, await provider.submit(TextToVideo(prompt=PROMPT), key), key)
    bad = await poll_until_done(provider, await provider.submit(TextToVideo(prompt=PROMPT), key), key)

    assert [s.state for s in ok] == [TaskState.QUEUED, TaskState.RUNNING, TaskState.SUCCEEDED]
    assert bad[-1].state is TaskState.FAILED and bad[-1].error is not None
    assert (bad[-1].error.code, bad[-1].error.message) == (
        "video_generation_failed",
        "Video generation failed",
    )


@pytest.mark.parametrize(
    ("word", "state"),
    [*((w, TaskState.QUEUED) for w in sorted(WORDS.queued))]
    + [(w, TaskState.RUNNING) for w in sorted(WORDS.running)]
    + [(w, TaskState.SUCCEEDED) for w in sorted(WORDS.succeeded)]
    + [(w, TaskState.FAILED) for w in sorted(WORDS.failed)]
    + [("IN_PROGRESS", TaskState.RUNNING), ("rendering", TaskState.RUNNING)],
)
async def test_each_status_word_maps(
    fake: FakeOpenAIVideos,
    provider: OpenAIVideos,
    key: ApiKey,
    word: str,
    state: TaskState,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake.script_next(VideoScript(queued_polls=0, progress=(42,), running_word=word, outcome="never"))
    task = await provider.submit(TextToVideo(prompt=PROMPT), key)
    caplog.set_level(logging.WARNING, logger="bot.providers.openai_videos")

    snap = await provider.poll(task, key)

    assert snap.state is state and snap.progress_pct == 42
    assert snap.raw["status"] == word
    unknown = WORDS.state(word) is None
    assert unknown == (word == "rendering")
    assert any("unknown status 'rendering'" in r.getMessage() for r in caplog.records) == unknown


async def test_failure_on_a_cancelled_word_without_error_object(
    fake: FakeOpenAIVideos, provider: OpenAIVideos, key: ApiKey
) -> None:
    task = await provider.submit(TextToVideo(prompt=PROMPT), key)
    obj = fake.video_object(fake.videos[task.remote_id]) | {"status": "cancelled", "error": None}
    fake.force("status", body=obj)

    snap = await provider.poll(task, key)

    assert snap.state is TaskState.FAILED and snap.error is not None
    assert (snap.error.code, snap.error.message) == ("CANCELLED", "the task was cancelled")


async def test_progress_by_time_and_a_task_that_never_finishes(
    fake: FakeOpenAIVideos, provider: OpenAIVideos, key: ApiKey, clock: FakeClock
) -> None:
    fake.script_next(
        VideoScript(queued_polls=1, progress=(20, 60), advance="time", step_seconds=30, outcome="never")
    )
    task = await provider.submit(TextToVideo(prompt=PROMPT), key)

    seen = []
    for _ in range(5):
        snap = await provider.poll(task, key)
        seen.append((snap.state, snap.progress_pct))
        clock.advance(30)

    assert seen == [
        (TaskState.QUEUED, 0),
        (TaskState.RUNNING, 20),
        (TaskState.RUNNING, 60),
        (TaskState.RUNNING, 60),
        (TaskState.RUNNING, 60),
    ]


@pytest.mark.parametrize("id_field", ["id", "task_id", "data.id"])
async def test_the_task_id_is_found_where_the_reseller_puts_it(
    fake: FakeOpenAIVideos, provider: OpenAIVideos, key: ApiKey, id_field: Any
) -> None:
    fake.script_next(VideoScript(id_field=id_field))

    task = await provider.submit(TextToVideo(prompt=PROMPT), key)

    assert task.remote_id in fake.videos
    assert task.snapshot is not None and task.snapshot.state is TaskState.QUEUED


# ------------------------------------------------------------------------------------ /content styles


async def test_content_redirect_returns_the_cdn_link_without_leaking_the_key(
    make_fake: FakeFactory, http: VendorHttp
) -> None:
    fake = await make_fake(content_style="redirect")
    provider, key = OpenAIVideos(fake.profile(), http), fake.api_key()
    fake.script_next(VideoScript(queued_polls=0, progress=()))
    task = await provider.submit(TextToVideo(prompt=PROMPT), key)
    (done,) = await poll_until_done(provider, task, key)

    source = await provider.open_result(done, key)

    assert source.data is None and source.url == fake.cdn_url(task.remote_id)
    assert fake.calls("content")[0].status == 302
    # Not followed: the target is the vendor's to name, so only bot.net fetches it (and sends no key).
    assert fake.calls("cdn") == []
    got = await http.fetcher.get(source.url, max_bytes=1 << 20)
    assert (got.status, got.content_type) == (200, "video/mp4")
    (cdn,) = fake.calls("cdn")
    assert cdn.authorization is None


@pytest.mark.parametrize("field", ["video_url", "url", "download_url"])
async def test_content_json_returns_its_link(make_fake: FakeFactory, http: VendorHttp, field: Any) -> None:
    fake = await make_fake(content_style="json")
    provider, key = OpenAIVideos(fake.profile(), http), fake.api_key()
    fake.script_next(VideoScript(queued_polls=0, progress=(), json_url_field=field))
    task = await provider.submit(TextToVideo(prompt=PROMPT), key)
    (done,) = await poll_until_done(provider, task, key)

    source = await provider.open_result(done, key)

    assert source.url == fake.cdn_url(task.remote_id) and fake.count("cdn") == 0


async def test_a_direct_link_in_the_status_object_is_preferred(
    fake: FakeOpenAIVideos, provider: OpenAIVideos, key: ApiKey
) -> None:
    fake.script_next(VideoScript(queued_polls=0, progress=(), direct_url=True))
    task = await provider.submit(TextToVideo(prompt=PROMPT), key)
    (done,) = await poll_until_done(provider, task, key)

    assert done.video_url == fake.cdn_url(task.remote_id)
    assert (await provider.open_result(done, key)).url == done.video_url
    assert fake.count("content") == 0


async def test_content_errors_and_retries(
    fake: FakeOpenAIVideos, provider: OpenAIVideos, key: ApiKey, sleeps: RecordedSleep
) -> None:
    fake.script_next(VideoScript(queued_polls=0, progress=()))
    task = await provider.submit(TextToVideo(prompt=PROMPT), key)
    (done,) = await poll_until_done(provider, task, key)

    fake.fail_next("content", status=503)
    assert (await provider.open_result(done, key)).data is not None  # the GET is safe to repeat
    assert len(sleeps.delays) == 1

    fake.force("content", body={"id": task.remote_id, "status": "completed"})
    with pytest.raises(ProviderError) as no_link:
        await provider.open_result(done, key)
    assert no_link.value.code == "MALFORMED_RESPONSE"


# ------------------------------------------------------------------------------------ image to video


@pytest.mark.parametrize(
    ("orientation", "high_quality", "model", "size"),
    [
        (Orientation.PORTRAIT, None, None, (720, 1280)),
        (Orientation.LANDSCAPE, None, None, (1280, 720)),
        (Orientation.PORTRAIT, True, "sora-2-pro", (1024, 1792)),
        (Orientation.LANDSCAPE, True, "sora-2-pro", (1792, 1024)),
        (Orientation.LANDSCAPE, False, "sora-2-pro", (1280, 720)),
    ],
)
async def test_the_image_is_resized_to_exactly_the_size(
    fake: FakeOpenAIVideos,
    provider: OpenAIVideos,
    key: ApiKey,
    images: ImageHost,
    orientation: Orientation,
    high_quality: bool | None,
    model: str | None,
    size: tuple[int, int],
) -> None:
    url = images.put("cat.jpg", _image(3000, 2000))
    req = ImageToVideo(
        prompt="Make the cat blink",
        image_url=url,
        orientation=orientation,
        model=model,
        options=Options(high_quality=high_quality),
    )

    await provider.submit(req, key)

    (create,) = fake.calls("create")
    assert create.status == 200
    ref = create.files["input_reference"]
    assert ref.size == size and ref.content_type == "image/jpeg" and ref.filename == "reference.jpg"
    assert create.form is not None and create.form["size"] == f"{size[0]}x{size[1]}"
    assert images.auth_seen == [None]  # the vendor key never goes to the image host


async def test_a_transparent_image_stays_png(
    fake: FakeOpenAIVideos, provider: OpenAIVideos, key: ApiKey, images: ImageHost
) -> None:
    url = images.put("logo.png", _image(500, 500, mode="RGBA", fmt="PNG"), "image/png")

    await provider.submit(ImageToVideo(prompt="Spin the logo", image_url=url), key)

    ref = fake.calls("create")[0].files["input_reference"]
    assert (ref.size, ref.content_type, ref.filename) == ((720, 1280), "image/png", "reference.png")


async def test_a_create_sent_again_after_a_rate_limit_does_not_decode_the_picture_again(
    fake: FakeOpenAIVideos, http: VendorHttp, key: ApiKey, images: ImageHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    fitted: list[tuple[int, int]] = []

    def counting_fit(data: bytes, width: int, height: int) -> bytes:
        fitted.append((width, height))
        return fit_image(data, width, height)

    monkeypatch.setattr(openai_videos, "fit_image", counting_fit)
    async with DecodePool() as pool:
        provider = build_provider(fake.profile(), http, pool)
        assert isinstance(provider, OpenAIVideos) and provider.decoder is pool  # the process's one pool
        req = ImageToVideo(prompt="Make the cat blink", image_url=images.put("cat.jpg", _image(3000, 2000)))
        fake.rate_limit_next("create")
        with pytest.raises(ProviderError) as limited:
            await provider.submit(req, key)
        assert limited.value.rate_limited
        await provider.submit(req, key)  # what the engine does: the same request, its turn again
    assert fitted == [(720, 1280)] and len(images.auth_seen) == 1  # fetched once, decoded once, on the pool
    first, second = fake.calls("create")
    assert first.files["input_reference"].data == second.files["input_reference"].data
    assert pool.peak == 1


@pytest.mark.parametrize(
    ("name", "body", "ctype", "words"),
    [
        ("notes.jpg", b"this is not an image", "image/jpeg", "not an image"),
        ("cut.jpg", _image(800, 600)[:300], "image/jpeg", "damaged"),
        (
            "bomb.png",
            png_bomb(7000, 7000),
            "image/png",
            "7000x7000 pixels, and a reference image can have at most 16",
        ),
        ("gone.jpg", None, "", "could not download"),
    ],
)
async def test_an_unusable_image_is_the_members_to_fix_and_nothing_is_created(
    fake: FakeOpenAIVideos,
    provider: OpenAIVideos,
    key: ApiKey,
    images: ImageHost,
    name: str,
    body: bytes | None,
    ctype: str,
    words: str,
) -> None:
    url = images.put(name, body, ctype) if body is not None else f"{images.base_url}/img/{name}"

    with pytest.raises(ProviderError) as info:
        await provider.submit(ImageToVideo(prompt="Animate", image_url=url), key)

    err = info.value
    assert (err.code, err.blame, err.retryable) == ("IMAGE_UNUSABLE", "user", False)
    assert words in err.user_message
    assert fake.count("create") == 0


def test_fit_image_cover_crops_and_refuses_non_images() -> None:
    wide = Image.new("RGB", (400, 100), (0, 0, 255))
    for x in range(150, 250):
        for y in range(100):
            wide.putpixel((x, y), (255, 0, 0))
    buf = io.BytesIO()
    wide.save(buf, format="PNG")

    out = fit_image(buf.getvalue(), 100, 100)

    with Image.open(io.BytesIO(out)) as img:
        assert img.size == (100, 100) and image_mime(out) == "image/jpeg"
        r, _g, b = img.convert("RGB").getpixel((50, 50))  # type: ignore[misc]
        assert r > 200 and b < 60  # the centre was kept, not letterboxed
    with pytest.raises(ImageError):
        fit_image(b"", 10, 10)
    with pytest.raises(ImageError):
        fit_image(b"GIF89a-not-really", 10, 10)


# ------------------------------------------------------------------------------------ options


async def test_booleans_and_character_go_out_as_reseller_text(
    fake: FakeOpenAIVideos, provider: OpenAIVideos, key: ApiKey
) -> None:
    opts = Options(
        watermark=False,
        private=True,
        character_url="https://cdn.example.com/cameo.mp4",
        character_start=1.5,
        character_end=3.5,
    )

    task = await provider.submit(TextToVideo(prompt=PROMPT, duration=15, options=opts), key)

    assert fake.calls("create")[0].form == {
        "model": "sora-2",
        "prompt": PROMPT,
        "seconds": "15",
        "size": "720x1280",
        "watermark": "false",
        "private": "true",
        "character_url": "https://cdn.example.com/cameo.mp4",
        "character_timestamps": "1.5,3.5",
    }
    assert task.extra["private"] == "true" and fake.videos[task.remote_id].private


@pytest.mark.parametrize(
    ("opts", "field"),
    [
        (
            Options(character_url="https://x.example/v.mp4", character_start=1.0, character_end=1.5),
            "character_end",
        ),
        (
            Options(character_url="https://x.example/v.mp4", character_start=0.0, character_end=3.5),
            "character_end",
        ),
        (Options(character_url="https://x.example/v.mp4", character_start=2.0), "character_end"),
        (Options(character_url="https://x.example/v.mp4", character_end=2.0), "character_start"),
        (Options(character_start=1.0, character_end=2.0), "character_url"),
        (Options(character_url="file:///tmp/v.mp4", character_start=1.0, character_end=2.0), "character_url"),
        (Options(high_quality=True), "high_quality"),
    ],
)
async def test_invalid_options_are_refused_before_any_call(
    fake: FakeOpenAIVideos, provider: OpenAIVideos, key: ApiKey, opts: Options, field: str
) -> None:
    req = TextToVideo(prompt=PROMPT, options=opts)  # sora-2: not a pro model

    with pytest.raises(InvalidRequest) as info:
        provider.capabilities.validate_request(req)
    assert info.value.field == field
    with pytest.raises(InvalidRequest):
        await provider.submit(req, key)
    assert fake.requests == []


@pytest.mark.parametrize(("start", "end"), [(0.0, 1.0), (2.25, 5.25), (10.0, 12.0)])
async def test_character_spans_of_one_to_three_seconds_are_accepted(
    fake: FakeOpenAIVideos, provider: OpenAIVideos, key: ApiKey, start: float, end: float
) -> None:
    opts = Options(character_url="https://x.example/v.mp4", character_start=start, character_end=end)

    await provider.submit(TextToVideo(prompt=PROMPT, options=opts), key)

    assert fake.calls("create")[0].status == 200


async def test_pro_only_sizes(make_fake: FakeFactory, http: VendorHttp) -> None:
    fake = await make_fake(models=("sora-2", "sora-2-pro", "sora_video2-pro"))
    provider, key = OpenAIVideos(fake.profile(), http), fake.api_key()
    assert provider.capabilities.pro_models == {"sora-2-pro", "sora_video2-pro"}

    await provider.submit(
        TextToVideo(prompt=PROMPT, model="sora_video2-pro", options=Options(high_quality=True)), key
    )
    with pytest.raises(InvalidRequest, match="pro"):
        await provider.submit(TextToVideo(prompt=PROMPT, options=Options(high_quality=True)), key)

    assert [c.form["size"] for c in fake.calls("create") if c.form] == ["1024x1792"]
    status, body = await probe(
        fake,
        "POST",
        "/v1/videos",
        data=_form(model="sora-2", prompt="x", size="1792x1024"),
        headers=_bearer(fake),
    )
    assert (status, body["error"]["param"]) == (400, "size")


# ------------------------------------------------------------------------------------ seconds


async def test_seconds_follow_the_profile(make_fake: FakeFactory, http: VendorHttp) -> None:
    fake = await make_fake(allowed_seconds=(4, 8, 12))
    provider, key = OpenAIVideos(fake.profile(), http), fake.api_key()
    assert provider.capabilities.durations == (4, 8, 12)

    await provider.submit(TextToVideo(prompt=PROMPT, duration=12), key)
    with pytest.raises(InvalidRequest) as info:
        await provider.submit(TextToVideo(prompt=PROMPT, duration=10), key)

    assert info.value.field == "duration"
    assert [c.form["seconds"] for c in fake.calls("create") if c.form] == ["12"]


async def test_one_profile_gives_each_model_its_own_seconds(make_fake: FakeFactory, http: VendorHttp) -> None:
    """A reseller whose sora-2-pro takes 15/25 s while sora-2 takes 10/15 works with one profile."""
    fake = await make_fake(allowed_seconds=(10, 15, 25))
    profile = fake.profile(
        models=("sora-2", "sora-2-pro"), durations=(10, 15), model_durations={"sora-2-pro": (15, 25)}
    )
    provider, key = OpenAIVideos(profile, http), fake.api_key()
    caps = provider.capabilities
    assert [(s.name, s.durations) for s in caps.specs] == [("sora-2", (10, 15)), ("sora-2-pro", (15, 25))]

    await provider.submit(TextToVideo(prompt=PROMPT, model="sora-2-pro", duration=25), key)
    with pytest.raises(InvalidRequest) as info:
        await provider.submit(TextToVideo(prompt=PROMPT, model="sora-2", duration=25), key)
    assert (info.value.field, info.value.allowed) == ("duration", "10 s, 15 s")
    assert [c.form["seconds"] for c in fake.calls("create") if c.form] == ["25"]
    with pytest.raises(ProfileError, match="model_durations"):
        OpenAIVideos(fake.profile(model_durations={"sora-3": (10,)}), http)


async def test_one_profile_gives_each_model_its_own_sizes(make_fake: FakeFactory, http: VendorHttp) -> None:
    """Sizes per model: a portrait-only model, and a pro model this reseller gives no large size."""
    fake = await make_fake(models=("sora-2", "sora-2-pro"))
    sizes = {"sora-2": ("720x1280",), "sora-2-pro": ("720x1280", "1280x720")}
    profile = fake.profile(models=("sora-2", "sora-2-pro"), model_sizes=sizes)
    provider, key = OpenAIVideos(profile, http), fake.api_key()
    caps = provider.capabilities
    assert caps.spec("sora-2").orientations == (Orientation.PORTRAIT,)
    assert caps.spec("sora-2-pro").orientations == (Orientation.PORTRAIT, Orientation.LANDSCAPE)
    assert caps.pro_models == frozenset()
    landscape = TextToVideo(prompt=PROMPT, model="sora-2", orientation=Orientation.LANDSCAPE)
    with pytest.raises(InvalidRequest) as info:
        await provider.submit(landscape, key)
    assert info.value.field == "aspect" and info.value.allowed == "portrait"
    large = TextToVideo(prompt=PROMPT, model="sora-2-pro", options=Options(high_quality=True))
    with pytest.raises(InvalidRequest) as info:
        await provider.submit(large, key)
    assert info.value.field == "high_quality"
    await provider.submit(
        TextToVideo(prompt=PROMPT, model="sora-2-pro", orientation=Orientation.LANDSCAPE), key
    )
    assert [c.form["size"] for c in fake.calls("create") if c.form] == ["1280x720"]
    with pytest.raises(ProfileError, match="model_sizes"):
        OpenAIVideos(fake.profile(model_sizes={"sora-2": ("640x480",)}), http)


async def test_defaults_are_ten_and_fifteen_and_the_vendor_has_the_last_word(
    fake: FakeOpenAIVideos, http: VendorHttp, key: ApiKey
) -> None:
    default = OpenAIVideos(fake.profile(durations=None, models=None), http)
    assert default.capabilities.durations == (10, 15)
    assert default.capabilities.models == ("sora-2", "sora-2-pro")
    assert default.capabilities.default_model == "sora-2"

    loose = OpenAIVideos(fake.profile(durations=(10, 15, 25)), http)
    with pytest.raises(ProviderError) as info:
        await loose.submit(TextToVideo(prompt=PROMPT, duration=25), key)

    err = info.value
    assert (err.code, err.blame, err.retryable, err.http_status) == ("invalid_value", "user", False, 400)
    assert "`duration`" in err.user_message and "[param=seconds]" in err.detail


async def test_an_echoed_seconds_mismatch_is_logged_once(
    fake: FakeOpenAIVideos, provider: OpenAIVideos, key: ApiKey, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.providers.openai_videos")
    fake.script_next(VideoScript(echo_seconds="10", progress=(10, 20)))

    task = await provider.submit(TextToVideo(prompt=PROMPT, duration=15), key)
    snap = await provider.poll(task, key)
    await provider.poll(task, key)

    warnings = [r.getMessage() for r in caplog.records if "asked for 15 s" in r.getMessage()]
    assert len(warnings) == 1 and "'10'" in warnings[0]
    assert snap.raw["seconds"] == "10"


# ------------------------------------------------------------------------------------ remix


async def test_remix_of_a_finished_video(fake: FakeOpenAIVideos, provider: OpenAIVideos, key: ApiKey) -> None:
    fake.script_next(VideoScript(queued_polls=0, progress=()), VideoScript(queued_polls=0, progress=(50,)))
    source = await provider.submit(TextToVideo(prompt=PROMPT, model="sora-2-pro", duration=15), key)
    await poll_until_done(provider, source, key)

    task = await provider.submit(RemixRequest(prompt="Now at night", source_remote_id=source.remote_id), key)
    snaps = await poll_until_done(provider, task, key)

    (remix,) = fake.calls("remix")
    assert remix.path == f"/v1/videos/{source.remote_id}/remix"
    assert remix.json == {"prompt": "Now at night", "model": "sora-2"}
    assert task.extra == {"model": "sora-2", "remix_of": source.remote_id}
    assert snaps[-1].state is TaskState.SUCCEEDED
    assert fake.videos[task.remote_id].remixed_from == source.remote_id
    assert snaps[-1].raw["remixed_from_video_id"] == source.remote_id


async def test_remix_of_a_private_video_is_refused(
    fake: FakeOpenAIVideos, provider: OpenAIVideos, key: ApiKey, http: VendorHttp
) -> None:
    fake.script_next(VideoScript(queued_polls=0, progress=()))
    source = await provider.submit(TextToVideo(prompt=PROMPT, options=Options(private=True)), key)
    await poll_until_done(provider, source, key)
    req = RemixRequest(prompt="Again", source_remote_id=source.remote_id)

    with pytest.raises(ProviderError) as known:
        await provider.submit(req, key)
    assert (known.value.code, known.value.blame) == ("PRIVATE_SOURCE", "user")
    assert fake.count("remix") == 0

    fresh = OpenAIVideos(fake.profile(), http)  # e.g. after a restart: only the vendor knows
    with pytest.raises(ProviderError) as vendor:
        await fresh.submit(req, key)
    assert (vendor.value.code, vendor.value.blame, vendor.value.http_status) == ("video_private", "user", 400)
    assert "Private videos cannot be remixed" in vendor.value.user_message


async def test_remix_refusals(fake: FakeOpenAIVideos, provider: OpenAIVideos, key: ApiKey) -> None:
    with pytest.raises(InvalidRequest) as opts:
        await provider.submit(
            RemixRequest(prompt="x", source_remote_id="video_1", options=Options(watermark=True)), key
        )
    assert opts.value.field == "watermark"
    with pytest.raises(ProviderError) as missing:
        await provider.submit(RemixRequest(prompt="x", source_remote_id="video_nope"), key)
    assert (missing.value.blame, missing.value.http_status) == ("user", 404)
    assert "expire" in missing.value.user_message


# ------------------------------------------------------------------------------------ errors


@pytest.mark.parametrize(
    ("status", "etype", "code", "param", "expect"),
    [
        (400, "invalid_request_error", "invalid_value", "prompt", ("user", False, 400, False)),
        (400, "invalid_request_error", "invalid_value", "model", ("operator", False, 400, False)),
        (401, "invalid_request_error", "invalid_api_key", None, ("operator", False, 401, False)),
        (403, "permission_error", None, None, ("operator", False, 403, False)),
        (402, "billing_error", None, None, ("operator", False, 402, False)),
        (429, "insufficient_quota", "insufficient_quota", None, ("operator", False, 402, False)),
        (429, "requests", "rate_limit_exceeded", None, ("operator", True, 429, True)),
        (500, "server_error", None, None, ("vendor", True, 500, False)),
        (503, "server_error", None, None, ("vendor", True, 503, False)),
    ],
)
async def test_error_mapping_at_create(
    fake: FakeOpenAIVideos,
    provider: OpenAIVideos,
    key: ApiKey,
    sleeps: RecordedSleep,
    status: int,
    etype: str,
    code: str | None,
    param: str | None,
    expect: tuple[str, bool, int, bool],
) -> None:
    fake.fail_next(
        "create",
        status=status,
        message="Vendor words.",
        type=etype,
        code=code,
        param=param,
        headers={"Retry-After": "7"},
    )

    with pytest.raises(ProviderError) as info:
        await provider.submit(TextToVideo(prompt=PROMPT), key)

    err = info.value
    assert (err.blame, err.retryable, err.http_status, err.rate_limited) == expect
    assert err.code == (code or etype)
    assert err.retry_after == (7.0 if err.rate_limited else None)
    assert fake.count("create") == 1 and sleeps.delays == []  # a create is never repeated
    if status in (401, 403):
        assert "check the key" in err.user_message
    if expect[2] == 402:
        assert "top it up" in err.user_message
    if param == "prompt":
        assert "`prompt`" in err.user_message and "Vendor words" in err.user_message


def test_openai_error_without_a_body() -> None:
    assert openai_error(502, None, body_text="<html>Bad Gateway</html>").code == "HTTP_502"
    assert openai_error(404, None, route="status").user_message.startswith("The video provider no longer")
    err = openai_error(
        400, {"message": INPAINT_MISMATCH, "param": "input_reference", "type": "invalid_request_error"}
    )
    assert "`image`" in err.user_message and err.blame == "user"


async def test_a_rate_limited_poll_honours_retry_after(
    fake: FakeOpenAIVideos, provider: OpenAIVideos, key: ApiKey
) -> None:
    task = await provider.submit(TextToVideo(prompt=PROMPT), key)
    fake.rate_limit_next("status", retry_after=3)

    with pytest.raises(ProviderError) as limited:
        await provider.poll(task, key)

    assert limited.value.rate_limited and limited.value.retry_after == 3.0


async def test_an_error_envelope_on_http_200_is_an_error_not_a_video(
    fake: FakeOpenAIVideos, provider: OpenAIVideos, key: ApiKey
) -> None:
    task = await provider.submit(TextToVideo(prompt=PROMPT), key)
    fake.force(
        "status", body={"error": {"message": "busy", "type": "server_error", "param": None, "code": None}}
    )

    with pytest.raises(ProviderError) as in_200:
        await provider.poll(task, key)

    assert (in_200.value.code, in_200.value.retryable) == ("server_error", True)


async def test_the_key_never_appears_in_errors_or_logs(
    fake: FakeOpenAIVideos, http: VendorHttp, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    key = fake.api_key()
    secret = key.secret.get_secret_value()
    provider = OpenAIVideos(fake.profile(request_timeout=0.2), http)
    fake.script_next(
        VideoScript(queued_polls=0, progress=(), outcome="failed", fail_message=f"echo {secret}")
    )
    task = await provider.submit(TextToVideo(prompt=PROMPT), key)
    failed = await provider.poll(task, key)
    fake.fail_next(
        "status",
        status=400,
        message=f"bad token {secret}",
        type="invalid_request_error",
        code="invalid_value",
    )
    fake.malformed_next("status", status=401, text=f"<html>Bearer {secret}</html>")
    fake.malformed_next("create", text=f"<p>{secret}</p>")
    fake.slow_next("create", 1.0)
    errors: list[BaseException] = []
    for call in (
        provider.poll(task, key),
        provider.poll(task, key),
        provider.submit(TextToVideo(prompt=PROMPT), key),
        provider.submit(TextToVideo(prompt=PROMPT), key),
    ):
        with pytest.raises(ProviderError) as info:
            await call
        errors.append(info.value)

    assert [getattr(e, "code", None) for e in errors] == [
        "invalid_value",
        "HTTP_401",
        "MALFORMED_RESPONSE",
        "NO_RESPONSE",
    ]
    texts = [str(failed.error), repr(failed)]
    for e in errors:
        texts += [str(e), repr(e), *map(str, e.args), *(str(v) for v in vars(e).values())]
    texts += [r.getMessage() for r in caplog.records]
    assert caplog.records
    assert not [t for t in texts if secret in t]
    assert secret not in caplog.text


# ------------------------------------------------------------------------------------ capabilities


async def test_capabilities_and_profile_checks(
    fake: FakeOpenAIVideos, http: VendorHttp, provider: OpenAIVideos
) -> None:
    caps = provider.capabilities
    assert {k.value for k in caps.kinds} == {"text", "image", "remix"}
    assert all(s.switches == {"watermark", "private", "high_quality", "character"} for s in caps.specs)
    with pytest.raises(InvalidRequest) as kind:
        caps.validate_request(TvcRequest(ad_theme="shoes"))
    assert kind.value.field == "kind"

    custom = OpenAIVideos(fake.profile(models=("sora_video2",)), http)  # C1: the model is config
    assert custom.capabilities.default_model == "sora_video2" and not custom.capabilities.pro_models
    with pytest.raises(ProfileError, match="models"):
        OpenAIVideos(fake.profile(models=()), http)
    with pytest.raises(ProfileError, match="durations"):
        OpenAIVideos(fake.profile(durations=(0,)), http)


async def test_reference_prices_and_profile_overrides(fake: FakeOpenAIVideos, http: VendorHttp) -> None:
    profile = fake.profile(models=("sora-2", "sora-2-pro"), durations=(10, 15, 25), prices={"sora-2:10": 12})
    provider = OpenAIVideos(profile, http)
    vendor = {p: c for s in provider.capabilities.specs for p, c in s.prices.items()}
    assert vendor == {  # lconai publishes none: nanophoto's comparable tiers
        PricePoint("sora-2", 10): 4,
        PricePoint("sora-2", 15): 8,
        PricePoint("sora-2", 25): 13,
        PricePoint("sora-2-pro", 10): 60,
        PricePoint("sora-2-pro", 15): 100,
        PricePoint("sora-2-pro", 25): 163,
    }
    assert point_cost(provider, profile, "sora-2", 10) == 12
    assert point_cost(provider, profile, "sora-2-pro", 15) == 100
    with pytest.raises(PriceUnknown):
        point_cost(provider, profile, "sora-2", 12)


# ------------------------------------------------------------------------------------ the fake is strict


@pytest.mark.parametrize(
    ("fields", "param", "message"),
    [
        ({"prompt": "x"}, "model", "Missing required parameter"),
        ({"model": "sora-2"}, "prompt", "Missing required parameter"),
        ({"model": "sora-3", "prompt": "x"}, "model", "Invalid model"),
        ({"model": "sora-2", "prompt": "x", "seconds": "12"}, "seconds", "Supported values"),
        ({"model": "sora-2", "prompt": "x", "size": "640x480"}, "size", "Supported values"),
        ({"model": "sora-2", "prompt": "x", "watermark": "True"}, "watermark", "'true' or 'false'"),
        ({"model": "sora-2", "prompt": "x", "private": "1"}, "private", "'true' or 'false'"),
        (
            {"model": "sora-2", "prompt": "x", "input_reference": "file:///tmp/a.png"},
            "input_reference",
            "file",
        ),
        ({"model": "sora-2", "prompt": "x", "n": "2"}, "n", "Unrecognized"),
        (
            {
                "model": "sora-2",
                "prompt": "x",
                "character_url": "https://a/v.mp4",
                "character_timestamps": "0,4",
            },
            "character_timestamps",
            "between 1 and 3",
        ),
        (
            {"model": "sora-2", "prompt": "x", "character_url": "https://a/v.mp4"},
            "character_timestamps",
            "together",
        ),
        (
            {
                "model": "sora-2",
                "prompt": "x",
                "size": "1280x720",
                "input_reference": (_image(720, 1280), "image/jpeg"),
            },
            "input_reference",
            INPAINT_MISMATCH,
        ),
        (
            {"model": "sora-2", "prompt": "x", "input_reference": (b"not an image", "image/png")},
            "input_reference",
            "Invalid file format",
        ),
    ],
)
async def test_the_fake_refuses_what_the_vendor_refuses(
    fake: FakeOpenAIVideos, fields: dict[str, Any], param: str, message: str
) -> None:
    status, body = await probe(fake, "POST", "/v1/videos", data=_form(**fields), headers=_bearer(fake))

    assert status == 400 and error_validator().is_valid(body)
    assert body["error"]["param"] == param and message in body["error"]["message"]
    assert body["error"]["type"] == "invalid_request_error"
    assert fake.videos == {}


async def test_the_fake_wants_multipart_and_a_key(fake: FakeOpenAIVideos) -> None:
    status, body = await probe(
        fake, "POST", "/v1/videos", json={"model": "sora-2", "prompt": "x"}, headers=_bearer(fake)
    )
    assert status == 400 and "multipart" in body["error"]["message"]
    status, body = await probe(fake, "POST", "/v1/videos", data=_form(model="sora-2", prompt="x"))
    assert status == 401 and body["error"]["code"] == "invalid_api_key" and error_validator().is_valid(body)
    status, body = await probe(fake, "GET", "/v1/videos/video_nope", headers=_bearer(fake))
    assert status == 404 and body["error"]["code"] == "not_found"


async def test_the_spec_check_is_not_vacuous(fake: FakeOpenAIVideos) -> None:
    good = {"model": "sora-2", "prompt": "x", "seconds": "10", "size": "720x1280"}
    assert create_validator().is_valid(good)
    assert not create_validator().is_valid({**good, "size": "640x480"})
    assert not create_validator().is_valid({**good, "seconds": "ten"})
    assert not create_validator().is_valid({**good, "n": "2"})
    assert not create_validator().is_valid({k: v for k, v in good.items() if k != "size"})
    assert not remix_validator().is_valid({"prompt": ""})
    assert not video_validator(True).is_valid({"id": "video_1", "object": "video", "status": "success"})
    with pytest.raises(AssertionError):
        spec_route("POST", "/v1/images")
