"""A fake OpenAI-compatible ``/v1/videos`` reseller on 127.0.0.1 (docs/vendors.md, "OpenAI-compatible
/v1/videos").

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

The lifecycle, keys, ``profile()``, forced answers and recording are ``FakeVendor``'s
(``tests/fakes/vendor.py``); this module adds the Video protocol: routes (and the second, CDN,
port), multipart bodies, OpenAI-shaped errors (401 ``invalid_api_key`` included), the Video object
in three status vocabularies, and forced answers with extra headers (``Retry-After``).
"""

from __future__ import annotations

import io
import json
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Self

from aiohttp import BodyPartReader, web
from PIL import Image

from tests.fakes import vendor
from tests.fakes.vendor import FakeVendor, _Forced, mp4_bytes, mp4_response, not_found, read_json_body
from tests.fakes.vendor import json_response as _json

__all__ = [
    "CREATE_PATH",
    "DEFAULT_KEYS",
    "INPAINT_MISMATCH",
    "SIZES",
    "VOCABULARIES",
    "FakeClock",
    "FakeOpenAIVideos",
    "FakeVideo",
    "RecordedFile",
    "RecordedRequest",
    "VideoScript",
    "Vocabulary",
    "is_pro",
    "mp4_bytes",
    "openai_error_body",
]

Route = Literal["create", "status", "content", "remix", "cdn", "models"]
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


class FakeClock(vendor.FakeClock):
    """A settable clock for time-driven progressions, starting at a plausible Unix time."""

    def __init__(self, start: float = 1_760_000_000.0) -> None:
        super().__init__(start)


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


@dataclass(kw_only=True)
class RecordedRequest(vendor.RecordedRequest):
    query: dict[str, str]
    form: dict[str, str] | None  # multipart text parts (None when the body was not multipart)
    files: dict[str, RecordedFile]  # multipart file parts
    response_json: Any = None
    forced: bool = False  # answered by ``force``/``fail_next``/... rather than by the fake's logic


def openai_error_body(
    message: str, *, type: str = "invalid_request_error", param: str | None = None, code: str | None = None
) -> dict[str, Any]:
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


def _bad(
    message: str, param: str | None, code: str | None = "invalid_value", status: int = 400
) -> web.Response:
    return _json(openai_error_body(message, param=param, code=code), status)


def is_pro(model: str) -> bool:
    return "pro" in model.lower().replace("_", "-").split("-")


class FakeOpenAIVideos(FakeVendor):
    """The fake server. ``await fake.start()`` / ``await fake.stop()`` or ``async with``.

    ``keys``: key name -> secret. ``models``: accepted model names. ``allowed_seconds``: the
    ``seconds`` values accepted (as ints). ``vocabulary``: a ``VOCABULARIES`` name or a
    ``Vocabulary``. ``content_style``: how ``/content`` answers by default (``"bytes"`` = MP4 bytes,
    ``"redirect"`` = 302 to the CDN port, ``"json"`` = ``{"url": cdn}``). ``clock``: seconds.
    """

    ROUTES = ("create", "status", "content", "remix", "cdn")
    KEYED_ROUTES = ("create", "status", "content", "remix")
    KIND = "openai_videos"
    PROFILE_NAME = "lcon"
    MALFORMED_TEXT = '{"id": "video_'
    DEFAULT_KEYS = DEFAULT_KEYS
    CLIENT_MAX_SIZE = 32 * 1024 * 1024
    RECORD = RecordedRequest

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
        super().__init__(
            keys,
            clock=clock,
            default_clock=time.time,
            default_script=default_script or VideoScript(),
            video_size=video_size,
        )
        self.models = models
        self.listed_models: tuple[str, ...] | None = None  # GET /v1/models (None: ``models``)
        self.allowed_seconds = allowed_seconds
        self.vocabulary = VOCABULARIES[vocabulary] if isinstance(vocabulary, str) else vocabulary
        self.content_style: ContentStyle = content_style
        self.expires_after = expires_after
        self.videos: dict[str, FakeVideo] = {}
        self._cdn_port: int | None = None

    # ------------------------------------------------------------------ lifecycle

    def _add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_post(CREATE_PATH, self._route("create", self._create_logic))
        router.add_get(CREATE_PATH + "/{video_id}", self._status)
        router.add_get(CREATE_PATH + "/{video_id}/content", self._content)
        router.add_post(CREATE_PATH + "/{video_id}/remix", self._remix)
        router.add_get("/cdn/{video_id}.mp4", self._cdn)
        router.add_get("/v1/models", self._route("models", self._models_logic))

    async def start(self) -> Self:
        await super().start()
        self._cdn_port = await self._listen()  # the "CDN": the same app on another port (another origin)
        return self

    @property
    def cdn_base_url(self) -> str:
        return self._url(self._cdn_port)

    def cdn_url(self, video_id: str) -> str:
        """The fake CDN's public, "signed" link for a finished video."""
        return f"{self.cdn_base_url}/cdn/{video_id}.mp4?sig=fake-signature"

    def content_url(self, video_id: str) -> str:
        return f"{self.base_url}{CREATE_PATH}/{video_id}/content"

    # ------------------------------------------------------------------ helpers for tests

    def _profile_fields(self) -> dict[str, Any]:
        return {"models": self.models, "durations": self.allowed_seconds}

    # ------------------------------------------------------------------ scripting

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

    def finish(self, video_id: str, outcome: Literal["completed", "failed"] = "completed") -> None:
        video = self.videos[video_id]
        video.state = outcome
        video.completed_at = self.clock()
        video.progress = 100 if outcome == "completed" else video.progress

    # ------------------------------------------------------------------ request plumbing

    async def _body_fields(self, request: web.Request) -> dict[str, Any]:
        """Multipart parts as ``form``/``files``, any other body as ``text``/``json``; the query."""
        form: dict[str, str] | None = None
        files: dict[str, RecordedFile] = {}
        text, parsed = "", None
        if request.content_type == "multipart/form-data":
            form, files = await self._read_multipart(request)
        else:
            text, parsed = await read_json_body(request)
        return {"query": dict(request.query), "form": form, "files": files, "json": parsed, "text": text}

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

    def _after(self, rec: RecordedRequest, resp: web.Response, forced: _Forced | None) -> None:
        """Note whether the answer was forced, and the JSON it carried."""
        rec.forced = forced is not None
        if resp.content_type == "application/json" and isinstance(resp.body, bytes):
            try:
                rec.response_json = json.loads(resp.body)
            except ValueError:
                rec.response_json = None

    def _unauthorized(self) -> web.Response:
        return _json(
            openai_error_body(
                "Incorrect API key provided. You can find your API key in the console.",
                code="invalid_api_key",
            ),
            401,
        )

    def _models_logic(self, rec: RecordedRequest) -> web.Response:
        """A new-api relay's model list: what this token may call, not what upstream still serves."""
        if (denied := self._auth(rec)) is not None:
            return denied
        listed = self.models if self.listed_models is None else self.listed_models
        data = [
            {
                "id": m,
                "object": "model",
                "created": 1626777600,
                "owned_by": "custom",
                "supported_endpoint_types": ["video"],
            }
            for m in listed
        ]
        return _json({"object": "list", "data": data, "success": True})

    def _video(self, rec: RecordedRequest, video_id: str) -> FakeVideo | web.Response:
        """The caller's video, or the error to answer (401 without a key, 404 not theirs)."""
        if (denied := self._auth(rec)) is not None:
            return denied
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
        step = self._step_index(script.advance, script.step_seconds, video.created_at, video.polls) + 1
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

    async def _status(self, request: web.Request) -> web.Response:
        def logic(rec: RecordedRequest) -> web.Response:
            found = self._video(rec, request.match_info["video_id"])
            if isinstance(found, web.Response):
                return found
            found.polls += 1
            self._advance(found)
            return _json(self.video_object(found))

        return await self._answer(request, "status", logic)

    async def _content(self, request: web.Request) -> web.Response:
        def logic(rec: RecordedRequest) -> web.Response:
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
            return mp4_response(self.video_size)

        return await self._answer(request, "content", logic)

    async def _cdn(self, request: web.Request) -> web.Response:
        def logic(rec: RecordedRequest) -> web.Response:
            video = self.videos.get(request.match_info["video_id"])
            if request.url.port != self._cdn_port:
                return not_found()
            if video is None or video.state != "completed" or request.query.get("sig") != "fake-signature":
                return web.Response(status=403, text="AccessDenied")
            return mp4_response(self.video_size)

        return await self._answer(request, "cdn", logic)

    async def _remix(self, request: web.Request) -> web.Response:
        def logic(rec: RecordedRequest) -> web.Response:
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
        script: VideoScript = self._next_script()
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
