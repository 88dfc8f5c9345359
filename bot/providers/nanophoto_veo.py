"""nanophoto.ai Veo 3.1 video API, profile kind ``nanophoto_veo``: 8-second shots, one to twenty-one.

https://nanophoto.ai/docs/api/veo-3 and nanophoto's Veo agent skill; docs/vendors.md, "nanophoto
Veo 3.1". Wire protocol: ``POST /api/veo-3/generate`` with ``shots`` (one upstream task per shot),
then ``POST /api/veo-3/check-status`` with every ``{shotId, taskId}`` pair until the top-level
``status`` is ``completed`` or ``failed``. The envelope, errors, retry rule and stage words are the
nanophoto family's (``bot.providers.nanophoto_base``); what the model offers, its prices and the
prompt rule (V7, V8) are in ``nanophoto_veo_capabilities``. The readings this module follows:

- V1/V2: the cadence and the timeout grow with the shot count (``timing_for``).
- V3/V4: the status body is the ``taskIds`` pairs and the job's ``resolution``; both are kept in
  ``RemoteTask.extra`` (JSON text), so a restarted bot polls the same way.
- V5/V6/V7: explicit ids ``shot-1`` … ``shot-N``; one aspect ratio for every shot; lowercase ``4k``.
- V8: a storyboard's overall ``prompt`` (Veo has no such field) goes before every shot's scene.
- V10: a top-level ``videoUrl`` is the joined video, and wins; else the per-shot ``videoUrl``
  values, found anywhere in the body, in request order. One shot's own video is the job's video.
  Several shots without a joined video are the job's video in parts (``TaskSnapshot.video_parts``,
  in shot order), never one shot passed off as the whole: delivery joins them, or posts every shot's
  link in order when it cannot. A completion that lacks some shot's link is asked again.
- Progress: multi-shot jobs show step *k*/*N*, *k* being the shot under way (shots finished + 1).
"""

from __future__ import annotations

import json
import logging
from typing import Any, Literal

from bot.providers.base import (
    AnyRequest,
    ApiKey,
    ImageToVideo,
    Orientation,
    ProviderError,
    ReferenceToVideo,
    RemoteTask,
    StoryboardRequest,
    TaskSnapshot,
    TaskState,
    TextToVideo,
    WireBody,
    scrub,
)
from bot.providers.http import HttpResponse, VendorHttp
from bot.providers.nanophoto_base import NanophotoApi, NanophotoReply, nanophoto_error
from bot.providers.nanophoto_veo_capabilities import (
    VeoCapabilities,
    shot_count,
    shot_prompts,
    veo_capabilities,
)
from bot.providers.profiles import ProviderProfile, Timing

log = logging.getLogger(__name__)

# V1/V2 for one shot: the value to put in a real profile's ``timing``; ``timing_for`` scales it.
VEO_TIMING = Timing(expected=210.0, first_poll=90.0, poll_interval=20.0, timeout=960.0, backoff_max=120.0)

EXTRA_PAIRS = "taskIds"  # RemoteTask.extra: the {shotId, taskId} pairs, as JSON text (V3)
EXTRA_RESOLUTION = "resolution"  # ... and the resolution generate was sent (V4)

GenerationType = Literal["TEXT_2_VIDEO", "FIRST_AND_LAST_FRAMES_2_VIDEO", "REFERENCE_2_VIDEO"]
Resolution = Literal["720p", "1080p", "4k"]
_RESOLUTION: dict[str, Resolution] = {"720p": "720p", "1080p": "1080p", "4k": "4k"}


class VeoShot(WireBody):
    id: str
    prompt: str
    generationType: GenerationType
    aspectRatio: Literal["16:9", "9:16"]
    imageUrls: list[str] | None = None


class VeoGenerateBody(WireBody):
    """``POST /api/veo-3/generate`` — field names are the vendor's."""

    shots: list[VeoShot]
    resolution: Resolution


class TaskPair(WireBody):
    shotId: str
    taskId: str


class VeoStatusBody(WireBody):
    """``POST /api/veo-3/check-status`` (V3, V4)."""

    taskIds: list[TaskPair]
    resolution: Resolution


class NanophotoVeo(NanophotoApi[NanophotoReply]):
    """``VideoProvider`` for nanophoto's Veo 3.1 API, bound to one profile and the shared HTTP client."""

    vendor = "nanophoto-veo"
    _api = "veo-3"
    _reply_model = NanophotoReply

    capabilities: VeoCapabilities

    def __init__(self, profile: ProviderProfile, http: VendorHttp) -> None:
        super().__init__(profile, http, veo_capabilities(profile))

    def timing_for(self, req: AnyRequest) -> Timing:
        """V1/V2, as ratios to one shot of the profile's ``timing``: first check after
        min(120 s, 90 s × shots), then every 20/60/120 s, timeout 10 + 6 × shots min (140 at most)."""
        base = self.profile.timing if "timing" in self.profile.model_fields_set else VEO_TIMING
        n = shot_count(req)
        every = 1.0 if n <= 2 else 3.0 if n <= 8 else 6.0
        return base.model_copy(
            update={
                "expected": base.expected * n,  # shots run one after another
                "first_poll": base.first_poll * min(120.0, 90.0 * n) / 90.0,
                "poll_interval": base.poll_interval * every,
                "timeout": base.timeout * min(10.0 + 6.0 * n, 140.0) / 16.0,
                "backoff_max": max(base.backoff_max, base.poll_interval * every),
            }
        )

    def build_generate_body(self, req: AnyRequest) -> VeoGenerateBody:
        ratio: Literal["16:9", "9:16"] = "16:9" if req.orientation is Orientation.LANDSCAPE else "9:16"  # V6
        resolution = _RESOLUTION.get(req.resolution or "", "720p")

        def shot(n: int, prompt: str, kind: GenerationType, images: list[str] | None = None) -> VeoShot:
            return VeoShot(
                id=f"shot-{n}", prompt=prompt, generationType=kind, aspectRatio=ratio, imageUrls=images
            )

        if isinstance(req, StoryboardRequest):
            shots = [shot(n, p, "TEXT_2_VIDEO") for n, p in enumerate(shot_prompts(req), start=1)]
        elif isinstance(req, ImageToVideo):
            frames = [req.image_url] + ([req.end_image_url] if req.end_image_url else [])
            shots = [shot(1, req.prompt, "FIRST_AND_LAST_FRAMES_2_VIDEO", frames)]
        elif isinstance(req, ReferenceToVideo):
            shots = [shot(1, req.prompt, "REFERENCE_2_VIDEO", list(req.image_urls))]
        else:
            assert isinstance(req, TextToVideo)  # validate_request allows only these kinds
            shots = [shot(1, req.prompt, "TEXT_2_VIDEO")]
        return VeoGenerateBody.model_validate({"shots": shots, "resolution": resolution})

    async def submit(self, req: AnyRequest, key: ApiKey) -> RemoteTask:
        self.capabilities.validate_request(req)
        body = self.build_generate_body(req)
        reply, resp = await self._generate(body.wire(), key)
        if (reply.status or "").lower() == "failed":  # the job did not start
            words = scrub(reply.error or reply.message or "", key)
            err = nanophoto_error(reply.errorCode or "GENERATION_FAILED", words, resp.status)
            raise self._logged(err, "generate", key)
        pairs = self._pairs(resp, [s.id for s in body.shots], key)
        task = RemoteTask(
            remote_id=pairs[0].taskId,
            extra={
                EXTRA_PAIRS: json.dumps([p.wire() for p in pairs]),
                EXTRA_RESOLUTION: body.resolution,
            },
        )
        log.info(
            "nanophoto-veo %s: submitted %d shot(s) (%s, %s, %s) with key %s -> tasks %s",
            self.name,
            len(body.shots),
            body.shots[0].generationType,
            body.resolution,
            body.shots[0].aspectRatio,
            key.name,
            ", ".join(p.taskId for p in pairs),
        )
        try:
            snapshot = self._polled(reply, resp, task, key) if reply.status else None
        except ProviderError:  # done but without its video: the task exists, so polls will tell
            snapshot = None
        return task.model_copy(update={"snapshot": snapshot})

    def _pairs(self, resp: HttpResponse, ids: list[str], key: ApiKey) -> list[TaskPair]:
        """The answer's ``shots[].{shotId, taskId}``, in request order; every shot must have one."""
        data = resp.data if isinstance(resp.data, dict) else {}
        items = data.get("shots")
        found: dict[str, str] = {}
        for item in items if isinstance(items, list) else []:
            sid, tid = (item.get(k) if isinstance(item, dict) else None for k in ("shotId", "taskId"))
            if not _is_id(sid) or not _is_id(tid):
                raise self._not_created("shotId or taskId in shots[]", resp, "generate", key)
            found[str(sid)] = str(tid)
        if not found or set(ids) - set(found):
            raise self._not_created(f"a taskId for each of {', '.join(ids)}", resp, "generate", key)
        order = ids + [s for s in found if s not in ids]
        return [TaskPair(shotId=s, taskId=found[s]) for s in order]

    # ------------------------------------------------------------------ status

    def _stored(self, task: RemoteTask) -> tuple[list[TaskPair], Resolution]:
        raw = task.extra.get(EXTRA_PAIRS)
        pairs = [TaskPair.model_validate(p) for p in json.loads(raw)] if raw else []
        resolution = _RESOLUTION.get(task.extra.get(EXTRA_RESOLUTION, ""), "720p")
        return pairs or [TaskPair(shotId="shot-1", taskId=task.remote_id)], resolution

    def _status_body(self, task: RemoteTask) -> dict[str, Any]:
        pairs, resolution = self._stored(task)
        return VeoStatusBody(taskIds=pairs, resolution=resolution).wire()

    def _failed(
        self, reply: NanophotoReply, resp: HttpResponse, task: RemoteTask, key: ApiKey
    ) -> TaskSnapshot:
        err = self._failure(reply, resp, task.remote_id, key)
        pairs, _ = self._stored(task)
        step = _steps(len(pairs), _shots(resp.data, pairs)[1])
        return TaskSnapshot(state=TaskState.FAILED, error=err.task_error(), raw=self._raw(resp, key), **step)

    def _polled(
        self, reply: NanophotoReply, resp: HttpResponse, task: RemoteTask, key: ApiKey
    ) -> TaskSnapshot | None:
        pairs, _ = self._stored(task)
        videos, done = _shots(resp.data, pairs)
        state = self._state(reply.status or "", task.remote_id)
        if state is not TaskState.SUCCEEDED:
            steps = _steps(len(pairs), done)
            return TaskSnapshot(state=state, stage=reply.progress, raw=self._raw(resp, key), **steps)
        url = reply.videoUrl or (videos[0] if len(pairs) == 1 and videos else None)
        parts = tuple(videos) if url is None and len(pairs) > 1 and len(videos) == len(pairs) else ()
        if url is None and not parts:
            return None  # no video, or not every shot's: the family asks again
        if parts:  # V10: the shots, not joined; kept in the log should the operator want them
            log.info(
                "nanophoto-veo %s: task %s completed as %d shot videos without a joined videoUrl",
                self.name,
                task.remote_id,
                len(parts),
            )
        steps = _steps(len(pairs), len(pairs))
        took = reply.generationTime
        return TaskSnapshot(
            state=state,
            video_url=url,
            video_parts=parts,
            vendor_seconds=took,
            raw=self._raw(resp, key),
            **steps,
        )


def _is_id(value: object) -> bool:
    return isinstance(value, str | int) and not isinstance(value, bool) and bool(str(value))


def _shots(data: Any, pairs: list[TaskPair]) -> tuple[list[str], int]:
    """V10: every shot's ``videoUrl`` in request order, wherever the body puts objects with a
    ``shotId``; and how many shots are done (a video, or the word ``completed``)."""
    seen: dict[str, dict[str, Any]] = {}
    stack: list[Any] = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if _is_id(item.get("shotId")):
                seen.setdefault(str(item["shotId"]), {}).update(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    mine = [seen.get(p.shotId, {}) for p in pairs]
    urls = [u for u in (s.get("videoUrl") for s in mine) if isinstance(u, str) and u]
    done = sum(1 for s in mine if s.get("videoUrl") or str(s.get("status", "")).lower() == "completed")
    return urls, done


def _steps(shots: int, finished: int) -> dict[str, Any]:
    """Progress for a multi-shot job: step k of N, k the shot under way (none for one shot)."""
    if shots <= 1:
        return {}
    return {"step": min(finished + 1, shots), "step_count": shots}
