"""nanophoto.ai Sora 2 TVC ad API, profile kind ``nanophoto_tvc``: an ad video from a theme, in three steps.

https://nanophoto.ai/pt/docs/api/sora-2-tvc-ad; docs/vendors.md, "nanophoto TVC". Wire protocol:
``POST /api/sora-2-tvc/generate`` starts a pipeline — (1) a nine-scene storyboard script, (2) a 3×3
storyboard image, (3) the Sora 2 video — and ``POST /api/sora-2-tvc/check-status`` reports it with
``currentStep``/``stepName`` until ``status`` is ``completed`` (``videoUrl``) or ``failed``. The
envelope, errors (A5), failed answers (A6), retry rule and stage words are the nanophoto family's
(``bot.providers.nanophoto_base``); this module adds only what TVC does differently:

- A1: the generate response is only required to carry ``success`` and ``recordId``; ``taskId``,
  ``storyboardPrompt`` and ``storyboardImageUrl`` may be there, missing or null. When the storyboard
  fields do come early they are shown at once (``RemoteTask.snapshot``) and kept in
  ``RemoteTask.extra``, so a later step-1 status body that lacks them does not blank them out.
- A2: status checks always go by ``recordId``; ``taskId`` is only kept (in ``extra``) for the logs.
- A3: ``referenceImageUrl`` is sent only when there is a reference image, and only as a public
  http(s) URL — never Base64 (the vendor answers ``REFERENCE_IMAGE_URL_REQUIRED``).
- A4: 8 credits for 10 s and for 15 s alike.
- A7: no percentage exists; ``videoTaskProgress`` (step 3) is a stage word, the step is ``n/3``.
- A8: ``videoDuration`` is always sent, as the string ``"10"`` or ``"15"``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import field_validator

from bot.errors import InvalidRequest
from bot.i18n import msg
from bot.providers.base import (
    AnyRequest,
    ApiKey,
    Kind,
    Orientation,
    RemoteTask,
    TaskSnapshot,
    TaskState,
    TvcRequest,
    WireBody,
)
from bot.providers.capabilities import Capabilities, uniform
from bot.providers.http import HttpResponse, VendorHttp
from bot.providers.nanophoto_base import NanophotoApi, NanophotoReply
from bot.providers.profiles import ProviderProfile, narrowed

log = logging.getLogger(__name__)

# TVC has no tiers; one model name keeps pricing ("model:duration") and the `tier` option uniform.
TVC_MODEL = "tvc"
TVC_MODELS: tuple[str, ...] = (TVC_MODEL,)
TVC_DURATIONS: tuple[int, ...] = (10, 15)
# Vendor credits per ad (A4) — "last seen", not a contract; a profile's ``prices`` overrides them.
TVC_PRICES: dict[tuple[str, int], int] = {(TVC_MODEL, 10): 8, (TVC_MODEL, 15): 8}

TVC_STEP_COUNT = 3
# The vendor's own step names (docs/vendors.md, "nanophoto TVC"), for a body that gives a step number
# without its name.
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
        limit = self.spec(TVC_MODEL).max_prompt_chars
        if req.voiceover is not None and len(req.voiceover) > limit:
            raise InvalidRequest(
                "voiceover",
                "invalid.chars_long",
                msg("allowed.at_most_chars", max=limit),
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
    specs = uniform(
        TVC_MODELS,
        labels={TVC_MODEL: "Sora 2 TVC"},
        family="sora",
        prices=TVC_PRICES,
        kinds=frozenset({Kind.TVC}),
        durations=secs,
    )
    return TvcCapabilities(
        specs=specs,
        default_model=TVC_MODEL,
        image_by_url=True,  # A3: a reference image goes as its public URL
    )


# --------------------------------------------------------------------------- adapter


class NanophotoTvc(NanophotoApi[TvcReply]):
    """``VideoProvider`` for nanophoto's Sora 2 TVC ad API, bound to one profile and the shared client."""

    vendor = "nanophoto-tvc"
    _api = "sora-2-tvc"
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
            seen = f" (taskId {reply.taskId})" if reply.taskId else ""
            raise self._not_created(f"{' or '.join(missing)}{seen}", resp, "generate", key)
        extra: dict[str, str] = {}
        if reply.taskId:
            extra[EXTRA_TASK_ID] = reply.taskId
        if reply.storyboardPrompt:
            extra[EXTRA_STORYBOARD_PROMPT] = reply.storyboardPrompt
        if reply.storyboardImageUrl:
            extra[EXTRA_STORYBOARD_IMAGE] = reply.storyboardImageUrl
        snapshot = self._snapshot(reply, resp, reply.recordId, key, extra, default_step=1)
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
        err = self._failure(reply, resp, task.remote_id, key)
        step = _step(reply)
        return TaskSnapshot(
            state=TaskState.FAILED,
            step=step,
            step_count=max(TVC_STEP_COUNT, step) if step is not None else None,
            step_name=reply.stepName,
            storyboard_prompt=reply.storyboardPrompt or task.extra.get(EXTRA_STORYBOARD_PROMPT),
            storyboard_image_url=reply.storyboardImageUrl or task.extra.get(EXTRA_STORYBOARD_IMAGE),
            error=err.task_error(),
            raw=self._raw(resp, key),
        )

    def _polled(
        self, reply: TvcReply, resp: HttpResponse, task: RemoteTask, key: ApiKey
    ) -> TaskSnapshot | None:
        return self._snapshot(reply, resp, task.remote_id, key, task.extra, default_step=None)

    def _snapshot(
        self,
        reply: TvcReply,
        resp: HttpResponse,
        record_id: str,
        key: ApiKey,
        carried: Mapping[str, str],
        *,
        default_step: int | None,
    ) -> TaskSnapshot | None:
        """Normalize a processing/completed body; ``None`` for a completion without its video.

        ``carried`` holds storyboard fields an earlier answer already gave (A1); the vendor's own
        fields win when present.
        """
        done = self.words.state(reply.status or "") is TaskState.SUCCEEDED
        step = _step(reply)
        if step is None:
            step = TVC_STEP_COUNT if done else default_step
        return self._progress(
            reply,
            resp,
            record_id,
            key,
            stage=reply.videoTaskProgress,
            step=step,
            step_count=max(TVC_STEP_COUNT, step or 0),
            step_name=reply.stepName or ("Completed" if done else TVC_STEP_NAMES.get(step or 0)),
            storyboard_prompt=reply.storyboardPrompt or carried.get(EXTRA_STORYBOARD_PROMPT),
            storyboard_image_url=reply.storyboardImageUrl or carried.get(EXTRA_STORYBOARD_IMAGE),
        )


def _step(reply: TvcReply) -> int | None:
    """The pipeline step the answer names, if it names a real one (from 1)."""
    return reply.currentStep if reply.currentStep is not None and reply.currentStep >= 1 else None
