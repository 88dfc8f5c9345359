"""nanophoto.ai Sora 2 video API, profile kind ``nanophoto``: text-to-video and image-to-video.

https://nanophoto.ai/fr/docs/api/sora-2; docs/vendors.md, "nanophoto Sora 2". Wire protocol:
``POST /api/sora-2/generate`` then ``POST /api/sora-2/check-status`` with ``{"taskId"}`` until
``status`` is ``completed`` (``videoUrl``) or ``failed``. The envelope, errors, retry rule and
stage words are the nanophoto family's (``bot.providers.nanophoto_base``); the readings this kind
adds:

- A8: ``videoDuration`` is always sent, as the string ``"10"`` or ``"15"``.
- A10: image-to-video sends exactly one public image URL (the vendor downloads it).
- A6: only the exact word ``failed`` ends a task; the failed body may come as HTTP 500.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from bot.providers.base import (
    AnyRequest,
    ApiKey,
    ImageToVideo,
    Kind,
    RemoteTask,
    TaskSnapshot,
    TaskState,
    TextToVideo,
    WireBody,
)
from bot.providers.capabilities import Capabilities, uniform
from bot.providers.http import HttpResponse, VendorHttp
from bot.providers.nanophoto_base import NANOPHOTO_ERRORS, NanophotoApi, NanophotoReply, nanophoto_error
from bot.providers.profiles import ProviderProfile, narrowed

__all__ = [
    "NANOPHOTO_ERRORS",
    "NANOPHOTO_PRICES",
    "NanophotoSora",
    "nanophoto_capabilities",
    "nanophoto_error",
]

log = logging.getLogger(__name__)

Tier = Literal["sora2", "sora2-pro-standard", "sora2-pro-high"]
NANOPHOTO_TIERS: tuple[str, ...] = ("sora2", "sora2-pro-standard", "sora2-pro-high")
NANOPHOTO_DEFAULT_TIER = "sora2"
NANOPHOTO_DURATIONS: tuple[int, ...] = (10, 15)
NANOPHOTO_LABELS = {
    "sora2": "Sora 2",
    "sora2-pro-standard": "Sora 2 Pro",
    "sora2-pro-high": "Sora 2 Pro High",
}

# Vendor credits per video, by (modelTier, seconds) (docs/vendors.md, "nanophoto Sora 2"). "Last seen",
# not a contract: a profile's ``prices`` ("tier:seconds" -> credits) overrides an entry.
NANOPHOTO_PRICES: dict[tuple[str, int], int] = {
    ("sora2", 10): 4,
    ("sora2", 15): 8,
    ("sora2-pro-standard", 10): 60,
    ("sora2-pro-standard", 15): 100,
    ("sora2-pro-high", 10): 120,
    ("sora2-pro-high", 15): 240,
}


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
    specs = uniform(
        tiers,
        labels=NANOPHOTO_LABELS,
        family="sora",
        prices=NANOPHOTO_PRICES,
        kinds=frozenset({Kind.TEXT, Kind.IMAGE}),
        durations=secs,
    )
    return Capabilities(
        specs=specs,
        default_model=NANOPHOTO_DEFAULT_TIER if NANOPHOTO_DEFAULT_TIER in tiers else tiers[0],
        image_by_url=True,  # A10
    )


class NanophotoSora(NanophotoApi[NanophotoReply]):
    """``VideoProvider`` for nanophoto's Sora 2 API, bound to one profile and the shared HTTP client."""

    vendor = "nanophoto"
    _api = "sora-2"
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
        remote_id = self._remote_id(reply.taskId, resp, "generate", key, field="taskId")
        snapshot = self._progress(reply, resp, remote_id, key, stage=reply.progress)
        log.info(
            "nanophoto %s: submitted %s (%s, %s s) with key %s -> task %s",
            self.name,
            body.mode,
            body.modelTier,
            body.videoDuration,
            key.name,
            remote_id,
        )
        return RemoteTask(remote_id=remote_id, snapshot=snapshot)

    def _status_body(self, task: RemoteTask) -> dict[str, Any]:
        return StatusBody(taskId=task.remote_id).wire()

    def _says_failed(self, reply: NanophotoReply) -> bool:
        return reply.status == "failed"  # the exact word; TVC also takes other cases

    def _failed(
        self, reply: NanophotoReply, resp: HttpResponse, task: RemoteTask, key: ApiKey
    ) -> TaskSnapshot:
        err = self._failure(reply, resp, task.remote_id, key)
        return TaskSnapshot(state=TaskState.FAILED, error=err.task_error(), raw=self._raw(resp, key))

    def _polled(
        self, reply: NanophotoReply, resp: HttpResponse, task: RemoteTask, key: ApiKey
    ) -> TaskSnapshot | None:
        return self._progress(reply, resp, task.remote_id, key, stage=reply.progress)
