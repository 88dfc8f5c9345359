"""nanophoto.ai Sora 2 video API (PROVIDERS.md §1.1-1.3): text-to-video and image-to-video.

Wire protocol: ``POST /api/sora-2/generate`` then ``POST /api/sora-2/check-status`` with
``{"taskId"}`` until ``status`` is ``completed`` (``videoUrl``) or ``failed``. The readings we rely
on, from the "ambiguities" list:

- A5: an error is any body with ``errorCode``, or ``success: false``, or HTTP >= 400; ``success``
  alone is not enough (the 402 example has no ``success`` field).
- A6: a failed task may come back as HTTP 500 with a JSON body, so bodies are read on every status,
  and a poll that says ``status: failed`` is a terminal answer (a FAILED snapshot), not a fault.
- A7: ``progress`` is a stage word ("generating"), never a percentage.
- A8: ``videoDuration`` is always sent, as the string ``"10"`` or ``"15"``.
- A10: image-to-video sends exactly one public image URL.
- The generate response may already say ``completed`` (nanophoto's own client checks for it).

No ``Retry-After`` is documented for the 429, so ``retry_after`` stays ``None``; the engine's
per-key budget (100 requests/hour, creates and polls both count) decides when to try again.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from bot.providers.base import (
    AnyRequest,
    ApiKey,
    Blame,
    Capabilities,
    ImageToVideo,
    Kind,
    Orientation,
    ProviderError,
    RemoteTask,
    TaskSnapshot,
    TaskState,
    TextToVideo,
    VideoSource,
    WireBody,
    scrub,
)
from bot.providers.faults import logged, malformed, public_result, transport
from bot.providers.http import HttpResponse, TransportError, VendorHttp
from bot.providers.profiles import ProviderProfile, narrowed

log = logging.getLogger(__name__)

GENERATE_PATH = "/api/sora-2/generate"
STATUS_PATH = "/api/sora-2/check-status"

Tier = Literal["sora2", "sora2-pro-standard", "sora2-pro-high"]
NANOPHOTO_TIERS: tuple[str, ...] = ("sora2", "sora2-pro-standard", "sora2-pro-high")
NANOPHOTO_DEFAULT_TIER = "sora2"
NANOPHOTO_DURATIONS: tuple[int, ...] = (10, 15)

# Vendor credits per video, by (modelTier, seconds) — PROVIDERS.md §1.2. "Last seen", not a contract:
# a profile's ``prices`` ("tier:seconds" -> credits) overrides an entry.
NANOPHOTO_PRICES: dict[tuple[str, int], int] = {
    ("sora2", 10): 4,
    ("sora2", 15): 8,
    ("sora2-pro-standard", 10): 60,
    ("sora2-pro-standard", 15): 100,
    ("sora2-pro-high", 10): 120,
    ("sora2-pro-high", 15): 240,
}

RUNNING_WORDS = frozenset({"processing", "running", "generating", "in_progress"})
QUEUED_WORDS = frozenset({"queued", "pending", "submitted", "waiting"})


# --------------------------------------------------------------------------- wire models


class GenerateBody(WireBody):
    """``POST /api/sora-2/generate`` — field names are the vendor's."""

    prompt: str
    mode: Literal["textToVideo", "imageToVideo"]
    modelTier: Tier
    aspectRatio: Literal["portrait", "landscape"]
    videoDuration: Literal["10", "15"]
    imageUrls: list[str] | None = None


class StatusBody(WireBody):
    """``POST /api/sora-2/check-status``."""

    taskId: str


class NanophotoReply(BaseModel):
    """Any nanophoto response body: accepted, processing, completed, failed or an error envelope.

    Every field is optional because the vendor's examples disagree on which appear (A1, A5);
    stray scalar types are coerced to text rather than rejected, so a real error is never
    misreported as a malformed answer.
    """

    model_config = ConfigDict(frozen=True, extra="allow")

    success: bool | None = None
    status: str | None = None
    taskId: str | None = None
    progress: str | None = None
    message: str | None = None
    videoUrl: str | None = None
    error: str | None = None
    errorCode: str | None = None
    requiredCredits: int | None = None
    generationTime: float | None = None
    creditsUsed: int | None = None

    @field_validator("status", "taskId", "progress", "message", "videoUrl", "errorCode", mode="before")
    @classmethod
    def _scalar_to_text(cls, value: Any) -> Any:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        return value

    @field_validator("error", mode="before")
    @classmethod
    def _error_to_text(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return str(value.get("message") or value.get("error") or value)
        if isinstance(value, int | float | bool):
            return str(value)
        return value

    @property
    def is_error(self) -> bool:
        return self.errorCode is not None or self.success is False


# --------------------------------------------------------------------------- errors


@dataclass(frozen=True)
class ErrorSpec:
    user_key: str  # the catalog message a member reads
    blame: Blame
    retryable: bool
    vendor_refunds: bool = False


_RATE_LIMITED = ErrorSpec(
    "provider.hourly_limit",
    "operator",
    True,
)
_LOGIN = ErrorSpec(
    "provider.key_rejected",
    "operator",
    False,
)
_CREDITS = ErrorSpec(
    "provider.out_of_credits",
    "operator",
    False,
)
_INTERNAL = ErrorSpec(
    "provider.internal",
    "vendor",
    True,
)
_TASK_NOT_FOUND = ErrorSpec(
    "provider.task_gone",
    "operator",
    False,
)

# Every documented nanophoto code (§1.1, §1.3; the TVC-only codes of §1.5 too, so the TVC adapter can
# share this table).
NANOPHOTO_ERRORS: dict[str, ErrorSpec] = {
    "LOGIN_REQUIRED": _LOGIN,
    "UNAUTHORIZED": ErrorSpec(
        "provider.nanophoto.unauthorized",
        "operator",
        False,
    ),
    "API_KEY_RATE_LIMIT_EXCEEDED": _RATE_LIMITED,
    "INSUFFICIENT_CREDITS": _CREDITS,
    "INVALID_INPUT": ErrorSpec(
        "provider.nanophoto.invalid_input",
        "operator",
        False,
    ),
    "PROMPT_REQUIRED": ErrorSpec("provider.nanophoto.prompt_required", "user", False),
    "IMAGE_REQUIRED": ErrorSpec("provider.nanophoto.image_required", "user", False),
    "IMAGE_URLS_REQUIRED": ErrorSpec(
        "provider.nanophoto.image_urls_required",
        "user",
        False,
    ),
    "REFERENCE_IMAGE_URL_REQUIRED": ErrorSpec(
        "provider.nanophoto.reference_image_required",
        "user",
        False,
    ),
    "GENERATION_FAILED": ErrorSpec(
        "provider.nanophoto.generation_failed",
        "vendor",
        False,
        vendor_refunds=True,
    ),
    "TASK_ID_REQUIRED": ErrorSpec(
        "provider.nanophoto.task_id_required",
        "operator",
        False,
    ),
    "TASK_NOT_FOUND": _TASK_NOT_FOUND,
    "RECORD_NOT_FOUND": _TASK_NOT_FOUND,
    "INTERNAL_ERROR": _INTERNAL,
}

# When a body carries no (known) code, the HTTP status still says something.
_BY_STATUS: dict[int, ErrorSpec] = {401: _LOGIN, 402: _CREDITS, 404: _TASK_NOT_FOUND, 429: _RATE_LIMITED}

_GENERIC_USER_MESSAGE = "provider.generic"


def nanophoto_error(
    code: str | None,
    message: str | None,
    http_status: int | None,
    *,
    extra: str = "",
) -> ProviderError:
    """Turn a nanophoto error envelope (or a bare HTTP status) into a ``ProviderError``.

    Unknown codes keep their raw code and message; their user message is generic and they are
    retryable unless the HTTP status is a 4xx other than 429.
    """
    raw_code = code or (f"HTTP_{http_status}" if http_status else "UNKNOWN_ERROR")
    detail = (message or "").strip() or "(no message)"
    if extra:
        detail = f"{detail} ({extra})"
    spec = NANOPHOTO_ERRORS.get(code or "")
    if spec is None and http_status is not None:
        spec = _BY_STATUS.get(http_status) or (_INTERNAL if http_status >= 500 else None)
    if spec is None:
        transient = http_status is None or http_status < 400 or http_status >= 500 or http_status == 429
        spec = ErrorSpec(_GENERIC_USER_MESSAGE, "vendor", transient)
    return ProviderError(
        code=raw_code,
        detail=detail,
        user_key=spec.user_key,
        blame=spec.blame,
        retryable=spec.retryable,
        vendor_refunds=spec.vendor_refunds,
        http_status=http_status,
        retry_after=None,  # nanophoto documents no Retry-After header
    )


def retry_poll(resp: HttpResponse) -> bool:
    """Retry a status check on 5xx — except A6's HTTP 500 that reports a finished, failed task."""
    if resp.status < 500:
        return False
    data = resp.data
    return not (
        isinstance(data, dict)
        and (data.get("status") == "failed" or data.get("errorCode") == "GENERATION_FAILED")
    )


# --------------------------------------------------------------------------- capabilities


def nanophoto_capabilities(
    models: tuple[str, ...] | None = None, durations: tuple[int, ...] | None = None, *, profile: str = "?"
) -> Capabilities:
    """The vendor's tiers/durations, narrowed by a profile's ``models``/``durations`` when given."""
    tiers = narrowed(
        profile, "models", models, NANOPHOTO_TIERS, offer=f"nanophoto offers {', '.join(NANOPHOTO_TIERS)}"
    )
    secs = narrowed(
        profile, "durations", durations, NANOPHOTO_DURATIONS, offer="nanophoto offers 10 and 15 seconds"
    )
    return Capabilities(
        kinds=frozenset({Kind.TEXT, Kind.IMAGE}),
        models=tiers,
        default_model=NANOPHOTO_DEFAULT_TIER if NANOPHOTO_DEFAULT_TIER in tiers else tiers[0],
        durations=secs,
        orientations=(Orientation.PORTRAIT, Orientation.LANDSCAPE),
    )


# --------------------------------------------------------------------------- adapters

ReplyT = TypeVar("ReplyT", bound=NanophotoReply)


class NanophotoApi(ABC, Generic[ReplyT]):
    """What nanophoto's Sora 2 and TVC adapters share, bound to one profile and the shared client.

    The request discipline (a create is never repeated; a status check is, except A6's finished
    failure), the reply envelope and its errors (A5), a failed task as an answer rather than a fault
    (A6), the public ``videoUrl`` and the log line. A subclass names its paths, reply model and log
    label, and fills in the vendor specifics: its ``submit`` (body, and what the accepted answer
    means), the status body, and the snapshot a status answer maps to (``_failed``/``_polled``).
    """

    _vendor: ClassVar[str]  # the adapter's name in log lines
    _log: ClassVar[logging.Logger]
    _generate_path: ClassVar[str]
    _status_path: ClassVar[str]
    _reply_model: type[ReplyT]
    # Whether a generate answer that does not fit the reply model is reported as retryable.
    capabilities: Capabilities

    def __init__(self, profile: ProviderProfile, http: VendorHttp, capabilities: Capabilities) -> None:
        self.profile = profile
        self.http = http
        self.capabilities = capabilities
        self._base = profile.base_url.rstrip("/")

    @property
    def name(self) -> str:
        return self.profile.name

    async def preflight(self, req: AnyRequest, key: ApiKey) -> None:
        """Nothing to ask nanophoto before a create."""

    async def poll(self, task: RemoteTask, key: ApiKey) -> TaskSnapshot:
        resp = await self._post(self._status_path, self._status_body(task), key, "check-status", submit=False)
        reply = self._read(resp, "check-status", key, submit=False)
        if self._says_failed(reply):
            return self._failed(reply, resp, task, key)
        if reply.is_error or resp.status >= 400:
            raise self._logged(self._error(reply, resp, key), "check-status", key)
        snapshot = self._polled(reply, resp, task, key)
        if snapshot is None:  # "completed" without a videoUrl: ask again rather than deliver nothing
            raise self._logged(
                malformed("completed answer has no videoUrl", resp.status), "check-status", key
            )
        return snapshot

    async def open_result(self, snap: TaskSnapshot, key: ApiKey) -> VideoSource:
        """nanophoto hands out a public ``videoUrl``; no key is needed to fetch it."""
        return public_result(snap)

    # ------------------------------------------------------------------ vendor specifics

    @abstractmethod
    def _status_body(self, task: RemoteTask) -> dict[str, Any]:
        """The ``check-status`` body that names ``task``."""

    def _says_failed(self, reply: ReplyT) -> bool:
        """A6: the status answer reports a finished, failed task (whatever the HTTP status)."""
        return (reply.status or "").lower() == "failed"

    @abstractmethod
    def _failed(self, reply: ReplyT, resp: HttpResponse, task: RemoteTask, key: ApiKey) -> TaskSnapshot:
        """The FAILED snapshot for a status answer that ``_says_failed``."""

    @abstractmethod
    def _polled(
        self, reply: ReplyT, resp: HttpResponse, task: RemoteTask, key: ApiKey
    ) -> TaskSnapshot | None:
        """The snapshot for a processing/completed status answer; ``None`` for one done without a video."""

    # ------------------------------------------------------------------ shared helpers

    async def _generate(self, body: Mapping[str, Any], key: ApiKey) -> tuple[ReplyT, HttpResponse]:
        """``POST`` the generate body, once; the reply if the vendor accepted it, else ``ProviderError``."""
        resp = await self._post(self._generate_path, body, key, "generate", submit=True)
        reply = self._read(resp, "generate", key, submit=True)
        if reply.is_error or resp.status >= 400:
            raise self._logged(self._error(reply, resp, key), "generate", key)
        return reply, resp

    async def _post(
        self, path: str, body: Mapping[str, Any], key: ApiKey, route: str, *, submit: bool
    ) -> HttpResponse:
        try:
            return await self.http.request_json(
                "POST",
                self._base + path,
                key=key,
                json_body=body,
                timeout_s=self.profile.request_timeout,
                idempotent=not submit,  # a second generate may start (and bill) a second video
                should_retry=retry_poll,
            )
        except TransportError as exc:
            raise self._logged(transport(exc, submit=submit), route, key) from None

    def _read(self, resp: HttpResponse, route: str, key: ApiKey, *, submit: bool) -> ReplyT:
        if not isinstance(resp.data, dict):
            if resp.status >= 400:  # e.g. a proxy's HTML 502: the status is all there is
                err = nanophoto_error(None, scrub(resp.text[:200], key), resp.status)
            else:
                err = malformed(
                    f"HTTP {resp.status} body is not a JSON object: {scrub(resp.text[:200], key)!r}",
                    resp.status,
                    retryable=not submit,
                )
            raise self._logged(err, route, key)
        try:
            return self._reply_model.model_validate(resp.data)
        except ValidationError as exc:
            fields = ", ".join(".".join(map(str, e["loc"])) for e in exc.errors())
            raise self._logged(
                malformed(
                    f"HTTP {resp.status} body has unexpected fields: {fields}",
                    resp.status,
                    retryable=not submit,
                ),
                route,
                key,
            ) from None

    @staticmethod
    def _error(reply: NanophotoReply, resp: HttpResponse, key: ApiKey) -> ProviderError:
        extra = f"requiredCredits={reply.requiredCredits}" if reply.requiredCredits is not None else ""
        return nanophoto_error(
            reply.errorCode, scrub(reply.error or reply.message or "", key), resp.status, extra=extra
        )

    def _logged(self, err: ProviderError, route: str, key: ApiKey) -> ProviderError:
        return logged(self._log, self._vendor, self.name, err, route, key)


class NanophotoSora(NanophotoApi[NanophotoReply]):
    """``VideoProvider`` for nanophoto's Sora 2 API, bound to one profile and the shared HTTP client."""

    # The vendor's credits table, for the engine's pricing (the profile's ``prices`` override it there).
    default_prices: Mapping[tuple[str, int], int] = MappingProxyType(NANOPHOTO_PRICES)

    _vendor = "nanophoto"
    _log = log
    _generate_path = GENERATE_PATH
    _status_path = STATUS_PATH
    _reply_model = NanophotoReply

    def __init__(self, profile: ProviderProfile, http: VendorHttp) -> None:
        super().__init__(
            profile, http, nanophoto_capabilities(profile.models, profile.durations, profile=profile.name)
        )

    def build_generate_body(self, req: TextToVideo | ImageToVideo) -> GenerateBody:
        tier = self.capabilities.resolve_model(req)
        return GenerateBody.model_validate(
            {
                "prompt": req.prompt,
                "mode": "imageToVideo" if isinstance(req, ImageToVideo) else "textToVideo",
                "modelTier": tier,
                "aspectRatio": req.orientation.value,
                "videoDuration": str(req.duration),
                "imageUrls": [req.image_url] if isinstance(req, ImageToVideo) else None,
            }
        )

    async def submit(self, req: AnyRequest, key: ApiKey) -> RemoteTask:
        self.capabilities.validate_request(req)
        assert isinstance(req, TextToVideo | ImageToVideo)  # validate_request allows only these kinds
        body = self.build_generate_body(req)
        reply, resp = await self._generate(body.wire(), key)
        if not reply.taskId:
            # Something may have been created and billed; repeating blindly could double it.
            raise self._logged(
                malformed("generate answer has no taskId", resp.status, retryable=False), "generate", key
            )
        snapshot = self._snapshot(reply, resp)
        log.info(
            "nanophoto %s: submitted %s (%s, %s s) with key %s -> task %s",
            self.name,
            body.mode,
            body.modelTier,
            body.videoDuration,
            key.name,
            reply.taskId,
        )
        return RemoteTask(remote_id=reply.taskId, snapshot=snapshot)

    # ------------------------------------------------------------------ vendor specifics

    def _status_body(self, task: RemoteTask) -> dict[str, Any]:
        return StatusBody(taskId=task.remote_id).wire()

    def _says_failed(self, reply: NanophotoReply) -> bool:
        return reply.status == "failed"  # the exact word (§1.3); TVC also takes other cases

    def _failed(
        self, reply: NanophotoReply, resp: HttpResponse, task: RemoteTask, key: ApiKey
    ) -> TaskSnapshot:
        err = nanophoto_error(
            reply.errorCode or "GENERATION_FAILED", scrub(reply.error or "", key), resp.status
        )
        log.info(
            "nanophoto %s: task %s failed (key %s): %s: %s",
            self.name,
            reply.taskId,
            key.name,
            err.code,
            err.detail,
        )
        return TaskSnapshot(
            state=TaskState.FAILED,
            error=err.task_error(),
            raw=resp.data,
        )

    def _polled(
        self, reply: NanophotoReply, resp: HttpResponse, task: RemoteTask, key: ApiKey
    ) -> TaskSnapshot | None:
        return self._snapshot(reply, resp)

    def _snapshot(self, reply: NanophotoReply, resp: HttpResponse) -> TaskSnapshot | None:
        raw: dict[str, Any] = resp.data if isinstance(resp.data, dict) else {}
        status = (reply.status or "").lower()
        if status == "completed":
            if not reply.videoUrl:
                return None
            return TaskSnapshot(state=TaskState.SUCCEEDED, video_url=reply.videoUrl, raw=raw)
        if status in QUEUED_WORDS:
            return TaskSnapshot(state=TaskState.QUEUED, stage=reply.progress, raw=raw)
        if status not in RUNNING_WORDS:
            log.warning("nanophoto %s: unknown status %r, treated as running", self.name, reply.status)
        return TaskSnapshot(state=TaskState.RUNNING, stage=reply.progress, raw=raw)
