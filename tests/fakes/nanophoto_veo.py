"""A fake nanophoto.ai Veo 3.1 API: a real aiohttp server on 127.0.0.1 (docs/vendors.md, "nanophoto Veo 3.1").

It speaks what is published — ``shots`` with ``id``/``prompt``/``generationType``/``aspectRatio``/
``imageUrls``, ``resolution`` (``1080p``/``4k`` single shot only), the generate answer's
``shots[{shotId, taskId}]``, the ``{"taskIds": [...], "resolution"}`` status body and the skill's
error codes — and the reconstructed rest, whose uncertain key names are settings of the fake, so it
can be corrected after one real call::

    async with FakeNanophotoVeo(result_key="results", joined_key=None) as fake:
        fake.script_next(VeoScript(polls_per_shot=2, outcome="failed", fail_at_shot=3))
        provider = NanophotoVeo(fake.profile(), http)
        ...
        assert fake.calls("status")[0].json["taskIds"][0]["shotId"] == "shot-1"

``result_key``: the array of per-shot results in a status answer (``"shots"``); ``shot_status_key``:
each result's status word (``"status"``); ``joined_key``: where a multi-shot job's joined video link
goes (``"videoUrl"``; ``None``: no joined link, only the per-shot ones); ``joined_single``: a
single-shot job gets the top-level link too. Per task, a ``VeoScript`` may say otherwise:
``joined=False`` leaves that job's completed answer with only the per-shot links (V10), and
``shot_videos`` serves each shot as a real MP4 a test made (``tests.fakes.clips``), with the shots in
``missing_shots`` (numbered from 1) answering 404. Shots run one after another, each ``polls_per_shot``
status checks (or ``shot_seconds`` on the fake's clock); the check after the last shot shows the
outcome. Videos are served at ``/videos/<taskId>.mp4`` (one shot) and ``/videos/<jobId>.mp4`` (the
joined one) once the job is completed.

Everything else — Bearer key (401 ``LOGIN_REQUIRED``), the per-key hourly budget and its 429 body,
``credits`` and the 402 envelope, ``fail_next``/``error_200_next``/``force``/``malformed_next``/
``slow_next``, ``stop_serving`` ("model not served", A11) and the recorded requests — is
``FakeNanophoto``'s (``tests/fakes/nanophoto.py``).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web

from tests.fakes.nanophoto import RATE_LIMIT_BODY, FakeNanophoto, RecordedRequest, _err
from tests.fakes.vendor import mp4_response, not_found

__all__ = ["GENERATE_PATH", "RATE_LIMIT_BODY", "STATUS_PATH", "FakeNanophotoVeo", "VeoJob", "VeoScript"]

GENERATE_PATH = "/api/veo-3/generate"
STATUS_PATH = "/api/veo-3/check-status"
TYPES = {"TEXT_2_VIDEO": (0, 0), "FIRST_AND_LAST_FRAMES_2_VIDEO": (1, 2), "REFERENCE_2_VIDEO": (1, 3)}
RESOLUTIONS = ("720p", "1080p", "4k")
PRICE_PER_SHOT = {"720p": 10, "1080p": 14, "4k": 30}


@dataclass(frozen=True)
class VeoScript:
    """How one job behaves: ``outcome`` ``"completed"``, ``"failed"`` (during shot ``fail_at_shot``,
    the last by default) or ``"never"``; ``immediate``: the generate answer already says completed."""

    polls_per_shot: int = 1
    advance: Literal["poll", "time"] = "poll"
    shot_seconds: float = 120.0
    outcome: Literal["completed", "failed", "never"] = "completed"
    fail_at_shot: int | None = None
    immediate: bool = False
    fail_status: int = 500  # A6: GENERATION_FAILED is documented as HTTP 500
    fail_error: str = "Video generation failed"
    fail_code: str = "GENERATION_FAILED"
    video_size: int | None = None
    joined: bool | None = None  # None: as the fake's ``joined_key``; False: only the per-shot links
    shot_videos: tuple[bytes, ...] | None = None  # real MP4s, one a shot, served at each shot's link
    missing_shots: frozenset[int] = frozenset()  # shots (from 1) whose link answers 404


@dataclass
class VeoJob:
    job_id: str
    key_name: str
    body: dict[str, Any]
    pairs: list[dict[str, str]]  # {shotId, taskId}, in request order
    resolution: str
    price: int
    script: VeoScript
    created_at: float
    polls: int = 0
    state: Literal["processing", "completed", "failed"] = "processing"
    finished: int = 0  # shots done
    refunded: bool = False
    resolutions_asked: list[str | None] = field(default_factory=list)


class FakeNanophotoVeo(FakeNanophoto):
    """The fake Veo server; arguments as ``FakeNanophoto``'s plus the reconstructed key names."""

    KIND = "nanophoto_veo"
    PROFILE_NAME = "nano-veo"

    def __init__(
        self,
        keys: Mapping[str, str] | None = None,
        *,
        default_script: VeoScript | None = None,
        result_key: str = "shots",
        shot_status_key: str = "status",
        joined_key: str | None = "videoUrl",
        joined_single: bool = False,
        **options: Any,  # credits, rate_limit, rate_window, clock, video_size: as FakeNanophoto's
    ) -> None:
        super().__init__(keys, **options)
        self.default_veo_script = default_script or VeoScript()
        self.result_key, self.shot_status_key = result_key, shot_status_key
        self.joined_key, self.joined_single = joined_key, joined_single
        self.jobs: dict[str, VeoJob] = {}

    def _add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_post(GENERATE_PATH, self._route("generate", self._veo_generate))
        router.add_post(STATUS_PATH, self._route("status", self._veo_status))
        self._add_video_route(router)

    def _jobs(self) -> Mapping[str, Any]:
        """Jobs by job id and by each shot's task id (the shot videos are served by task id)."""
        by_task = {p["taskId"]: j for j in self.jobs.values() for p in j.pairs}
        return {**by_task, **self.jobs}

    async def _video_file(self, request: web.Request) -> web.Response:
        """The joined video at ``/videos/<jobId>.mp4``; each shot's at ``/videos/<taskId>.mp4`` — the
        script's own MP4 for it when it has some, a 404 for a shot in ``missing_shots``."""

        def logic(rec: RecordedRequest) -> web.Response:
            name = request.match_info["job_id"]
            job = self._jobs().get(name)
            if not isinstance(job, VeoJob) or job.state != self.FINISHED:
                return not_found()
            script = job.script
            shot = next((n for n, p in enumerate(job.pairs, start=1) if p["taskId"] == name), None)
            if shot is not None and shot in script.missing_shots:
                return not_found()
            if shot is not None and script.shot_videos:
                data = script.shot_videos[(shot - 1) % len(script.shot_videos)]
                return web.Response(body=data, headers={"Content-Type": "video/mp4"})
            return mp4_response(script.video_size if script.video_size is not None else self.video_size)

        return await self._answer(request, "video", logic)

    def shot_url(self, task_id: str, shot: int) -> str:
        """The link the completed answer gives for shot ``shot`` (from 1) of the job with ``task_id``."""
        return self.video_url(self.job_of(task_id).pairs[shot - 1]["taskId"])

    def job_of(self, task_id: str) -> VeoJob:
        return next(j for j in self.jobs.values() if any(p["taskId"] == task_id for p in j.pairs))

    # ------------------------------------------------------------------ generate

    def _veo_generate(self, rec: RecordedRequest) -> web.Response:
        if (gate := self._gate(rec)) is not None:
            return gate
        body = rec.json if isinstance(rec.json, dict) else {}
        shots = body.get("shots")
        if not isinstance(shots, list) or not shots:
            return _err(400, "SHOTS_REQUIRED", "shots array is required")
        if len(shots) > 21:
            return _err(400, "INVALID_INPUT", "At most 21 shots")
        resolution = body.get("resolution", "720p")
        if resolution not in RESOLUTIONS:
            return _err(400, "INVALID_INPUT", "Invalid resolution. Must be 720p, 1080p or 4k")
        if resolution != "720p" and len(shots) > 1:
            return _err(400, "INVALID_INPUT", "1080p and 4k are only supported for single-shot generation")
        if (refused := self._check_shots(shots)) is not None:
            return refused
        job_id = f"veo_{uuid.uuid4().hex[:10]}"
        price = PRICE_PER_SHOT[resolution] * len(shots)
        if (short := self._charge(price)) is not None:
            return short
        script: VeoScript = self._scripts.popleft() if self._scripts else self.default_veo_script
        pairs = [{"shotId": s["id"], "taskId": f"task_{uuid.uuid4().hex[:12]}"} for s in shots]
        job = VeoJob(job_id, rec.key_name or "", dict(body), pairs, resolution, price, script, self.clock())
        self.jobs[job_id] = job
        if script.immediate and script.outcome == "completed":
            job.state, job.finished = "completed", len(pairs)
            return web.json_response(self._body(job))
        return web.json_response({"success": True, "status": "processing", "shots": pairs})

    def _check_shots(self, shots: list[Any]) -> web.Response | None:
        ids: set[str] = set()
        for shot in shots:
            if not isinstance(shot, dict):
                return _err(400, "INVALID_INPUT", "Each shot must be an object")
            sid, prompt, kind = shot.get("id"), shot.get("prompt"), shot.get("generationType")
            if not isinstance(sid, str) or not sid or sid in ids:
                return _err(400, "INVALID_INPUT", "Each shot needs a unique id")
            ids.add(sid)
            if not isinstance(prompt, str) or not prompt.strip():
                return _err(400, "PROMPT_REQUIRED", "Prompt is required for every shot")
            if kind not in TYPES or shot.get("aspectRatio") not in ("16:9", "9:16"):
                return _err(400, "INVALID_INPUT", "Invalid generationType or aspectRatio")
            urls = shot.get("imageUrls") or []
            low, high = TYPES[kind]
            if not isinstance(urls, list) or not low <= len(urls) <= high:
                return _err(400, "INVALID_IMAGE_COUNT", f"{kind} takes {low} to {high} images")
            if any(not (isinstance(u, str) and u.startswith(("http://", "https://"))) for u in urls):
                return _err(400, "IMAGE_URLS_REQUIRED", "API requires imageUrls (public URLs)")
        return None

    # ------------------------------------------------------------------ check-status

    def _veo_status(self, rec: RecordedRequest) -> web.Response:
        if (gate := self._gate(rec)) is not None:
            return gate
        body = rec.json if isinstance(rec.json, dict) else {}
        pairs = body.get("taskIds")
        if not isinstance(pairs, list) or not pairs:
            return _err(400, "TASK_IDS_REQUIRED", "taskIds is required")
        tasks = {p.get("taskId") for p in pairs if isinstance(p, dict)}
        job = next((j for j in self.jobs.values() if {p["taskId"] for p in j.pairs} == tasks), None)
        if job is None or job.key_name != rec.key_name:
            return _err(404, "TASK_NOT_FOUND", "Task not found")
        job.polls += 1
        job.resolutions_asked.append(body.get("resolution"))
        self._advance_job(job)
        status = job.script.fail_status if job.state == "failed" else 200
        return web.json_response(self._body(job), status=status)

    def _advance_job(self, job: VeoJob) -> None:
        """Shots one after another: shot k is under way for ``polls_per_shot`` checks (or seconds)."""
        last = len(job.pairs)
        if job.script.outcome == "failed":
            last = min(job.script.fail_at_shot or last, last)
        steps = tuple(k for k in range(last) for _ in range(job.script.polls_per_shot))
        seconds = job.script.shot_seconds / job.script.polls_per_shot
        job.finished = self._walk(job, steps, (0,), seconds, done="completed")
        if job.state == "completed":
            job.finished = len(job.pairs)

    def _fail(self, job: Any) -> None:
        job.state = "failed"
        if not job.refunded and self.credits is not None:
            self.credits += job.price
        job.refunded = True

    def _body(self, job: VeoJob) -> dict[str, Any]:
        results = []
        for n, pair in enumerate(job.pairs):
            word = "completed" if n < job.finished else "processing" if n == job.finished else "pending"
            if job.state == "failed" and n == job.finished:
                word = "failed"
            item: dict[str, Any] = {**pair, self.shot_status_key: word}
            if word == "completed":
                item["videoUrl"] = self.video_url(pair["taskId"])
            results.append(item)
        if job.state == "failed":
            s = job.script
            return {
                "success": False,
                "status": "failed",
                "error": s.fail_error,
                "errorCode": s.fail_code,
                self.result_key: results,
            }
        reply: dict[str, Any] = {"success": True, "status": job.state, self.result_key: results}
        if job.state == "completed":
            took = job.script.shot_seconds * len(job.pairs) if job.script.advance == "time" else None
            reply["generationTime"] = round(took if took is not None else self.clock() - job.created_at)
            joined = job.script.joined is not False  # this task's script may leave it out
            if self.joined_key and joined and (len(job.pairs) > 1 or self.joined_single):
                reply[self.joined_key] = self.video_url(job.job_id)
        return reply
