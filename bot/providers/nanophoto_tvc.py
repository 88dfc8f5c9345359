"""nanophoto.ai Sora 2 TVC ad API (PROVIDERS.md §1.4-1.7): an ad video from a theme, in three steps.

Wire protocol: ``POST /api/sora-2-tvc/generate`` starts a pipeline — (1) a nine-scene storyboard
script, (2) a 3×3 storyboard image, (3) the Sora 2 video — and ``POST /api/sora-2-tvc/check-status``
reports it with ``currentStep``/``stepName`` until ``status`` is ``completed`` (``videoUrl``) or
``failed``. Errors, the reply envelope, the retry rule and the error table are the plain Sora 2
adapter's (``bot.providers.nanophoto``); this module adds only what TVC does differently. The
readings we rely on, from the "ambiguities" list:

- A1: the generate response is only required to carry ``success`` and ``recordId``; ``taskId``,
  ``storyboardPrompt`` and ``storyboardImageUrl`` may be there, missing or null. When the storyboard
  fields do come early they are shown at once (``RemoteTask.snapshot``) and kept in
  ``RemoteTask.extra``, so a later step-1 status body that lacks them does not blank them out.
- A2: status checks always go by ``recordId``; ``taskId`` is only kept (in ``extra``) for the logs.
- A3: ``referenceImageUrl`` is sent only when there is a reference image, and only as a public
  http(s) URL — never Base64 (the vendor answers ``REFERENCE_IMAGE_URL_REQUIRED``).
- A4: 8 credits for 10 s and for 15 s alike.
- A5: an error is any body with ``errorCode``, or ``success: false``, or HTTP >= 400.
- A6: ``status: failed`` is a terminal answer (a FAILED snapshot) whatever the HTTP status.
- A7: no percentage exists; ``videoTaskProgress`` (step 3) is a stage word, the step is ``n/3``.
- A8: ``videoDuration`` is always sent, as the string ``"10"`` or ``"15"``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Literal

from pydantic import field_validator

from bot.errors import InvalidRequest
from bot.i18n import msg
from bot.providers.base import (
    AnyRequest,
    ApiKey,
    Capabilities,
    Kind,
    Orientation,
    RemoteTask,
    TaskSnapshot,
    TaskState,
    TvcRequest,
    WireBody,
    scrub,
)
from bot.providers.faults import malformed
from bot.providers.http import HttpResponse, VendorHttp
from bot.providers.nanophoto import (
    QUEUED_WORDS,
    RUNNING_WORDS,
    NanophotoApi,
    NanophotoReply,
    nanophoto_error,
)
from bot.providers.profiles import ProviderProfile, narrowed

log = logging.getLogger(__name__)

GENERATE_PATH = "/api/sora-2-tvc/generate"
STATUS_PATH = "/api/sora-2-tvc/check-status"

# TVC has no tiers; one model name keeps pricing ("model:duration") and the `tier` option uniform.
TVC_MODEL = "tvc"
TVC_MODELS: tuple[str, ...] = (TVC_MODEL,)
TVC_DURATIONS: tuple[int, ...] = (10, 15)
# Vendor credits per ad (A4) — "last seen", not a contract; a profile's ``prices`` overrides them.
TVC_PRICES: dict[tuple[str, int], int] = {(TVC_MODEL, 10): 8, (TVC_MODEL, 15): 8}

TVC_STEP_COUNT = 3
# The vendor's own step names (§1.5), used when a body gives a step number without its name.
TVC_STEP_NAMES: dict[int, str] = {
    1: "Generating Storyboard Prompt",
    2: "Generating Storyboard",
    3: "Generating Ad Video",
}

# Keys of ``RemoteTask.extra`` (vendor field names, so the stored JSON reads like the vendor's).
EXTRA_TASK_ID = "taskId"
EXTRA_STORYBOARD_PROMPT = "storyboardPrompt"
EXTRA_STORYBOARD_IMAGE = "storyboardImageUrl"


# --------------------------------------------------------------------------- wire models


class TvcGenerateBody(WireBody):
    """``POST /api/sora-2-tvc/generate`` — field names are the vendor's; ``None`` is left out."""

    adTheme: str
    referenceImageUrl: str | None = None
    voiceoverScript: str | None = None
    videoDuration: Literal["10", "15"]
    aspectRatio: Literal["portrait", "landscape"]


class TvcStatusBody(WireBody):
    """``POST /api/sora-2-tvc/check-status`` — always by ``recordId`` (A2)."""

    recordId: str


class TvcReply(NanophotoReply):
    """Any TVC response body: the nanophoto envelope plus the pipeline's fields, all optional (A1)."""

    recordId: str | None = None
    currentStep: int | None = None
    stepName: str | None = None
    storyboardPrompt: str | None = None
    storyboardImageUrl: str | None = None
    videoTaskProgress: str | None = None

    @field_validator(
        "recordId", "stepName", "storyboardPrompt", "storyboardImageUrl", "videoTaskProgress", mode="before"
    )
    @classmethod
    def _tvc_text(cls, value: Any) -> Any:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        if isinstance(value, str) and not value.strip():
            return None  # an empty storyboard is no storyboard
        return value

    @field_validator("currentStep", mode="before")
    @classmethod
    def _step_number(cls, value: Any) -> Any:
        """A step that is not a whole number is unknown, not a reason to drop the whole answer."""
        if isinstance(value, bool):
            return None
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and value.strip().isdigit():
            return int(value)
        return None


# --------------------------------------------------------------------------- capabilities


class TvcCapabilities(Capabilities):
    """``Capabilities`` plus the TVC-only fields, so they are refused before anything is charged."""

    def validate_request(self, req: AnyRequest) -> None:
        super().validate_request(req)
        if not isinstance(req, TvcRequest):
            return
        ref = req.reference_image_url
        if ref is not None and not _is_public_url(ref):
            shown = ref if len(ref) <= 40 else ref[:37] + "..."
            raise InvalidRequest(
                "reference_image", "invalid.not_public_link", msg("allowed.public_image_url"), value=shown
            )
        if req.voiceover is not None and len(req.voiceover) > self.max_prompt_chars:
            raise InvalidRequest(
                "voiceover",
                "invalid.chars_long",
                msg("allowed.at_most_chars", max=self.max_prompt_chars),
                length=len(req.voiceover),
            )


def _is_public_url(url: str) -> bool:
    return url.startswith(("http://", "https://")) and len(url) > len("https://")


def tvc_capabilities(
    models: tuple[str, ...] | None = None, durations: tuple[int, ...] | None = None, *, profile: str = "?"
) -> TvcCapabilities:
    """The TVC offer, narrowed by a profile's ``models``/``durations`` when given."""
    narrowed(profile, "models", models, TVC_MODELS, offer=f"nanophoto TVC offers only `{TVC_MODEL}`")
    secs = narrowed(
        profile, "durations", durations, TVC_DURATIONS, offer="nanophoto TVC offers 10 and 15 seconds"
    )
    return TvcCapabilities(
        kinds=frozenset({Kind.TVC}),
        models=TVC_MODELS,
        default_model=TVC_MODEL,
        durations=secs,
        orientations=(Orientation.PORTRAIT, Orientation.LANDSCAPE),
    )


# --------------------------------------------------------------------------- adapter


class NanophotoTvc(NanophotoApi[TvcReply]):
    """``VideoProvider`` for nanophoto's Sora 2 TVC ad API, bound to one profile and the shared client."""

    default_prices: Mapping[tuple[str, int], int] = MappingProxyType(TVC_PRICES)

    _vendor = "nanophoto-tvc"
    _log = log
    _generate_path = GENERATE_PATH
    _status_path = STATUS_PATH
    _reply_model = TvcReply

    capabilities: TvcCapabilities

    def __init__(self, profile: ProviderProfile, http: VendorHttp) -> None:
        super().__init__(
            profile, http, tvc_capabilities(profile.models, profile.durations, profile=profile.name)
        )

    def build_generate_body(self, req: TvcRequest) -> TvcGenerateBody:
        voiceover = req.voiceover if req.voiceover and req.voiceover.strip() else None
        return TvcGenerateBody(
            adTheme=req.ad_theme,
            referenceImageUrl=req.reference_image_url or None,
            voiceoverScript=voiceover,
            videoDuration="15" if req.duration == 15 else "10",
            aspectRatio="landscape" if req.orientation is Orientation.LANDSCAPE else "portrait",
        )

    async def submit(self, req: AnyRequest, key: ApiKey) -> RemoteTask:
        self.capabilities.validate_request(req)
        assert isinstance(req, TvcRequest)  # validate_request allows only this kind
        body = self.build_generate_body(req)
        reply, resp = await self._generate(body.wire(), key)
        missing = [
            name for name, ok in (("success", reply.success is True), ("recordId", reply.recordId)) if not ok
        ]
        if missing or reply.recordId is None:
            # Something may have been started and billed; repeating blindly could double it.
            seen = f" (taskId {reply.taskId})" if reply.taskId else ""
            raise self._logged(
                malformed(
                    f"generate answer has no {' or '.join(missing)}{seen}", resp.status, retryable=False
                ),
                "generate",
                key,
            )
        extra: dict[str, str] = {}
        if reply.taskId:
            extra[EXTRA_TASK_ID] = reply.taskId
        if reply.storyboardPrompt:
            extra[EXTRA_STORYBOARD_PROMPT] = reply.storyboardPrompt
        if reply.storyboardImageUrl:
            extra[EXTRA_STORYBOARD_IMAGE] = reply.storyboardImageUrl
        snapshot = self._snapshot(reply, resp, key, extra, default_step=1)
        log.info(
            "nanophoto-tvc %s: submitted ad (%s s, %s%s%s) with key %s -> record %s (task %s)",
            self.name,
            body.videoDuration,
            body.aspectRatio,
            ", reference image" if body.referenceImageUrl else "",
            ", voice-over" if body.voiceoverScript else "",
            key.name,
            reply.recordId,
            reply.taskId or "-",
        )
        return RemoteTask(remote_id=reply.recordId, extra=extra, snapshot=snapshot)

    # ------------------------------------------------------------------ vendor specifics

    def _status_body(self, task: RemoteTask) -> dict[str, Any]:
        return TvcStatusBody(recordId=task.remote_id).wire()

    def _failed(self, reply: TvcReply, resp: HttpResponse, task: RemoteTask, key: ApiKey) -> TaskSnapshot:
        err = nanophoto_error(
            reply.errorCode or "GENERATION_FAILED",
            scrub(reply.error or reply.message or "", key),
            resp.status,
        )
        log.info(
            "nanophoto-tvc %s: record %s failed (key %s, step %s): %s: %s",
            self.name,
            task.remote_id,
            key.name,
            reply.currentStep if reply.currentStep is not None else "?",
            err.code,
            err.detail,
        )
        step = reply.currentStep if reply.currentStep is not None and reply.currentStep >= 1 else None
        return TaskSnapshot(
            state=TaskState.FAILED,
            step=step,
            step_count=max(TVC_STEP_COUNT, step or 0) if step is not None else None,
            step_name=reply.stepName,
            storyboard_prompt=reply.storyboardPrompt or task.extra.get(EXTRA_STORYBOARD_PROMPT),
            storyboard_image_url=reply.storyboardImageUrl or task.extra.get(EXTRA_STORYBOARD_IMAGE),
            error=err.task_error(),
            raw=_raw(resp, key),
        )

    def _polled(
        self, reply: TvcReply, resp: HttpResponse, task: RemoteTask, key: ApiKey
    ) -> TaskSnapshot | None:
        return self._snapshot(reply, resp, key, task.extra, default_step=None)

    def _snapshot(
        self,
        reply: TvcReply,
        resp: HttpResponse,
        key: ApiKey,
        carried: Mapping[str, str],
        *,
        default_step: int | None,
    ) -> TaskSnapshot | None:
        """Normalize a processing/completed body; ``None`` for a completion without its video.

        ``carried`` holds storyboard fields an earlier answer already gave (A1); the vendor's own
        fields win when present.
        """
        raw = _raw(resp, key)
        status = (reply.status or "").lower()
        done = status == "completed"
        step = reply.currentStep if reply.currentStep is not None and reply.currentStep >= 1 else None
        if step is None:
            step = TVC_STEP_COUNT if done else default_step
        name = reply.stepName or ("Completed" if done else TVC_STEP_NAMES.get(step or 0))
        common: dict[str, Any] = {
            "step": step,
            "step_count": max(TVC_STEP_COUNT, step or 0),
            "step_name": name,
            "storyboard_prompt": reply.storyboardPrompt or carried.get(EXTRA_STORYBOARD_PROMPT),
            "storyboard_image_url": reply.storyboardImageUrl or carried.get(EXTRA_STORYBOARD_IMAGE),
            "raw": raw,
        }
        if done:
            if not reply.videoUrl:
                return None
            return TaskSnapshot(state=TaskState.SUCCEEDED, video_url=reply.videoUrl, **common)
        stage = reply.videoTaskProgress
        if status in QUEUED_WORDS:
            return TaskSnapshot(state=TaskState.QUEUED, stage=stage, **common)
        if status not in RUNNING_WORDS:
            log.warning("nanophoto-tvc %s: unknown status %r, treated as running", self.name, reply.status)
        return TaskSnapshot(state=TaskState.RUNNING, stage=stage, **common)


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
