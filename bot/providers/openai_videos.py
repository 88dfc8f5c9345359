"""OpenAI-compatible ``/v1/videos`` resellers (PROVIDERS.md §3; lconai, seed 002): text, image, remix.

Wire protocol: ``POST /v1/videos`` (multipart/form-data) creates a Video job, ``GET /v1/videos/{id}``
reports it, ``GET /v1/videos/{id}/content`` hands the result over, ``POST /v1/videos/{id}/remix``
(JSON ``{prompt, model}``) starts a new job from a finished one. Errors come in OpenAI's shape,
``{"error": {"message", "type", "param", "code"}}`` with a 4xx/5xx status. The readings we rely on,
from the "ambiguities" list (§3.6):

- C1: the model string is configuration (a profile's ``models``); we default to the documented enum
  ``sora-2`` / ``sora-2-pro``. A model counts as "pro" when a ``-``/``_`` separated part of its name
  is ``pro``; only pro models get the 1024x1792 / 1792x1024 sizes (``options.high_quality``).
- C3: the allowed ``seconds`` are configuration too (default 10 and 15, the "reverse" family).
  A reseller may silently coerce them, so an echoed ``seconds`` that differs is logged.
- C4/C5: always multipart; booleans go out as the text ``"true"``/``"false"``; ``input_reference``
  is a file part, resized and cover-cropped to exactly ``size`` first (a mismatch is refused with
  "Inpaint image must match the requested width and height").
- C6: ``size`` is always sent explicitly.
- C7: the task id is read from ``id``, else ``task_id``, else ``data.id``; a body wrapped in
  ``data`` is read as the Video object. Status words of every known reseller family are mapped
  (§4.1); an unknown word counts as running (and is logged) until the job's timeout.

``/content`` differs per gateway (§3.3): MP4 bytes, a redirect to a CDN, or JSON with a link. A
direct link in the status object is preferred; bytes come back in ``VideoSource.data`` (a ``VideoSource``
carrying the data, since the content endpoint itself needs the key).

Pricing is not documented for lconai (§3.5). ``default_prices`` is therefore a *reference* table in
member credits — the nanophoto prices of the comparable Sora 2 tier (standard 4/8, pro 60/100 for
10/15 s; per second otherwise) — so a profile works out of the box; set the profile's ``prices`` to
what the reseller really charges.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal
from urllib.parse import quote

import aiohttp

from bot.errors import InvalidRequest
from bot.i18n import Msg, msg
from bot.media import ImageError, fit_image, image_mime
from bot.providers.base import (
    AnyRequest,
    ApiKey,
    Blame,
    Capabilities,
    ImageToVideo,
    Kind,
    Orientation,
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
from bot.providers.faults import logged, malformed, no_video, transport
from bot.providers.http import FormFile, HttpResponse, TransportError, VendorHttp, redact_url
from bot.providers.profiles import ProfileError, ProviderProfile, Timing

log = logging.getLogger(__name__)

CREATE_PATH = "/v1/videos"
STATUS_PATH = "/v1/videos/{id}"
CONTENT_PATH = "/v1/videos/{id}/content"
REMIX_PATH = "/v1/videos/{id}/remix"

OPENAI_VIDEOS_MODELS: tuple[str, ...] = ("sora-2", "sora-2-pro")
OPENAI_VIDEOS_DEFAULT_MODEL = "sora-2"
OPENAI_VIDEOS_DURATIONS: tuple[int, ...] = (10, 15)
OPENAI_VIDEOS_OPTIONS = frozenset({"watermark", "private", "high_quality", "character"})
# PROVIDERS.md §3.5: first poll after 30 s, then every 15 s, give up after 15 min. A profile's
# ``timing`` is what the engine uses; this is the value to put there for a real reseller.
OPENAI_VIDEOS_TIMING = Timing(first_poll=30.0, poll_interval=15.0, timeout=900.0)

Size = Literal["720x1280", "1280x720", "1024x1792", "1792x1024"]
SIZES: dict[tuple[bool, Orientation], Size] = {
    (False, Orientation.PORTRAIT): "720x1280",
    (False, Orientation.LANDSCAPE): "1280x720",
    (True, Orientation.PORTRAIT): "1024x1792",
    (True, Orientation.LANDSCAPE): "1792x1024",
}
PRO_ONLY_SIZES = frozenset({"1024x1792", "1792x1024"})
# Reference member credits (see the module docstring): by (is pro, seconds), else per second.
REFERENCE_PRICES: dict[tuple[bool, int], int] = {
    (False, 10): 4,
    (False, 15): 8,
    (True, 10): 60,
    (True, 15): 100,
}
REFERENCE_PER_SECOND: dict[bool, float] = {False: 0.5, True: 6.5}
CHARACTER_SPAN = (1.0, 3.0)  # seconds between character_start and character_end (seed 002)

MAX_IMAGE_BYTES = 20 * 1024 * 1024  # a reference image bigger than this is refused, not decoded
MAX_VIDEO_BYTES = 256 * 1024 * 1024  # a 15 s Sora clip is 5-30 MB; cap what is held in memory

QUEUED_WORDS = frozenset({"queued", "submitted", "pending"})
RUNNING_WORDS = frozenset({"in_progress", "processing", "running"})
SUCCEEDED_WORDS = frozenset({"completed", "succeeded", "success"})
FAILED_WORDS = frozenset({"failed", "error", "cancelled", "canceled"})
URL_FIELDS = ("video_url", "url", "download_url")

# What a vendor `param` is called in the bot's commands, for messages that name the field.
_FIELD_NAMES = {
    "seconds": "duration",
    "size": "orientation/high_quality",
    "input_reference": "image",
    "character_timestamps": "character_start/character_end",
}


# --------------------------------------------------------------------------- wire models


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


# --------------------------------------------------------------------------- capabilities


def is_pro_model(model: str) -> bool:
    """``sora-2-pro``, ``sora-2-pro-2025-10-06``, ``sora_video2-pro``: a name part ``pro``."""
    return "pro" in model.lower().replace("_", "-").split("-")


def reference_price(model: str, seconds: int) -> int:
    """Member credits for a video when the profile names no price (see the module docstring)."""
    pro = is_pro_model(model)
    known = REFERENCE_PRICES.get((pro, seconds))
    return known if known is not None else max(1, math.ceil(seconds * REFERENCE_PER_SECOND[pro]))


class OpenAIVideosCapabilities(Capabilities):
    """``Capabilities`` plus the rules that depend on the model and on option values.

    The engine validates through ``capabilities.validate_request`` before anything is charged, so
    these checks live here rather than in ``submit``.
    """

    pro_models: frozenset[str] = frozenset()

    def validate_request(self, req: AnyRequest) -> None:
        super().validate_request(req)
        opts = req.options
        if isinstance(req, RemixRequest):
            if not req.source_remote_id.strip():
                raise InvalidRequest("source", "invalid.empty", msg("allowed.finished_video_id"))
            chosen = sorted(opts.chosen())
            if chosen:
                raise InvalidRequest(chosen[0], "invalid.not_on_remix", msg("allowed.unset"))
            return
        model = self.resolve_model(req)
        if opts.high_quality and model not in self.pro_models:
            pro = ", ".join(sorted(self.pro_models))
            raise InvalidRequest(
                "high_quality",
                "invalid.needs_pro",
                msg("allowed.off_or_pro", tiers=pro) if pro else msg("allowed.off_no_pro"),
                model=model,
            )
        if "character" in opts.chosen():
            _check_character(opts.character_url, opts.character_start, opts.character_end)


def _check_character(url: str | None, start: float | None, end: float | None) -> None:
    low, high = CHARACTER_SPAN
    if not url or not url.strip():
        raise InvalidRequest("character_url", "invalid.missing", msg("allowed.character_url"))
    if not url.startswith(("http://", "https://")):
        raise InvalidRequest("character_url", "invalid.not_web_link", msg("allowed.video_link"))
    if start is None or not math.isfinite(start) or start < 0:
        raise InvalidRequest("character_start", "invalid.not_a_time", msg("allowed.character_start"))
    if end is None or not math.isfinite(end):
        raise InvalidRequest(
            "character_end",
            "invalid.not_a_time",
            msg("allowed.character_span", low=f"{low:g}", high=f"{high:g}"),
        )
    span = end - start
    if not (low - 1e-9 <= span <= high + 1e-9):
        raise InvalidRequest(
            "character_end",
            "invalid.span_after_start",
            msg("allowed.character_span", low=f"{low:g}", high=f"{high:g}"),
            span=f"{span:g}",
        )


def openai_videos_capabilities(
    models: tuple[str, ...] | None = None, durations: tuple[int, ...] | None = None, *, profile: str = "?"
) -> OpenAIVideosCapabilities:
    """The reseller's models/durations, replaced by a profile's ``models``/``durations`` when given.

    Unlike nanophoto's tiers, these are open-ended configuration (C1, C3): any model name and any
    positive number of seconds the reseller accepts.
    """
    names = OPENAI_VIDEOS_MODELS if models is None else tuple(models)
    if not names or any(not m.strip() for m in names):
        raise ProfileError(f"profile `{profile}`: field `models`: needs at least one non-empty model name")
    secs = OPENAI_VIDEOS_DURATIONS if durations is None else tuple(durations)
    if not secs or any(d <= 0 for d in secs):
        raise ProfileError(
            f"profile `{profile}`: field `durations`: needs positive numbers of seconds (e.g. 10, 15)"
        )
    return OpenAIVideosCapabilities(
        kinds=frozenset({Kind.TEXT, Kind.IMAGE, Kind.REMIX}),
        models=names,
        default_model=OPENAI_VIDEOS_DEFAULT_MODEL if OPENAI_VIDEOS_DEFAULT_MODEL in names else names[0],
        durations=secs,
        orientations=(Orientation.PORTRAIT, Orientation.LANDSCAPE),
        options=OPENAI_VIDEOS_OPTIONS,
        pro_models=frozenset(m for m in names if is_pro_model(m)),
    )


# --------------------------------------------------------------------------- errors


@dataclass(frozen=True)
class _Spec:
    user_key: str  # the catalog message a member reads
    blame: Blame
    retryable: bool
    params: Mapping[str, Any] = field(default_factory=dict)


_KEY = _Spec("provider.key_rejected", "operator", False)
_QUOTA = _Spec("provider.out_of_credit", "operator", False)
_RATE = _Spec("provider.openai.rate_limited", "operator", True)
_SERVER = _Spec("provider.internal", "vendor", True)
_TASK_GONE = _Spec("provider.task_gone", "operator", False)
_SOURCE_GONE = _Spec("provider.openai.source_gone", "user", False)
_GENERIC = "provider.generic"
_QUOTA_WORDS = ("insufficient_quota", "quota", "balance", "billing", "credit")

Route = Literal["create", "status", "content", "remix"]


def openai_error(
    http_status: int | None,
    error: Mapping[str, Any] | None,
    *,
    route: Route = "create",
    retry_after: float | None = None,
    key: ApiKey | None = None,
    body_text: str = "",
) -> ProviderError:
    """Turn an OpenAI-shaped error (or a bare HTTP status) into a ``ProviderError``.

    A 400 ``invalid_request_error`` is the member's to fix and names the field, except a refused
    ``model``, which is the profile's (C1). ``insufficient_quota`` arrives as HTTP 429 from OpenAI
    itself; it is reported with ``http_status=402`` so it is not mistaken for a rate limit (which
    the engine would wait out and retry) — the real status stays in ``detail``.
    """
    err = error or {}
    message = scrub(str(err.get("message") or "").strip(), key)[:300]
    etype = str(err.get("type") or "")
    code = str(err.get("code") or "")
    param = str(err.get("param") or "") or None
    raw_code = code or etype or (f"HTTP_{http_status}" if http_status else "UNKNOWN_ERROR")
    shown = message or scrub(body_text.strip(), key)[:200] or "(no message)"
    detail = (
        (f"HTTP {http_status}: " if http_status else "error body: ")
        + shown
        + (f" [param={param}]" if param else "")
    )
    status = http_status
    said: Msg = (
        msg("provider.openai.said", words=message.rstrip("."))
        if message
        else msg("provider.openai.said_none")
    )
    vocabulary = f"{code} {etype}".lower()
    if http_status == 402 or any(word in vocabulary for word in _QUOTA_WORDS):
        spec, status = _QUOTA, 402
    elif http_status in (401, 403):
        spec = _KEY
    elif http_status == 429:
        spec = _RATE
    elif http_status is None or http_status >= 500:
        spec = _SERVER
    elif http_status == 404 and route == "status":
        spec = _TASK_GONE
    elif http_status == 404 and route == "remix":
        spec = _SOURCE_GONE
    elif http_status in (400, 409, 413, 415, 422) or etype == "invalid_request_error":
        if param == "model":
            spec = _Spec("provider.openai.model_refused", "operator", False, {"said": said})
        elif param:
            name = _FIELD_NAMES.get(param, param)
            spec = _Spec("provider.openai.field_refused", "user", False, {"field": name, "said": said})
        else:
            spec = _Spec("provider.openai.request_refused", "user", False, {"said": said})
    else:
        spec = _Spec(_GENERIC, "vendor", False)
    return ProviderError(
        code=raw_code,
        detail=detail,
        user_key=spec.user_key,
        user_params=spec.params,
        blame=spec.blame,
        retryable=spec.retryable,
        http_status=status,
        retry_after=retry_after if spec is _RATE else None,
    )


def _image_error(user_key: str, detail: str, **params: Any) -> ProviderError:
    return ProviderError(
        code="IMAGE_UNUSABLE",
        detail=detail,
        user_key=user_key,
        user_params=params,
        blame="user",
        retryable=False,
    )


def _retry_after(headers: Mapping[str, str]) -> float | None:
    lowered = {k.lower(): v for k, v in headers.items()}
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = lowered.get(name)
        if value is None:
            continue
        try:
            seconds = float(value) * scale
        except ValueError:
            continue
        if math.isfinite(seconds) and seconds >= 0:
            return seconds
    return None


# --------------------------------------------------------------------------- reading Video objects


def remote_id_of(body: Mapping[str, Any]) -> str | None:
    """C7: ``id``, else ``task_id``, else ``data.id``."""
    for value in (body.get("id"), body.get("task_id")):
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
            return str(value)
    data = body.get("data")
    if isinstance(data, Mapping):
        value = data.get("id") or data.get("task_id")
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
            return str(value)
    return None


def video_object(body: Mapping[str, Any]) -> dict[str, Any]:
    """The Video object in ``body``: the body itself, or its ``data`` (whose fields win) merged in."""
    data = body.get("data")
    if isinstance(data, Mapping):
        return {**{k: v for k, v in body.items() if k != "data"}, **data}
    return dict(body)


def map_status(word: str) -> TaskState | None:
    """§4.1's table; ``None`` for a word nobody documented."""
    w = word.strip().lower()
    if w in QUEUED_WORDS:
        return TaskState.QUEUED
    if w in RUNNING_WORDS:
        return TaskState.RUNNING
    if w in SUCCEEDED_WORDS:
        return TaskState.SUCCEEDED
    if w in FAILED_WORDS:
        return TaskState.FAILED
    return None


def _progress(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        value = value.strip().removesuffix("%")
        try:
            value = float(value)
        except ValueError:
            return None
    if isinstance(value, int | float) and math.isfinite(value):
        return max(0, min(100, round(value)))
    return None


def _direct_url(obj: Mapping[str, Any]) -> str | None:
    for name in URL_FIELDS:
        value = obj.get(name)
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            return value
    return None


def _error_object(body: Mapping[str, Any]) -> Mapping[str, Any] | None:
    err = body.get("error")
    if isinstance(err, Mapping):
        return err
    if isinstance(err, str) and err.strip():
        return {"message": err}
    return None


# --------------------------------------------------------------------------- adapter


@dataclass(frozen=True)
class _Content:
    status: int
    content_type: str
    final_url: str
    redirected: bool
    body: bytes
    truncated: bool
    headers: Mapping[str, str]


class OpenAIVideos:
    """``VideoProvider`` for an OpenAI-compatible ``/v1/videos`` reseller, bound to one profile."""

    def __init__(self, profile: ProviderProfile, http: VendorHttp) -> None:
        self.profile = profile
        self.http = http
        self.capabilities: OpenAIVideosCapabilities = openai_videos_capabilities(
            profile.models, profile.durations, profile=profile.name
        )
        # lconai documents no prices (§3.5): reference credits, overridden by the profile's ``prices``.
        self.default_prices: Mapping[tuple[str, int], int] = MappingProxyType(
            {
                (m, d): reference_price(m, d)
                for m in self.capabilities.models
                for d in self.capabilities.durations
            }
        )
        base = profile.base_url.rstrip("/")
        self._base = base.removesuffix("/v1")  # accept "https://host" and "https://host/v1"
        # Videos made with ``private=true`` cannot be remixed; known for jobs this process submitted
        # or polled (RemoteTask.extra survives restarts, so running jobs are re-learned on poll).
        self._private: set[str] = set()
        self._seconds_warned: set[str] = set()

    @property
    def name(self) -> str:
        return self.profile.name

    def url(self, template: str, remote_id: str = "") -> str:
        return self._base + template.format(id=quote(remote_id, safe=""))

    # ------------------------------------------------------------------ building requests

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

    async def preflight(self, req: AnyRequest, key: ApiKey) -> None:
        """Nothing to ask the reseller before a create."""

    async def submit(self, req: AnyRequest, key: ApiKey) -> RemoteTask:
        self.capabilities.validate_request(req)
        if isinstance(req, RemixRequest):
            return await self._remix(req, key)
        assert isinstance(req, TextToVideo | ImageToVideo)  # validate_request allows only these kinds
        fields = self.build_create_fields(req)
        image = await self._reference_image(req, fields) if isinstance(req, ImageToVideo) else None
        try:
            resp = await self._post_form(self.url(CREATE_PATH), fields.wire(), image, key)
        except TransportError as exc:
            raise self._logged(transport(exc, submit=True), "create", key) from None
        body = self._read(resp, "create", key, submit=True)
        remote_id = remote_id_of(body)
        if not remote_id:
            # Something may have been created and billed; repeating blindly could double it.
            raise self._logged(
                malformed(
                    f"create answer has no id: {scrub(resp.text[:200], key)!r}", resp.status, retryable=False
                ),
                "create",
                key,
            )
        extra = {"model": fields.model, "seconds": fields.seconds, "size": fields.size}
        if fields.private == "true":
            extra["private"] = "true"
            self._private.add(remote_id)
        obj = video_object(body)
        snapshot = self._snapshot(obj, body, remote_id, extra, key) if obj.get("status") else None
        log.info(
            "openai_videos %s: submitted %s (%s, %s s, %s%s) with key %s -> %s",
            self.name,
            req.kind.value,
            fields.model,
            fields.seconds,
            fields.size,
            ", with image" if image else "",
            key.name,
            remote_id,
        )
        return RemoteTask(remote_id=remote_id, extra=extra, snapshot=snapshot)

    async def poll(self, task: RemoteTask, key: ApiKey) -> TaskSnapshot:
        if task.extra.get("private") == "true":
            self._private.add(task.remote_id)
        try:
            resp = await self.http.request_json(
                "GET",
                self.url(STATUS_PATH, task.remote_id),
                key=key,
                timeout_s=self.profile.request_timeout,
                idempotent=True,
            )
        except TransportError as exc:
            raise self._logged(transport(exc, submit=False), "status", key) from None
        body = self._read(resp, "status", key, submit=False)
        return self._snapshot(video_object(body), body, task.remote_id, task.extra, key)

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
        try:
            content = await self._get_content(url, key)
        except TransportError as exc:
            raise self._logged(transport(exc, submit=False), "content", key) from None
        return self._content_source(content, url, key)

    # ------------------------------------------------------------------ remix

    async def _remix(self, req: RemixRequest, key: ApiKey) -> RemoteTask:
        source = req.source_remote_id.strip()
        if source in self._private:
            raise ProviderError(
                code="PRIVATE_SOURCE",
                detail=f"remix of private video {source} refused locally",
                user_key="provider.openai.private_source",
                blame="user",
                retryable=False,
            )
        body = RemixBody(prompt=req.prompt, model=self.capabilities.resolve_model(req))
        try:
            resp = await self.http.request_json(
                "POST",
                self.url(REMIX_PATH, source),
                key=key,
                json_body=body.wire(),
                timeout_s=self.profile.request_timeout,
                idempotent=False,
            )
        except TransportError as exc:
            raise self._logged(transport(exc, submit=True), "remix", key) from None
        data = self._read(resp, "remix", key, submit=True)
        remote_id = remote_id_of(data)
        if not remote_id:
            raise self._logged(
                malformed("remix answer has no id", resp.status, retryable=False), "remix", key
            )
        extra = {"model": body.model, "remix_of": source}
        obj = video_object(data)
        snapshot = self._snapshot(obj, data, remote_id, extra, key) if obj.get("status") else None
        log.info(
            "openai_videos %s: remix of %s (%s) with key %s -> %s",
            self.name,
            source,
            body.model,
            key.name,
            remote_id,
        )
        return RemoteTask(remote_id=remote_id, extra=extra, snapshot=snapshot)

    # ------------------------------------------------------------------ HTTP

    async def _post_form(
        self, url: str, fields: Mapping[str, str], image: bytes | None, key: ApiKey
    ) -> HttpResponse:
        """``POST`` multipart/form-data; not idempotent, so repeated only when it provably never left."""
        files: list[FormFile] = []
        if image is not None:
            mime = image_mime(image)
            filename = "reference.png" if mime == "image/png" else "reference.jpg"
            files.append(FormFile("input_reference", image, filename, mime))
        return await self.http.request_form(
            "POST",
            url,
            key=key,
            timeout_s=self.profile.request_timeout,
            idempotent=False,
            fields=fields,
            files=files,
        )

    async def _get_content(self, url: str, key: ApiKey) -> _Content:
        """``GET /content`` following redirects; aiohttp drops the key on a cross-origin redirect."""
        max_body = self.http.max_body

        async def read(resp: aiohttp.ClientResponse) -> _Content:
            ctype = resp.content_type.lower()
            redirected = bool(resp.history)
            is_video = _is_video_type(ctype)
            if resp.status < 300 and is_video and redirected:
                raw = b""  # the final URL is the answer; the member's client downloads it
            else:
                limit = MAX_VIDEO_BYTES if is_video and resp.status < 300 else max_body
                raw = await resp.content.read(limit + 1)
                if len(raw) > limit:
                    return _Content(resp.status, ctype, str(resp.url), redirected, raw[:limit], True, {})
            return _Content(resp.status, ctype, str(resp.url), redirected, raw, False, dict(resp.headers))

        content, _ = await self.http.get_with(
            url,
            read,
            timeout_s=self.profile.request_timeout,
            key=key,
            accept="video/*, application/json;q=0.9, */*;q=0.5",
            should_retry=lambda c: c.status >= 500,
        )
        return content

    def _content_source(self, content: _Content, url: str, key: ApiKey) -> VideoSource:
        if content.status >= 400:
            data = _json_or_none(content.body)
            err = _error_object(data) if isinstance(data, Mapping) else None
            raise self._logged(
                openai_error(
                    content.status,
                    err,
                    route="content",
                    retry_after=_retry_after(content.headers),
                    key=key,
                    body_text=content.body[:200].decode("utf-8", "replace"),
                ),
                "content",
                key,
            )
        if _is_video_type(content.content_type):
            if content.redirected:
                log.info(
                    "openai_videos %s: content redirected to %s", self.name, redact_url(content.final_url)
                )
                return VideoSource(url=content.final_url)
            if content.truncated:
                raise self._logged(
                    ProviderError(
                        code="VIDEO_TOO_LARGE",
                        detail=f"content is larger than {MAX_VIDEO_BYTES} bytes",
                        user_key="provider.openai.video_too_large",
                        blame="vendor",
                        retryable=False,
                    ),
                    "content",
                    key,
                )
            if not content.body:
                raise self._logged(malformed("content is an empty video", content.status), "content", key)
            return VideoSource(url=url, data=content.body, content_type=content.content_type or "video/mp4")
        data = _json_or_none(content.body)
        if isinstance(data, Mapping):
            link = _direct_url(video_object(data))
            if link:
                return VideoSource(url=link)
        raise self._logged(
            malformed(
                f"content answer is {content.content_type or 'untyped'} without a video link: "
                f"{scrub(content.body[:200].decode('utf-8', 'replace'), key)!r}",
                content.status,
            ),
            "content",
            key,
        )

    # ------------------------------------------------------------------ image

    async def _reference_image(self, req: ImageToVideo, fields: CreateFields) -> bytes:
        """Fetch the member's image (without the vendor key) and fit it to exactly ``size``."""
        try:
            got = await self.http.get_bytes(
                req.image_url, timeout_s=self.profile.request_timeout, max_bytes=MAX_IMAGE_BYTES
            )
        except TransportError as exc:
            raise _image_error("provider.image_download_failed", str(exc)) from None
        if got.status != 200:
            raise _image_error("provider.image_expired", f"image fetch answered HTTP {got.status}")
        if got.truncated:
            raise _image_error(
                "provider.image_too_large", "image too large", mb=MAX_IMAGE_BYTES // (1024 * 1024)
            )
        width, height = fields.dimensions
        try:
            return await asyncio.to_thread(fit_image, got.body, width, height)
        except ImageError as exc:
            raise _image_error(exc.key, f"image unusable ({got.content_type})", **exc.params) from None

    # ------------------------------------------------------------------ reading answers

    def _read(self, resp: HttpResponse, route: Route, key: ApiKey, *, submit: bool) -> dict[str, Any]:
        data = resp.data
        if not isinstance(data, dict):
            if resp.status >= 400:  # e.g. a proxy's HTML 502: the status is all there is
                err = openai_error(
                    resp.status,
                    None,
                    route=route,
                    retry_after=_retry_after(resp.headers),
                    key=key,
                    body_text=resp.text,
                )
            else:
                err = malformed(
                    f"HTTP {resp.status} body is not a JSON object: {scrub(resp.text[:200], key)!r}",
                    resp.status,
                    retryable=not submit,
                )
            raise self._logged(err, route, key)
        err_obj = _error_object(data)
        # An error envelope: any 4xx/5xx, or a 200 that carries `error` and no Video status.
        if resp.status >= 400 or (err_obj is not None and not video_object(data).get("status")):
            raise self._logged(
                openai_error(
                    resp.status if resp.status >= 400 else None,
                    err_obj,
                    route=route,
                    retry_after=_retry_after(resp.headers),
                    key=key,
                ),
                route,
                key,
            )
        return data

    def _snapshot(
        self,
        obj: Mapping[str, Any],
        raw: dict[str, Any],
        remote_id: str,
        extra: Mapping[str, str],
        key: ApiKey,
    ) -> TaskSnapshot:
        word = str(obj.get("status") or "")
        state = map_status(word)
        if state is None:
            log.warning(
                "openai_videos %s: task %s has unknown status %r, treated as running",
                self.name,
                remote_id,
                word,
            )
            state = TaskState.RUNNING
        self._check_seconds(obj, remote_id, extra)
        if obj.get("private") is True or obj.get("private") == "true":
            self._private.add(remote_id)
        if remote_id_of(raw) is None:
            raw = {**raw, "id": remote_id}  # open_result needs it to reach /content
        error = None
        if state is TaskState.FAILED:
            err = _error_object(obj) or {}
            message = str(err.get("message") or "").strip()
            code = str(err.get("code") or "").strip() or word.strip().upper() or "FAILED"
            if not message:
                message = "the task was cancelled" if word.lower() in ("cancelled", "canceled") else ""
            error = TaskError(code=code, message=_clean(scrub(message, key)) or "no reason given")
            log.info("openai_videos %s: task %s failed: %s: %s", self.name, remote_id, code, error.message)
        return TaskSnapshot(
            state=state,
            progress_pct=_progress(obj.get("progress")),
            video_url=_direct_url(obj) if state is TaskState.SUCCEEDED else None,
            error=error,
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

    def _logged(self, err: ProviderError, route: str, key: ApiKey) -> ProviderError:
        return logged(log, "openai_videos", self.name, err, route, key)


# --------------------------------------------------------------------------- small helpers


def _flag(value: bool | None) -> Literal["true", "false"] | None:
    if value is None:
        return None
    return "true" if value else "false"


def _is_video_type(ctype: str) -> bool:
    return ctype.startswith("video/") or ctype in ("application/octet-stream", "binary/octet-stream")


def _json_or_none(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None


def _clean(text: str) -> str:
    return " ".join(text.split())[:300]
