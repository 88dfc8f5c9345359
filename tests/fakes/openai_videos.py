"""A fake OpenAI-compatible ``/v1/videos`` reseller (lconai, PROVIDERS.md §3) on 127.0.0.1.

It speaks OpenAI's Video protocol with the reseller extras and is strict about what it accepts:
multipart create only, Bearer key, ``model``/``prompt`` required, ``seconds`` from the configured
set, the four sizes (the 1024/1792 ones for pro models only), ``input_reference`` as an image *file*
whose pixels equal ``size`` ("Inpaint image must match the requested width and height"),
``character_timestamps`` 1-3 s apart, booleans as ``"true"``/``"false"``, no unknown fields.
Errors are OpenAI-shaped: ``{"error": {"message", "type", "param", "code"}}``. Scriptable per test::

    async with FakeOpenAIVideos(vocabulary="reseller", content_style="redirect") as fake:
        fake.script_next(VideoScript(queued_polls=1, progress=(40, 80), outcome="completed"))
        fake.fail_next("status", status=503)                # OpenAI-shaped 503 on the next poll
        provider = OpenAIVideos(fake.profile(), http)
        ...
        (create,) = fake.calls("create")
        assert create.form["seconds"] == "10" and create.files["input_reference"].size == (720, 1280)

Routes: ``"create"`` (POST /v1/videos), ``"status"`` (GET /v1/videos/{id}), ``"content"``
(GET /v1/videos/{id}/content), ``"remix"`` (POST /v1/videos/{id}/remix) and ``"cdn"`` (GET
/cdn/{id}.mp4 on a *second port*, i.e. another origin, public like a vendor CDN). Every request is
a ``RecordedRequest`` in ``fake.requests``: route, parsed form/files or JSON, the name of the key
that authenticated it, the status answered and the JSON answered (``response_json``).
"""

from __future__ import annotations

import asyncio
import io
import json
import socket
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal, Self

from aiohttp import BodyPartReader, web
from PIL import Image
from pydantic import SecretStr

from bot.providers.base import ApiKey
from bot.providers.profiles import ProviderProfile, Timing

Route = Literal["create", "status", "content", "remix", "cdn"]
Outcome = Literal["completed", "failed", "never"]
ContentStyle = Literal["bytes", "redirect", "json"]

CREATE_PATH = "/v1/videos"
SIZES = ("720x1280", "1280x720", "1024x1792", "1792x1024")
PRO_ONLY_SIZES = ("1024x1792", "1792x1024")
IMAGE_TYPES = ("image/png", "image/jpeg", "image/webp")
KNOWN_FIELDS = frozenset(
    {
        "model",
        "prompt",
        "seconds",
        "size",
        "input_reference",
        "watermark",
        "private",
        "character_url",
        "character_timestamps",
    }
)
INPAINT_MISMATCH = "Inpaint image must match the requested width and height"

DEFAULT_KEYS: dict[str, str] = {
    "key-a": "sk-lcon-test-aaaa-0123456789",
    "key-b": "sk-lcon-test-bbbb-9876543210",
}


@dataclass(frozen=True)
class Vocabulary:
    """The status words a reseller family uses for the four states."""

    queued: str = "queued"
    running: str = "in_progress"
    completed: str = "completed"
    failed: str = "failed"


VOCABULARIES: dict[str, Vocabulary] = {
    "openai": Vocabulary(),  # the spec's VideoStatus
    "reseller": Vocabulary("submitted", "processing", "success", "failed"),  # apiyi / globalaiopc style
    "pending": Vocabulary("pending", "running", "succeeded", "error"),  # apigo / one-api style
}


class FakeClock:
    """A settable clock for time-driven progressions."""

    def __init__(self, start: float = 1_760_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass(frozen=True)
class VideoScript:
    """How one video job behaves.

    The job reports ``queued`` for ``queued_polls`` steps, then ``running`` with each value of
    ``progress`` (``None`` omits the field), then its ``outcome`` (``"never"`` stays on the last
    running step). A step is one status check (``advance="poll"``) or ``step_seconds`` on the fake's
    clock (``advance="time"``). ``immediate`` answers the create itself with the completed object.
    ``running_word`` replaces the vocabulary's running word (e.g. an unknown ``"rendering"``);
    ``echo_seconds`` is what the objects say for ``seconds`` (a reseller coercing 15 to "10").
    ``direct_url`` puts ``video_url`` (a CDN link) in the completed object. ``id_field`` is where
    the create answer puts the id: ``"id"`` (OpenAI), ``"task_id"`` or ``"data.id"`` (C7).
    """

    queued_polls: int = 1
    progress: tuple[int | None, ...] = (50,)
    outcome: Outcome = "completed"
    immediate: bool = False
    advance: Literal["poll", "time"] = "poll"
    step_seconds: float = 1.0
    running_word: str | None = None
    echo_seconds: str | None = None
    direct_url: bool = False
    id_field: Literal["id", "task_id", "data.id"] = "id"
    fail_code: str = "video_generation_failed"
    fail_message: str = "Video generation failed"
    content_style: ContentStyle | None = None  # None: the server's default
    json_url_field: Literal["video_url", "url", "download_url"] = "url"


@dataclass(frozen=True)
class RecordedFile:
    filename: str | None
    content_type: str | None
    data: bytes = field(repr=False)
    size: tuple[int, int] | None  # (width, height) when it decodes as an image


@dataclass
class FakeVideo:
    video_id: str
    key_name: str
    model: str
    prompt: str
    seconds: str
    size: str
    private: bool
    script: VideoScript
    created_at: float
    remixed_from: str | None = None
    polls: int = 0
    state: Literal["queued", "running", "completed", "failed"] = "queued"
    progress: int | None = 0
    completed_at: float | None = None


@dataclass
class RecordedRequest:
    route: str
    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str] | None  # multipart text parts (None when the body was not multipart)
    files: dict[str, RecordedFile]  # multipart file parts
    json: Any  # parsed JSON body, None when absent or not JSON
    text: str
    key_name: str | None
    authorization: str | None  # the raw header (to check it never reaches the CDN)
    user_agent: str | None
    content_type: str | None
    status: int | None = None
    response_json: Any = None
    forced: bool = False  # answered by ``force``/``fail_next``/... rather than by the fake's logic


@dataclass
class _Forced:
    remaining: int
    status: int | None
    body: Any
    delay: float
    content_type: str
    headers: dict[str, str]


def mp4_bytes(size: int) -> bytes:
    """A tiny MP4-looking payload: an ``ftyp`` box, then zeros up to ``size`` bytes."""
    head = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
    if size <= len(head):
        return head[: max(size, 0)]
    return head + bytes(size - len(head))


def openai_error_body(
    message: str, *, type: str = "invalid_request_error", param: str | None = None, code: str | None = None
) -> dict[str, Any]:
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


def _json(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    # Content-Type exactly `application/json` (aiohttp's json_response adds `; charset=utf-8`).
    return web.Response(
        body=json.dumps(body).encode(),
        status=status,
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def _bad(
    message: str, param: str | None, code: str | None = "invalid_value", status: int = 400
) -> web.Response:
    return _json(openai_error_body(message, param=param, code=code), status)


def is_pro(model: str) -> bool:
    return "pro" in model.lower().replace("_", "-").split("-")


class FakeOpenAIVideos:
    """The fake server. ``await fake.start()`` / ``await fake.stop()`` or ``async with``.

    ``keys``: key name -> secret. ``models``: accepted model names. ``allowed_seconds``: the
    ``seconds`` values accepted (as ints). ``vocabulary``: a ``VOCABULARIES`` name or a
    ``Vocabulary``. ``content_style``: how ``/content`` answers by default (``"bytes"`` = MP4 bytes,
    ``"redirect"`` = 302 to the CDN port, ``"json"`` = ``{"url": cdn}``). ``clock``: seconds.
    """

    def __init__(
        self,
        keys: Mapping[str, str] | None = None,
        *,
        models: tuple[str, ...] = ("sora-2", "sora-2-pro"),
        allowed_seconds: tuple[int, ...] = (10, 15),
        vocabulary: str | Vocabulary = "openai",
        content_style: ContentStyle = "bytes",
        clock: Callable[[], float] | None = None,
        default_script: VideoScript | None = None,
        video_size: int = 4096,
        expires_after: int = 86_400,
    ) -> None:
        self.keys: dict[str, str] = dict(DEFAULT_KEYS if keys is None else keys)
        self.models = models
        self.allowed_seconds = allowed_seconds
        self.vocabulary = VOCABULARIES[vocabulary] if isinstance(vocabulary, str) else vocabulary
        self.content_style: ContentStyle = content_style
        self.clock: Callable[[], float] = clock or time.time
        self.default_script = default_script or VideoScript()
        self.video_size = video_size
        self.expires_after = expires_after
        self.requests: list[RecordedRequest] = []
        self.videos: dict[str, FakeVideo] = {}
        self._scripts: deque[VideoScript] = deque()
        self._forced: dict[str, deque[_Forced]] = {
            r: deque() for r in ("create", "status", "content", "remix", "cdn")
        }
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._cdn_port: int | None = None

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> Self:
        app = web.Application(client_max_size=32 * 1024 * 1024)
        app.router.add_post(CREATE_PATH, self._create)
        app.router.add_get(CREATE_PATH + "/{video_id}", self._status)
        app.router.add_get(CREATE_PATH + "/{video_id}/content", self._content)
        app.router.add_post(CREATE_PATH + "/{video_id}/remix", self._remix)
        app.router.add_get("/cdn/{video_id}.mp4", self._cdn)
        self._runner = web.AppRunner(app, shutdown_timeout=0.2, handler_cancellation=True, access_log=None)
        await self._runner.setup()
        ports = []
        for _ in range(2):  # the API, and the "CDN" on another port (another origin)
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            ports.append(sock.getsockname()[1])
            await web.SockSite(self._runner, sock).start()
        self._port, self._cdn_port = ports
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        if self._port is None:
            raise RuntimeError("FakeOpenAIVideos is not started")
        return f"http://127.0.0.1:{self._port}"

    @property
    def cdn_base_url(self) -> str:
        if self._cdn_port is None:
            raise RuntimeError("FakeOpenAIVideos is not started")
        return f"http://127.0.0.1:{self._cdn_port}"

    def cdn_url(self, video_id: str) -> str:
        """The fake CDN's public, "signed" link for a finished video."""
        return f"{self.cdn_base_url}/cdn/{video_id}.mp4?sig=fake-signature"

    def content_url(self, video_id: str) -> str:
        return f"{self.base_url}{CREATE_PATH}/{video_id}/content"

    # ------------------------------------------------------------------ helpers for tests

    def api_key(self, name: str | None = None) -> ApiKey:
        name = name or next(iter(self.keys))
        return ApiKey(name=name, secret=SecretStr(self.keys[name]))

    def api_keys(self) -> tuple[ApiKey, ...]:
        return tuple(self.api_key(n) for n in self.keys)

    def profile(self, name: str = "lcon", **overrides: Any) -> ProviderProfile:
        """A ``ProviderProfile`` of kind ``openai_videos`` pointing at this fake, with short timings."""
        fields: dict[str, Any] = {
            "name": name,
            "kind": "openai_videos",
            "base_url": self.base_url,
            "keys": self.api_keys(),
            "models": self.models,
            "durations": self.allowed_seconds,
            "timing": Timing(
                expected=0.02, first_poll=0.01, poll_interval=0.01, timeout=5.0, backoff_max=0.05
            ),
            "request_timeout": 2.0,
        }
        fields.update(overrides)
        return ProviderProfile(**fields)

    # ------------------------------------------------------------------ scripting

    def script_next(self, *scripts: VideoScript) -> None:
        """Queue behaviours for the next created videos (creates and remixes), then ``default_script``."""
        self._scripts.extend(scripts)

    def force(
        self,
        route: Route,
        *,
        times: int = 1,
        status: int | None = 200,
        body: Any = None,
        delay: float = 0.0,
        content_type: str = "application/json",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Answer the next ``times`` calls of ``route`` with this instead of the normal logic.

        A dict/list ``body`` is JSON; str/bytes go as they are. ``status=None, body=None`` with a
        ``delay`` answers normally, late. Forced answers change no state.
        """
        self._forced[route].append(_Forced(times, status, body, delay, content_type, dict(headers or {})))

    def fail_next(
        self,
        route: Route,
        *,
        status: int = 500,
        message: str = "The server had an error while processing your request.",
        type: str = "server_error",
        param: str | None = None,
        code: str | None = None,
        times: int = 1,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """The next calls answer with an OpenAI error body."""
        body = openai_error_body(message, type=type, param=param, code=code)
        self.force(route, times=times, status=status, body=body, headers=headers)

    def rate_limit_next(self, route: Route, *, retry_after: float | None = 7, times: int = 1) -> None:
        headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else None
        self.fail_next(
            route,
            status=429,
            message="Rate limit reached for requests",
            type="requests",
            code="rate_limit_exceeded",
            times=times,
            headers=headers,
        )

    def malformed_next(
        self, route: Route, *, status: int = 200, text: str = '{"id": "video_', times: int = 1
    ) -> None:
        self.force(route, times=times, status=status, body=text)

    def slow_next(self, route: Route, delay: float, *, times: int = 1) -> None:
        self.force(route, times=times, status=None, body=None, delay=delay)

    def finish(self, video_id: str, outcome: Literal["completed", "failed"] = "completed") -> None:
        video = self.videos[video_id]
        video.state = outcome
        video.completed_at = self.clock()
        video.progress = 100 if outcome == "completed" else video.progress

    # ------------------------------------------------------------------ reading what happened

    def calls(self, route: str | None = None, *, key_name: str | None = None) -> list[RecordedRequest]:
        return [
            r
            for r in self.requests
            if (route is None or r.route == route) and (key_name is None or r.key_name == key_name)
        ]

    def count(self, route: str | None = None) -> int:
        return len(self.calls(route))

    # ------------------------------------------------------------------ request plumbing

    async def _begin(self, request: web.Request, route: str) -> tuple[RecordedRequest, _Forced | None]:
        form: dict[str, str] | None = None
        files: dict[str, RecordedFile] = {}
        text = ""
        parsed: Any = None
        ctype = request.headers.get("Content-Type")
        if request.content_type == "multipart/form-data":
            form, files = await self._read_multipart(request)
        elif request.can_read_body:
            text = await request.text()
            try:
                parsed = json.loads(text) if text else None
            except ValueError:
                parsed = None
        auth = request.headers.get("Authorization")
        key_name = None
        if auth and auth.startswith("Bearer "):
            token = auth.removeprefix("Bearer ").strip()
            key_name = next((n for n, s in self.keys.items() if s == token), None)
        rec = RecordedRequest(
            route=route,
            method=request.method,
            path=request.path,
            query=dict(request.query),
            form=form,
            files=files,
            json=parsed,
            text=text,
            key_name=key_name,
            authorization=auth,
            user_agent=request.headers.get("User-Agent"),
            content_type=ctype,
        )
        self.requests.append(rec)
        forced = None
        queue = self._forced.get(route)
        if queue:
            forced = queue[0]
            forced.remaining -= 1
            if forced.remaining <= 0:
                queue.popleft()
        return rec, forced

    @staticmethod
    async def _read_multipart(request: web.Request) -> tuple[dict[str, str], dict[str, RecordedFile]]:
        """Every part; a repeated name is kept as ``"<dup>"`` so the create refuses it."""
        form: dict[str, str] = {}
        files: dict[str, RecordedFile] = {}
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):  # a nested multipart: no client sends one here
                continue
            name = part.name or ""
            raw = bytes(await part.read())
            if name in form or name in files:
                form[name] = "<dup>"
                continue
            if part.filename is not None:
                size = None
                try:
                    with Image.open(io.BytesIO(raw)) as img:
                        size = (img.width, img.height)
                except Exception:
                    size = None
                files[name] = RecordedFile(part.filename, part.headers.get("Content-Type"), raw, size)
            else:
                form[name] = raw.decode("utf-8", errors="replace")
        return form, files

    @staticmethod
    def _forced_response(forced: _Forced) -> web.Response | None:
        if forced.status is None and forced.body is None:
            return None
        status = forced.status or 200
        if isinstance(forced.body, dict | list):
            return _json(forced.body, status, forced.headers)
        body = (
            forced.body
            if isinstance(forced.body, bytes)
            else ("" if forced.body is None else str(forced.body)).encode()
        )
        return web.Response(
            body=body, status=status, headers={"Content-Type": forced.content_type, **forced.headers}
        )

    async def _answer(
        self, request: web.Request, route: str, logic: Callable[[RecordedRequest], web.Response]
    ) -> web.Response:
        rec, forced = await self._begin(request, route)
        resp: web.Response | None = None
        if forced is not None:
            if forced.delay:
                await asyncio.sleep(forced.delay)
            resp = self._forced_response(forced)
            rec.forced = resp is not None
        if resp is None:
            resp = logic(rec)
        rec.status = resp.status
        if resp.content_type == "application/json" and isinstance(resp.body, bytes):
            try:
                rec.response_json = json.loads(resp.body)
            except ValueError:
                rec.response_json = None
        return resp

    def _auth(self, rec: RecordedRequest) -> web.Response | None:
        if rec.key_name is None:
            return _json(
                openai_error_body(
                    "Incorrect API key provided. You can find your API key in the console.",
                    code="invalid_api_key",
                ),
                401,
            )
        return None

    def _video(self, rec: RecordedRequest, video_id: str) -> FakeVideo | web.Response:
        video = self.videos.get(video_id)
        if video is None or video.key_name != rec.key_name:
            return _bad(f"Video with id '{video_id}' not found.", None, "not_found", 404)
        return video

    # ------------------------------------------------------------------ the Video object

    def video_object(self, video: FakeVideo) -> dict[str, Any]:
        vocab = self.vocabulary
        word = {
            "queued": vocab.queued,
            "running": video.script.running_word or vocab.running,
            "completed": vocab.completed,
            "failed": vocab.failed,
        }[video.state]
        obj: dict[str, Any] = {
            "id": video.video_id,
            "object": "video",
            "model": video.model,
            "status": word,
            "progress": video.progress if video.progress is not None else None,
            "created_at": int(video.created_at),
            "completed_at": int(video.completed_at) if video.completed_at is not None else None,
            "expires_at": int(video.completed_at) + self.expires_after
            if video.completed_at is not None and video.state == "completed"
            else None,
            "prompt": video.prompt,
            "seconds": video.script.echo_seconds or video.seconds,
            "size": video.size,
            "remixed_from_video_id": video.remixed_from,
            "error": {"code": video.script.fail_code, "message": video.script.fail_message}
            if video.state == "failed"
            else None,
        }
        if video.progress is None:
            del obj["progress"]
        if video.state == "completed" and video.script.direct_url:
            obj["video_url"] = self.cdn_url(video.video_id)
        return obj

    def _created_body(self, video: FakeVideo) -> dict[str, Any]:
        obj = self.video_object(video)
        where = video.script.id_field
        if where == "task_id":
            obj["task_id"] = obj.pop("id")
        elif where == "data.id":
            return {"code": 0, "message": "ok", "data": obj}
        return obj

    def _advance(self, video: FakeVideo) -> None:
        if video.state in ("completed", "failed"):
            return
        script = video.script
        if script.advance == "time":
            step = int((self.clock() - video.created_at) / script.step_seconds) + 1
        else:
            step = video.polls
        if step <= script.queued_polls:
            video.state, video.progress = "queued", 0
            return
        running = step - script.queued_polls
        if running <= len(script.progress) or script.outcome == "never":
            video.state = "running"
            values = script.progress or (None,)
            video.progress = values[min(running, len(values)) - 1]
            return
        video.completed_at = self.clock()
        if script.outcome == "completed":
            video.state, video.progress = "completed", 100
        else:
            video.state = "failed"

    # ------------------------------------------------------------------ routes

    async def _create(self, request: web.Request) -> web.Response:
        return await self._answer(request, "create", self._create_logic)

    async def _status(self, request: web.Request) -> web.Response:
        def logic(rec: RecordedRequest) -> web.Response:
            if (denied := self._auth(rec)) is not None:
                return denied
            found = self._video(rec, request.match_info["video_id"])
            if isinstance(found, web.Response):
                return found
            found.polls += 1
            self._advance(found)
            return _json(self.video_object(found))

        return await self._answer(request, "status", logic)

    async def _content(self, request: web.Request) -> web.Response:
        def logic(rec: RecordedRequest) -> web.Response:
            if (denied := self._auth(rec)) is not None:
                return denied
            found = self._video(rec, request.match_info["video_id"])
            if isinstance(found, web.Response):
                return found
            variant = request.query.get("variant", "video")
            if variant not in ("video", "thumbnail", "spritesheet"):
                return _bad(f"Invalid variant '{variant}'.", "variant")
            if found.state != "completed":
                return _bad("Video is not ready yet.", None, "video_not_ready", 404)
            style = found.script.content_style or self.content_style
            if style == "redirect":
                return web.Response(status=302, headers={"Location": self.cdn_url(found.video_id)})
            if style == "json":
                return _json(
                    {"id": found.video_id, found.script.json_url_field: self.cdn_url(found.video_id)}
                )
            return web.Response(body=mp4_bytes(self.video_size), content_type="video/mp4")

        return await self._answer(request, "content", logic)

    async def _cdn(self, request: web.Request) -> web.Response:
        def logic(rec: RecordedRequest) -> web.Response:
            video = self.videos.get(request.match_info["video_id"])
            if request.url.port != self._cdn_port:
                return web.Response(status=404, text="Not Found")
            if video is None or video.state != "completed" or request.query.get("sig") != "fake-signature":
                return web.Response(status=403, text="AccessDenied")
            return web.Response(body=mp4_bytes(self.video_size), content_type="video/mp4")

        return await self._answer(request, "cdn", logic)

    async def _remix(self, request: web.Request) -> web.Response:
        def logic(rec: RecordedRequest) -> web.Response:
            if (denied := self._auth(rec)) is not None:
                return denied
            found = self._video(rec, request.match_info["video_id"])
            if isinstance(found, web.Response):
                return found
            body = rec.json if rec.json is not None else rec.form
            if not isinstance(body, dict):
                return _bad("The request body must be a JSON object.", None, "invalid_json")
            unknown = sorted(set(body) - {"prompt", "model"})
            if unknown:
                return _bad(
                    f"Unrecognized request argument supplied: {unknown[0]}", unknown[0], "unknown_parameter"
                )
            prompt = body.get("prompt")
            if not isinstance(prompt, str) or not prompt.strip():
                return _bad("Missing required parameter: 'prompt'.", "prompt", "missing_required_parameter")
            model = body.get("model", found.model)
            if model not in self.models:
                return _bad(f"Invalid model '{model}'.", "model")
            if found.private:
                return _bad("Private videos cannot be remixed.", "video_id", "video_private")
            if found.state != "completed":
                return _bad("Only completed videos can be remixed.", "video_id", "video_not_ready")
            video = self._new_video(rec, str(model), prompt, found.seconds, found.size, private=False)
            video.remixed_from = found.video_id
            return _json(self._created_body(video))

        return await self._answer(request, "remix", logic)

    def _new_video(
        self, rec: RecordedRequest, model: str, prompt: str, seconds: str, size: str, *, private: bool
    ) -> FakeVideo:
        script = self._scripts.popleft() if self._scripts else self.default_script
        video = FakeVideo(
            video_id=f"video_{uuid.uuid4().hex[:24]}",
            key_name=rec.key_name or "",
            model=model,
            prompt=prompt,
            seconds=seconds,
            size=size,
            private=private,
            script=script,
            created_at=self.clock(),
        )
        self.videos[video.video_id] = video
        if script.immediate and script.outcome == "completed":
            video.state, video.progress, video.completed_at = "completed", 100, self.clock()
        return video

    def _create_logic(self, rec: RecordedRequest) -> web.Response:
        if (denied := self._auth(rec)) is not None:
            return denied
        form, files = rec.form, rec.files
        if form is None:
            return _bad("Content-Type must be multipart/form-data.", None, "invalid_content_type")
        for name in (*form, *files):
            if name not in KNOWN_FIELDS:
                return _bad(f"Unrecognized request argument supplied: {name}", name, "unknown_parameter")
            if form.get(name) == "<dup>":
                return _bad(f"Parameter '{name}' was given more than once.", name)
        for name in files:
            if name != "input_reference":
                return _bad(f"'{name}' must be a text field, not a file.", name)
        model = form.get("model")
        if not model:
            return _bad("Missing required parameter: 'model'.", "model", "missing_required_parameter")
        if model not in self.models:
            return _bad(f"Invalid model '{model}'. Supported: {', '.join(self.models)}.", "model")
        prompt = form.get("prompt", "")
        if not prompt.strip():
            return _bad("Missing required parameter: 'prompt'.", "prompt", "missing_required_parameter")
        seconds = form.get("seconds", str(self.allowed_seconds[0]))
        if seconds not in {str(s) for s in self.allowed_seconds}:
            allowed = ", ".join(f"'{s}'" for s in self.allowed_seconds)
            return _bad(f"Invalid value: '{seconds}'. Supported values are: {allowed}.", "seconds")
        size = form.get("size", "720x1280")
        if size not in SIZES:
            return _bad(f"Invalid value: '{size}'. Supported values are: {', '.join(SIZES)}.", "size")
        if size in PRO_ONLY_SIZES and not is_pro(model):
            return _bad(f"Size '{size}' is only available for sora-2-pro.", "size")
        for flag in ("watermark", "private"):
            if flag in form and form[flag] not in ("true", "false"):
                return _bad(f"Invalid value for '{flag}': expected 'true' or 'false'.", flag)
        if "input_reference" in form:
            return _bad("'input_reference' must be an uploaded file.", "input_reference")
        ref = files.get("input_reference")
        if ref is not None:
            if ref.content_type not in IMAGE_TYPES or ref.size is None:
                return _bad(
                    "Invalid file format for 'input_reference'. Supported: image/jpeg, image/png, image/webp.",
                    "input_reference",
                    "invalid_file_format",
                )
            width, height = (int(v) for v in size.split("x"))
            if ref.size != (width, height):
                return _bad(INPAINT_MISMATCH, "input_reference", "inpaint_image_size_mismatch")
        character = form.get("character_url")
        stamps = form.get("character_timestamps")
        if (character is None) != (stamps is None):
            missing = "character_timestamps" if stamps is None else "character_url"
            return _bad(
                "'character_url' and 'character_timestamps' must be given together.",
                missing,
                "missing_required_parameter",
            )
        if character is not None and stamps is not None:
            if not character.startswith(("http://", "https://")):
                return _bad("'character_url' must be an http(s) URL.", "character_url")
            try:
                start, end = (float(v) for v in stamps.split(","))
            except ValueError:
                return _bad("'character_timestamps' must be 'start,end' in seconds.", "character_timestamps")
            if start < 0 or not (1.0 <= end - start <= 3.0):
                return _bad(
                    "'character_timestamps' must span between 1 and 3 seconds.", "character_timestamps"
                )
        video = self._new_video(rec, model, prompt, seconds, size, private=form.get("private") == "true")
        return _json(self._created_body(video))
