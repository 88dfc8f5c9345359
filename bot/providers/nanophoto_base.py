"""What every nanophoto.ai video kind shares (Sora 2, TVC, Veo 3.1, SeeDance 1.5 Pro).

nanophoto's video APIs are one family: ``POST /api/<kind>/generate`` starts a task, ``POST
/api/<kind>/check-status`` reports it until ``status`` is ``completed`` (a public ``videoUrl``) or
``failed``, every answer is the same envelope and every error comes from one code table
(https://nanophoto.ai/en/docs/api; docs/vendors.md, "nanophoto: common rules"). So the family is
written once here, and a kind's module (``nanophoto.py``, ``nanophoto_tvc.py``, ``nanophoto_veo.py``,
``nanophoto_seedance.py``) adds only its paths, bodies and the snapshot its status answer maps to.
The readings we rely on:

- A5: an error is any body with ``errorCode``, or ``success: false``, or HTTP >= 400; ``success``
  alone is not enough (the 402 example has no ``success`` field).
- A6: a failed task may come back as HTTP 500 with a JSON body, so bodies are read on every status,
  a status check is not retried on that 500, and ``status: failed`` is a terminal answer (a FAILED
  snapshot), not a fault.
- A7: ``progress`` is a stage word ("generating"), never a percentage.
- The generate response may already say ``completed`` (nanophoto's own client checks for it).
- A11: "this model is not served" has no documented code. We read an ``errorCode`` naming the model
  as unavailable (``MODEL_NOT_AVAILABLE``, ``MODEL_UNAVAILABLE``, ``MODEL_NOT_FOUND``, …), and an
  unlisted or ``SERVICE_UNAVAILABLE`` code whose words say the model is gone for good, as
  ``model_unavailable``: permanent, the vendor's, on create and status alike (a status answer
  saying it is raised, not a failed snapshot, so the engine sees the flag).

No ``Retry-After`` is documented for the 429, so ``retry_after`` stays ``None``; the engine's per-key
budget (100 requests/hour, creates and polls both count) decides when to try again.
"""

from __future__ import annotations

import json
from abc import abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from bot.providers.adapter import StatusWords, VendorAdapter
from bot.providers.base import ApiKey, ProviderError, RemoteTask, TaskSnapshot, TaskState, scrub
from bot.providers.capabilities import Capabilities
from bot.providers.faults import (
    KEY_REJECTED,
    MODEL_NOT_SERVED,
    OUT_OF_CREDITS,
    TASK_GONE,
    VENDOR_INTERNAL,
    ErrorSpec,
    malformed,
    spec_for_status,
    unrecognised,
    vendor_code,
)
from bot.providers.http import HttpResponse, VendorHttp
from bot.providers.profiles import ProviderProfile

# ``failed`` is read before the words (A6), so no word means it here.
NANOPHOTO_WORDS = StatusWords(
    queued=frozenset({"queued", "pending", "submitted", "waiting"}),
    running=frozenset({"processing", "running", "generating", "in_progress"}),
    succeeded=frozenset({"completed"}),
)


class NanophotoReply(BaseModel):
    """Any nanophoto response body: accepted, processing, completed, failed or an error envelope.

    Every field is optional because the vendor's examples disagree on which appear (A5); stray
    scalar types are coerced to text rather than rejected, so a real error is never misreported as a
    malformed answer.
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

_RATE_LIMITED = ErrorSpec("provider.hourly_limit", "operator", True)

# Every documented nanophoto code, of every kind (docs/vendors.md, "nanophoto: common rules").
NANOPHOTO_ERRORS: dict[str, ErrorSpec] = {
    "LOGIN_REQUIRED": KEY_REJECTED,
    "UNAUTHORIZED": ErrorSpec("provider.nanophoto.unauthorized", "operator", False),
    "API_KEY_RATE_LIMIT_EXCEEDED": _RATE_LIMITED,
    "INSUFFICIENT_CREDITS": OUT_OF_CREDITS,
    "INVALID_INPUT": ErrorSpec("provider.nanophoto.invalid_input", "operator", False),
    "PROMPT_REQUIRED": ErrorSpec("provider.nanophoto.prompt_required", "user", False),
    "IMAGE_REQUIRED": ErrorSpec("provider.nanophoto.image_required", "user", False),
    "IMAGE_URLS_REQUIRED": ErrorSpec("provider.nanophoto.image_urls_required", "user", False),
    "REFERENCE_IMAGE_URL_REQUIRED": ErrorSpec("provider.nanophoto.reference_image_required", "user", False),
    "GENERATION_FAILED": ErrorSpec(
        "provider.nanophoto.generation_failed", "vendor", False, vendor_refunds=True
    ),
    "TASK_ID_REQUIRED": ErrorSpec("provider.nanophoto.task_id_required", "operator", False),
    "TASK_IDS_REQUIRED": ErrorSpec("provider.nanophoto.task_id_required", "operator", False),
    "SHOTS_REQUIRED": ErrorSpec("provider.nanophoto.shots_required", "operator", False),
    "INVALID_IMAGE_COUNT": ErrorSpec("provider.nanophoto.invalid_image_count", "user", False),
    "TASK_NOT_FOUND": TASK_GONE,
    "RECORD_NOT_FOUND": TASK_GONE,
    "INTERNAL_ERROR": VENDOR_INTERNAL,
    # A11: undocumented, our reading of "this model is not served".
    **dict.fromkeys(
        (
            "MODEL_NOT_AVAILABLE",
            "MODEL_UNAVAILABLE",
            "MODEL_NOT_FOUND",
            "MODEL_NOT_SUPPORTED",
            "MODEL_DEPRECATED",
            "MODEL_RETIRED",
        ),
        MODEL_NOT_SERVED,
    ),
}
# A11: words that say a model is gone for good (with "model" in the text, and not "temporarily").
_GONE_WORDS = (
    "no longer",
    "not available",
    "unavailable",
    "not supported",
    "deprecated",
    "retired",
    "discontinued",
)
_BY_STATUS: dict[int, ErrorSpec] = {
    401: KEY_REJECTED,
    402: OUT_OF_CREDITS,
    404: TASK_GONE,
    429: _RATE_LIMITED,
}


def nanophoto_error(
    code: str | None, message: str | None, http_status: int | None, *, extra: str = ""
) -> ProviderError:
    """Turn a nanophoto error envelope (or a bare HTTP status) into a ``ProviderError``.

    Unknown codes keep their raw code and message; their user message is generic and they are
    retryable unless the HTTP status is a 4xx other than 429.
    """
    detail = (message or "").strip() or "(no message)"
    if extra:
        detail = f"{detail} ({extra})"
    spec = MODEL_NOT_SERVED if _says_model_gone(code, message) else NANOPHOTO_ERRORS.get(code or "")
    spec = spec or spec_for_status(http_status, _BY_STATUS)
    spec = spec or unrecognised(http_status)
    return spec.error(code=vendor_code(code or "", http_status), detail=detail, http_status=http_status)


def _says_model_gone(code: str | None, message: str | None) -> bool:
    """A11 for a code that does not say it: a missing, unlisted or ``SERVICE_UNAVAILABLE`` code
    whose words say the model is gone for good."""
    if code and code != "SERVICE_UNAVAILABLE" and code in NANOPHOTO_ERRORS:
        return False
    words = (message or "").lower()
    return "model" in words and "temporar" not in words and any(w in words for w in _GONE_WORDS)


def retry_poll(resp: HttpResponse) -> bool:
    """Retry a status check on 5xx — except A6's HTTP 500 that reports a finished, failed task."""
    if resp.status < 500:
        return False
    data = resp.data
    return not (
        isinstance(data, dict)
        and (data.get("status") == "failed" or data.get("errorCode") == "GENERATION_FAILED")
    )


# --------------------------------------------------------------------------- the family's adapter

ReplyT = TypeVar("ReplyT", bound=NanophotoReply)


class NanophotoApi(VendorAdapter, Generic[ReplyT]):
    """A nanophoto kind's ``VideoProvider``, but for what the kind does differently.

    The family owns the request discipline (a generate is never repeated; a status check is, except
    A6's finished failure), the reply envelope and its errors (A5), a failed task as an answer (A6),
    the stage-word snapshot (A7) and the public ``videoUrl``. A kind names its API, reply model and
    log label, builds its generate body in ``submit``, and says how a task is asked for
    (``_status_body``) and what a status answer shows (``_failed``/``_polled``).
    """

    words = NANOPHOTO_WORDS
    _api: ClassVar[str]  # the kind's part of its paths: /api/<_api>/generate, /api/<_api>/check-status
    _reply_model: type[ReplyT]

    def __init__(self, profile: ProviderProfile, http: VendorHttp, capabilities: Capabilities) -> None:
        super().__init__(profile, http)
        self.capabilities = capabilities

    async def poll(self, task: RemoteTask, key: ApiKey) -> TaskSnapshot:
        path, body = f"/api/{self._api}/check-status", self._status_body(task)
        resp = await self._post_json(path, body, key, "check-status", submit=False, should_retry=retry_poll)
        reply = self._read(resp, "check-status", key, submit=False)
        if self._says_failed(reply):
            gone = self._error(reply, resp, key)
            if gone.model_unavailable:  # A11: not this task's failure but the profile's
                raise self._logged(gone, "check-status", key)
            return self._failed(reply, resp, task, key)
        if reply.is_error or resp.status >= 400:
            raise self._logged(self._error(reply, resp, key), "check-status", key)
        snapshot = self._polled(reply, resp, task, key)
        if snapshot is None:  # "completed" without a videoUrl: ask again rather than deliver nothing
            raise self._logged(
                malformed("completed answer has no videoUrl", resp.status), "check-status", key
            )
        return snapshot

    # ------------------------------------------------------------------ what a kind fills in

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
        resp = await self._post_json(
            f"/api/{self._api}/generate", body, key, "generate", submit=True, should_retry=retry_poll
        )
        reply = self._read(resp, "generate", key, submit=True)
        if reply.is_error or resp.status >= 400:
            raise self._logged(self._error(reply, resp, key), "generate", key)
        return reply, resp

    def _status_error(self, resp: HttpResponse, route: str, key: ApiKey) -> ProviderError:
        return nanophoto_error(None, scrub(resp.text[:200], key), resp.status)

    def _read(self, resp: HttpResponse, route: str, key: ApiKey, *, submit: bool) -> ReplyT:
        data = self._json_object(resp, route, key, submit=submit)
        try:
            return self._reply_model.model_validate(data)
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

    def _failure(self, reply: NanophotoReply, resp: HttpResponse, task_id: str, key: ApiKey) -> ProviderError:
        """A6: the task's own failure, as the error its FAILED snapshot carries (logged, not raised)."""
        words = scrub(reply.error or reply.message or "", key)
        err = nanophoto_error(reply.errorCode or "GENERATION_FAILED", words, resp.status)
        self.log.info(
            "%s %s: task %s failed (key %s): %s: %s",
            self.vendor,
            self.name,
            task_id,
            key.name,
            err.code,
            err.detail,
        )
        return err

    def _progress(
        self,
        reply: NanophotoReply,
        resp: HttpResponse,
        task_id: str,
        key: ApiKey,
        *,
        stage: str | None,
        **shown: Any,
    ) -> TaskSnapshot | None:
        """A processing or completed answer as a snapshot (``shown``: the kind's own fields);
        ``None`` for a completion without its video."""
        raw = self._raw(resp, key)
        state = self._state(reply.status or "", task_id)
        if state is TaskState.SUCCEEDED:
            if not reply.videoUrl:
                return None
            took = reply.generationTime  # the vendor's own clock, for the estimates
            return TaskSnapshot(state=state, video_url=reply.videoUrl, vendor_seconds=took, raw=raw, **shown)
        return TaskSnapshot(state=state, stage=stage, raw=raw, **shown)

    @staticmethod
    def _raw(resp: HttpResponse, key: ApiKey) -> dict[str, Any]:
        """The body kept for logs (``TaskSnapshot.raw``), with the key blanked should the vendor echo it."""
        data: dict[str, Any] = resp.data if isinstance(resp.data, dict) else {}
        secret = key.secret.get_secret_value()
        if not secret or secret not in resp.text:
            return data
        try:
            cleaned = json.loads(scrub(resp.text, key))
        except ValueError:
            return {}
        return cleaned if isinstance(cleaned, dict) else {}
