"""OpenAI-compatible ``/v1/videos`` resellers, profile kind ``openai_videos``: text, image, remix.

https://developers.openai.com/api/reference/resources/videos; docs/vendors.md, "OpenAI-compatible
/v1/videos". Wire protocol: ``POST /v1/videos`` (multipart/form-data) creates a Video job,
``GET /v1/videos/{id}`` reports it, ``GET /v1/videos/{id}/content`` hands the result over,
``POST /v1/videos/{id}/remix`` (JSON ``{prompt, model}``) starts a new job from a finished one.
What the reseller offers is in ``openai_videos_capabilities``, how its errors read in
``openai_videos_errors``, how its Video objects and ``/content`` answers read in
``openai_videos_objects``. The readings this module relies on:

- C3: a reseller may silently coerce ``seconds``, so an echoed ``seconds`` that differs is logged.
- C4/C5: always multipart; booleans go out as the text ``"true"``/``"false"``; ``input_reference``
  is a file part, resized and cover-cropped to exactly ``size`` first (a mismatch is refused with
  "Inpaint image must match the requested width and height").
- C6: ``size`` is always sent explicitly.
- C7: the task id and the Video object are found wherever the reseller puts them; an unknown status
  word counts as running (and is logged) until the job's timeout.

A direct link in the status object is preferred to ``/content``; bytes from ``/content`` come back
in ``VideoSource.data``, since the content endpoint itself needs the key.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import quote

from bot.decoding import DecodePool
from bot.media import ImageError, fit_image, image_mime
from bot.providers.adapter import VendorAdapter
from bot.providers.base import (
    AnyRequest,
    ApiKey,
    ImageToVideo,
    ProviderError,
    RemixRequest,
    RemoteTask,
    TaskError,
    TaskSnapshot,
    TaskState,
    TextToVideo,
    VideoSource,
    WireBody,
    scrub,
)
from bot.providers.faults import malformed, no_video
from bot.providers.http import FormFile, HttpResponse, VendorHttp, redact_url
from bot.providers.images import MB, fetch_image, image_unusable
from bot.providers.openai_videos_capabilities import (
    SIZES,
    OpenAIVideosCapabilities,
    Size,
    openai_videos_capabilities,
)
from bot.providers.openai_videos_errors import PRIVATE_SOURCE, answer_error, error_object
from bot.providers.openai_videos_objects import (
    OPENAI_VIDEOS_WORDS,
    content_source,
    direct_url,
    fetch_content,
    progress_of,
    remote_id_of,
    took_seconds,
    video_object,
)
from bot.providers.profiles import ProviderProfile, Timing

log = logging.getLogger(__name__)

CREATE_PATH = "/v1/videos"
STATUS_PATH = "/v1/videos/{id}"
MODELS_PATH = "/v1/models"
CONTENT_PATH = "/v1/videos/{id}/content"
REMIX_PATH = "/v1/videos/{id}/remix"

# apiyi suggests polling every 30 s; we poll first after 30 s, then every 15 s, and give up after
# 15 min (docs/vendors.md, "OpenAI-compatible /v1/videos"). A profile's ``timing`` is what the engine
# uses; this is the value to put there for a real reseller.
OPENAI_VIDEOS_TIMING = Timing(first_poll=30.0, poll_interval=15.0, timeout=900.0)
FITTED_KEPT = 4  # fitted pictures kept for a create sent again
MAX_IMAGE_BYTES = 20 * MB  # a reference image bigger than this is refused, not decoded


class CreateFields(WireBody):
    """The text parts of ``POST /v1/videos`` (the image, if any, is a separate file part)."""

    model: str
    prompt: str
    seconds: str
    size: Size
    watermark: Literal["true", "false"] | None = None
    private: Literal["true", "false"] | None = None
    character_url: str | None = None
    character_timestamps: str | None = None

    def wire(self) -> dict[str, str]:
        return self.model_dump(exclude_none=True)

    @property
    def dimensions(self) -> tuple[int, int]:
        width, height = self.size.split("x")
        return int(width), int(height)


class RemixBody(WireBody):
    """``POST /v1/videos/{id}/remix``."""

    prompt: str
    model: str


class OpenAIVideos(VendorAdapter):
    """``VideoProvider`` for an OpenAI-compatible ``/v1/videos`` reseller, bound to one profile."""

    vendor = "openai_videos"
    words = OPENAI_VIDEOS_WORDS
    capabilities: OpenAIVideosCapabilities

    def __init__(
        self, profile: ProviderProfile, http: VendorHttp, *, decoder: DecodePool | None = None
    ) -> None:
        super().__init__(profile, http)
        # Pictures decode on the process's one pool, so that its bound holds across profiles; an
        # adapter built without it (a test, a one-off tool) gets a small pool of its own.
        self.decoder = decoder or DecodePool()
        # A create refused for a rate limit is sent again with the same picture: its fitted bytes are
        # kept (a few hundred KB each, the last few) so that it is not fetched and decoded twice.
        self._fitted: OrderedDict[tuple[str, int, int], FormFile] = OrderedDict()
        self.capabilities = openai_videos_capabilities(
            profile.models,
            profile.durations,
            profile=profile.name,
            per_model=profile.model_durations,
            sizes=profile.model_sizes,
        )
        self._base = self._base.removesuffix("/v1")  # accept "https://host" and "https://host/v1"
        # Videos made with ``private=true`` cannot be remixed; known for jobs this process submitted
        # or polled (RemoteTask.extra survives restarts, so running jobs are re-learned on poll).
        self._private: set[str] = set()
        self._seconds_warned: set[str] = set()

    def url(self, template: str, remote_id: str = "") -> str:
        return self._base + template.format(id=quote(remote_id, safe=""))

    def build_create_fields(self, req: TextToVideo | ImageToVideo) -> CreateFields:
        model = self.capabilities.resolve_model(req)
        opts = req.options
        pro_size = bool(opts.high_quality) and model in self.capabilities.pro_models
        timestamps = None
        if opts.character_url is not None and opts.character_start is not None:
            timestamps = f"{opts.character_start:g},{opts.character_end:g}"
        return CreateFields(
            model=model,
            prompt=req.prompt,
            seconds=str(req.duration),
            size=SIZES[(pro_size, req.orientation)],
            watermark=_flag(opts.watermark),
            private=_flag(opts.private),
            character_url=opts.character_url,
            character_timestamps=timestamps,
        )

    # ------------------------------------------------------------------ VideoProvider

    async def submit(self, req: AnyRequest, key: ApiKey) -> RemoteTask:
        self.capabilities.validate_request(req)
        if isinstance(req, RemixRequest):
            return await self._remix(req, key)
        assert isinstance(req, TextToVideo | ImageToVideo)  # validate_request allows only these kinds
        fields = self.build_create_fields(req)
        files = [await self._reference_image(req, fields)] if isinstance(req, ImageToVideo) else []
        call = self.http.request_form(
            "POST",
            self.url(CREATE_PATH),
            key=key,
            timeout_s=self.profile.request_timeout,
            idempotent=False,
            fields=fields.wire(),
            files=files,
        )
        resp = await self._send(call, "create", key, submit=True)
        extra = {"model": fields.model, "seconds": fields.seconds, "size": fields.size}
        if fields.private == "true":
            extra["private"] = "true"
        task = self._created(resp, "create", key, extra)
        log.info(
            "openai_videos %s: submitted %s (%s, %s s, %s%s) with key %s -> %s",
            self.name,
            req.kind.value,
            fields.model,
            fields.seconds,
            fields.size,
            ", with image" if files else "",
            key.name,
            task.remote_id,
        )
        return task

    async def poll(self, task: RemoteTask, key: ApiKey) -> TaskSnapshot:
        if task.extra.get("private") == "true":
            self._private.add(task.remote_id)
        call = self.http.request_json(
            "GET",
            self.url(STATUS_PATH, task.remote_id),
            key=key,
            timeout_s=self.profile.request_timeout,
            idempotent=True,
        )
        body = self._read(await self._send(call, "status", key, submit=False), "status", key, submit=False)
        return self._snapshot(body, task.remote_id, task.extra, key)

    async def served_models(self, key: ApiKey) -> frozenset[str]:
        """The model ids the reseller lists for ``key`` (``GET /v1/models``). A model missing from it
        is not served; a listed one may still fail at call time, since the list reflects the
        reseller's configuration rather than upstream (docs/vendors.md, "OpenAI-compatible")."""
        call = self.http.request_json(
            "GET", self._base + MODELS_PATH, key=key, timeout_s=self.profile.request_timeout, idempotent=True
        )
        body = self._read(await self._send(call, "models", key, submit=False), "models", key, submit=False)
        entries = body.get("data")
        if not isinstance(entries, list):
            raise self._logged(malformed("model list without `data`", 200), "models", key)
        return frozenset(str(e["id"]) for e in entries if isinstance(e, dict) and e.get("id"))

    async def open_result(self, snap: TaskSnapshot, key: ApiKey) -> VideoSource:
        """A direct link when the vendor gave one; else whatever ``/content`` hands over.

        ``/content`` is fetched with the key, following redirects: a redirect ends at a (signed)
        CDN link, returned as it is without downloading; ``video/*`` bytes come back as
        ``VideoSource`` with ``data``; JSON is read for ``video_url``/``url``/``download_url``.
        """
        if snap.state is not TaskState.SUCCEEDED:
            raise no_video(f"open_result on a {snap.state.value} snapshot")
        if snap.video_url:
            return VideoSource(url=snap.video_url)
        remote_id = remote_id_of(snap.raw)
        if not remote_id:
            raise no_video("succeeded snapshot has neither a video URL nor a task id")
        url = self.url(CONTENT_PATH, remote_id)
        call = fetch_content(self.http, url, key, timeout_s=self.profile.request_timeout)
        content = await self._send(call, "content", key, submit=False)
        try:
            source = content_source(content, url, key)
        except ProviderError as err:
            raise self._logged(err, "content", key) from None
        if content.redirected:
            log.info("openai_videos %s: content redirected to %s", self.name, redact_url(source.url or ""))
        return source

    # ------------------------------------------------------------------ remix

    async def _remix(self, req: RemixRequest, key: ApiKey) -> RemoteTask:
        source = req.source_remote_id.strip()
        if source in self._private:
            detail = f"remix of private video {source} refused locally"
            raise PRIVATE_SOURCE.error(code="PRIVATE_SOURCE", detail=detail, http_status=None)
        body = RemixBody(prompt=req.prompt, model=self.capabilities.resolve_model(req))
        call = self.http.request_json(
            "POST",
            self.url(REMIX_PATH, source),
            key=key,
            json_body=body.wire(),
            timeout_s=self.profile.request_timeout,
            idempotent=False,
        )
        resp = await self._send(call, "remix", key, submit=True)
        task = self._created(resp, "remix", key, {"model": body.model, "remix_of": source})
        log.info(
            "openai_videos %s: remix of %s (%s) with key %s -> %s",
            self.name,
            source,
            body.model,
            key.name,
            task.remote_id,
        )
        return task

    # ------------------------------------------------------------------ the image

    async def _reference_image(self, req: ImageToVideo, fields: CreateFields) -> FormFile:
        """The member's image (fetched without the vendor key), fitted to exactly ``size`` (C5).

        Decoded once, on the decode pool; a second create for the same picture and size reuses it.
        """
        kept = (req.image_url, *fields.dimensions)
        if (part := self._fitted.get(kept)) is not None:
            self._fitted.move_to_end(kept)
            return part
        got = await fetch_image(
            self.http, req.image_url, timeout_s=self.profile.request_timeout, max_bytes=MAX_IMAGE_BYTES
        )
        width, height = fields.dimensions
        try:
            image = await self.decoder.run(fit_image, got.body, width, height)
        except ImageError as exc:
            raise image_unusable(exc.key, f"image unusable ({got.content_type})", **exc.params) from None
        mime = image_mime(image)
        part = FormFile(
            "input_reference", image, "reference.png" if mime == "image/png" else "reference.jpg", mime
        )
        self._fitted[kept] = part
        while len(self._fitted) > FITTED_KEPT:
            self._fitted.popitem(last=False)
        return part

    # ------------------------------------------------------------------ reading answers

    def _status_error(self, resp: HttpResponse, route: str, key: ApiKey) -> ProviderError:
        return answer_error(resp.status, None, resp.headers, route, key, body_text=resp.text)

    def _read(self, resp: HttpResponse, route: str, key: ApiKey, *, submit: bool) -> dict[str, Any]:
        """The answer's JSON object; an error envelope is any 4xx/5xx, or a 200 with ``error`` and no
        Video status."""
        data = self._json_object(resp, route, key, submit=submit)
        if resp.status >= 400 or (error_object(data) is not None and not video_object(data).get("status")):
            raise self._logged(answer_error(resp.status, data, resp.headers, route, key), route, key)
        return data

    def _created(self, resp: HttpResponse, route: str, key: ApiKey, extra: dict[str, str]) -> RemoteTask:
        """The task a create or remix answer started, with the snapshot when it already says one."""
        body = self._read(resp, route, key, submit=True)
        remote_id = self._remote_id(remote_id_of(body), resp, route, key, field="id")
        if extra.get("private") == "true":
            self._private.add(remote_id)
        snapshot = self._snapshot(body, remote_id, extra, key) if video_object(body).get("status") else None
        return RemoteTask(remote_id=remote_id, extra=extra, snapshot=snapshot)

    def _snapshot(
        self, raw: dict[str, Any], remote_id: str, extra: Mapping[str, str], key: ApiKey
    ) -> TaskSnapshot:
        obj = video_object(raw)
        word = str(obj.get("status") or "")
        state = self._state(word, remote_id)
        self._check_seconds(obj, remote_id, extra)
        if obj.get("private") is True or obj.get("private") == "true":
            self._private.add(remote_id)
        if remote_id_of(raw) is None:
            raw = {**raw, "id": remote_id}  # open_result needs it to reach /content
        error = None
        if state is TaskState.FAILED:
            err = error_object(obj) or {}
            message = str(err.get("message") or "").strip()
            code = str(err.get("code") or "").strip() or word.strip().upper() or "FAILED"
            if not message:
                message = "the task was cancelled" if word.lower() in ("cancelled", "canceled") else ""
            error = TaskError(
                code=code, message=" ".join(scrub(message, key).split())[:300] or "no reason given"
            )
            log.info("openai_videos %s: task %s failed: %s: %s", self.name, remote_id, code, error.message)
        return TaskSnapshot(
            state=state,
            progress_pct=progress_of(obj.get("progress")),
            video_url=direct_url(obj) if state is TaskState.SUCCEEDED else None,
            error=error,
            vendor_seconds=took_seconds(obj) if state is TaskState.SUCCEEDED else None,
            raw=raw,
        )

    def _check_seconds(self, obj: Mapping[str, Any], remote_id: str, extra: Mapping[str, str]) -> None:
        asked, echoed = extra.get("seconds"), obj.get("seconds")
        if asked is None or echoed is None or remote_id in self._seconds_warned:
            return
        if str(echoed).strip() != asked:
            self._seconds_warned.add(remote_id)
            log.warning(
                "openai_videos %s: task %s asked for %s s but the provider says %r s (C3: resellers may "
                "coerce; check the profile's `durations`)",
                self.name,
                remote_id,
                asked,
                echoed,
            )


def _flag(value: bool | None) -> Literal["true", "false"] | None:
    if value is None:
        return None
    return "true" if value else "false"
