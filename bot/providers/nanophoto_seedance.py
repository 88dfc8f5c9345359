"""nanophoto.ai SeeDance 1.5 Pro video API, profile kind ``nanophoto_seedance``: text or one image.

https://nanophoto.ai/docs/api/seedance-1-5-pro; docs/vendors.md, "nanophoto SeeDance 1.5 Pro". Wire
protocol: ``POST /api/seedance-1-5-pro/generate``, then ``POST /api/seedance-1-5-pro/check-status``
until ``status`` is ``completed`` (``videoUrl``) or ``failed``. The envelope, errors, retry rule
and stage words are the nanophoto family's (``bot.providers.nanophoto_base``). Only the generate
body is published; the readings this kind follows:

- S1: ``aspectRatio`` is the word ``portrait`` or ``landscape``.
- S2: ``duration`` goes out as a JSON string, ``"4"``, ``"8"`` or ``"12"``.
- S3/S4: prices come from the vendor's table (API column), audio doubling them; no formula.
- S5: image-to-video sends exactly one image (no last frame).
- S7: ``mode``, ``aspectRatio``, ``resolution`` (720p unless chosen) and ``duration`` always go
  out, and so do ``generateAudio`` and ``fixedLens`` (``false`` unless chosen).
- S8: everything unpublished is Sora 2's shape: status by ``{"taskId"}``, the same words, bodies and
  codes. Should ``{"taskId"}`` be refused with a 400, ``{"taskIds": [id]}`` is tried once; the
  form that works is logged and kept for the profile's next polls.
- S9: configuring a ``nanophoto_seedance`` profile is the switch (upstream retired the model in
  autumn 2026); ``retired = ["seedance-1.5-pro"]`` keeps old jobs polling while members are no
  longer offered it.
- Timing (suggested cadence): first check at 45/60/90 s for a 4/8/12 s clip, then every 15 s,
  10 min timeout (``timing_for`` scales the profile's timing, which describes an 8 s clip).
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from bot.providers.base import (
    AnyRequest,
    ApiKey,
    ImageToVideo,
    Kind,
    Orientation,
    ProviderError,
    RemoteTask,
    TaskSnapshot,
    TaskState,
    TextToVideo,
    WireBody,
)
from bot.providers.capabilities import Capabilities, ModelSpec, PricePoint
from bot.providers.http import HttpResponse, VendorHttp
from bot.providers.nanophoto_base import NanophotoApi, NanophotoReply
from bot.providers.profiles import ProviderProfile, Timing, narrowed

log = logging.getLogger(__name__)

SEEDANCE_MODEL = "seedance-1.5-pro"
DURATIONS: tuple[int, ...] = (4, 8, 12)
RESOLUTIONS: tuple[str, ...] = ("480p", "720p", "1080p")
MAX_PROMPT = 1000
# Vendor credits per API call without audio, by resolution: 4 s, 8 s, 12 s (S3: 1080p/12 s is 22).
_SILENT = {"480p": (2, 4, 6), "720p": (4, 8, 12), "1080p": (8, 16, 22)}
SEEDANCE_PRICES: dict[PricePoint, int] = {
    PricePoint(SEEDANCE_MODEL, d, r, audio): credits * (2 if audio else 1)  # S4: audio doubles
    for r, row in _SILENT.items()
    for d, credits in zip(DURATIONS, row, strict=True)
    for audio in (False, True)
}
# The suggested cadence for an 8 s clip: the value to put in a real profile's ``timing``.
SEEDANCE_TIMING = Timing(expected=75.0, first_poll=60.0, poll_interval=15.0, timeout=600.0)
_FIRST_POLL_SCALE = {4: 0.75, 8: 1.0, 12: 1.5}  # 45, 60 and 90 s

StatusForm = Literal["taskId", "taskIds"]
_ASKS_FOR: dict[StatusForm, str] = {
    "taskId": "TASK_ID_REQUIRED",
    "taskIds": "TASK_IDS_REQUIRED",
}  # the 400 codes
_RESOLUTION: dict[str, Literal["480p", "720p", "1080p"]] = {"480p": "480p", "720p": "720p", "1080p": "1080p"}
_DURATION: dict[int, Literal["4", "8", "12"]] = {4: "4", 8: "8", 12: "12"}


class SeedanceBody(WireBody):
    """``POST /api/seedance-1-5-pro/generate`` — field names are the vendor's."""

    prompt: str
    mode: Literal["textToVideo", "imageToVideo"]
    imageUrls: list[str] | None = None
    aspectRatio: Literal["portrait", "landscape"]
    resolution: Literal["480p", "720p", "1080p"]
    duration: Literal["4", "8", "12"]
    generateAudio: bool
    fixedLens: bool


def seedance_capabilities(profile: ProviderProfile) -> Capabilities:
    """SeeDance's one model, its durations narrowed by a profile's ``durations`` when given."""
    narrowed(
        profile.name,
        "models",
        profile.models,
        (SEEDANCE_MODEL,),
        offer=f"nanophoto SeeDance offers only `{SEEDANCE_MODEL}`",
    )
    secs = narrowed(
        profile.name, "durations", profile.durations, DURATIONS, offer="SeeDance offers 4, 8 and 12 seconds"
    )
    spec = ModelSpec(
        name=SEEDANCE_MODEL,
        label="SeeDance 1.5 Pro",
        family="seedance",
        kinds=frozenset({Kind.TEXT, Kind.IMAGE}),
        durations=secs,
        resolutions=RESOLUTIONS,
        default_resolution="720p",
        switches=frozenset({"audio", "fixed_lens"}),
        max_prompt_chars=MAX_PROMPT,
        prices=SEEDANCE_PRICES,
    )
    return Capabilities(specs=(spec,), default_model=SEEDANCE_MODEL, image_by_url=True)  # public URLs only


class NanophotoSeedance(NanophotoApi[NanophotoReply]):
    """``VideoProvider`` for nanophoto's SeeDance 1.5 Pro API, bound to one profile and the shared client."""

    vendor = "nanophoto-seedance"
    _api = "seedance-1-5-pro"
    _reply_model = NanophotoReply

    def __init__(self, profile: ProviderProfile, http: VendorHttp) -> None:
        super().__init__(profile, http, seedance_capabilities(profile))
        self.status_form: StatusForm = "taskId"  # S8: until a 400 says otherwise
        self._form_known = False  # a status check has worked in ``status_form``

    def timing_for(self, req: AnyRequest) -> Timing:
        base = self.profile.timing if "timing" in self.profile.model_fields_set else SEEDANCE_TIMING
        scale = _FIRST_POLL_SCALE.get(req.duration, req.duration / 8)
        return base.model_copy(
            update={"first_poll": base.first_poll * scale, "expected": base.expected * scale}
        )

    def build_generate_body(self, req: TextToVideo | ImageToVideo) -> SeedanceBody:
        image = isinstance(req, ImageToVideo)
        return SeedanceBody(
            prompt=req.prompt,
            mode="imageToVideo" if image else "textToVideo",
            imageUrls=[req.image_url] if isinstance(req, ImageToVideo) else None,  # S5
            aspectRatio="landscape" if req.orientation is Orientation.LANDSCAPE else "portrait",  # S1
            resolution=_RESOLUTION.get(req.resolution or "", "720p"),  # S7
            duration=_DURATION[req.duration],  # S2
            generateAudio=bool(req.options.audio),
            fixedLens=bool(req.options.fixed_lens),
        )

    async def submit(self, req: AnyRequest, key: ApiKey) -> RemoteTask:
        self.capabilities.validate_request(req)
        assert isinstance(req, TextToVideo | ImageToVideo)  # validate_request allows only these kinds
        body = self.build_generate_body(req)
        reply, resp = await self._generate(body.wire(), key)
        remote_id = self._remote_id(reply.taskId, resp, "generate", key, field="taskId")
        snapshot = self._progress(reply, resp, remote_id, key, stage=reply.progress) if reply.status else None
        log.info(
            "nanophoto-seedance %s: submitted %s (%s, %s s, %s%s%s) with key %s -> task %s",
            self.name,
            body.mode,
            body.resolution,
            body.duration,
            body.aspectRatio,
            ", audio" if body.generateAudio else "",
            ", fixed lens" if body.fixedLens else "",
            key.name,
            remote_id,
        )
        return RemoteTask(remote_id=remote_id, snapshot=snapshot)

    async def poll(self, task: RemoteTask, key: ApiKey) -> TaskSnapshot:
        """S8: until one form has worked, a 400 asking for the other form (or saying nothing) gets one
        try with it; the form that works is logged and kept."""
        try:
            snap = await super().poll(task, key)
        except ProviderError as exc:
            other: StatusForm = "taskIds" if self.status_form == "taskId" else "taskId"
            wants_other = exc.code in (_ASKS_FOR[other], "HTTP_400")
            if self._form_known or exc.http_status != 400 or not wants_other:
                raise
            tried, self.status_form = self.status_form, other
            try:
                snap = await super().poll(task, key)
            except ProviderError:
                self.status_form = tried
                raise
            log.warning("nanophoto-seedance %s: check-status takes {%s}, not {%s}", self.name, other, tried)
        self._form_known = True
        return snap

    def _status_body(self, task: RemoteTask) -> dict[str, Any]:
        if self.status_form == "taskIds":
            return {"taskIds": [task.remote_id]}
        return {"taskId": task.remote_id}

    def _failed(
        self, reply: NanophotoReply, resp: HttpResponse, task: RemoteTask, key: ApiKey
    ) -> TaskSnapshot:
        err = self._failure(reply, resp, task.remote_id, key)
        return TaskSnapshot(state=TaskState.FAILED, error=err.task_error(), raw=self._raw(resp, key))

    def _polled(
        self, reply: NanophotoReply, resp: HttpResponse, task: RemoteTask, key: ApiKey
    ) -> TaskSnapshot | None:
        return self._progress(reply, resp, task.remote_id, key, stage=reply.progress)
