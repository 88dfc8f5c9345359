"""A fake nanophoto.ai Sora 2 API: a real aiohttp server on 127.0.0.1 (docs/vendors.md, "nanophoto Sora 2").

It speaks the documented protocol with the documented bodies and quirks (the 402 envelope without
``success``, the exact 429 text, ``progress`` as a stage word, a failed task as HTTP 500 with a
status body), is strict about what it accepts (Bearer key, string durations, public image URLs),
and is scriptable per test::

    async with FakeNanophoto(credits=10) as fake:
        fake.script_next(TaskScript(stages=("queued", "generating"), outcome="completed"))
        fake.fail_next("status", status=503)          # the next status check gets a 503
        fake.stop_serving()                           # from now on: "this model is not served" (A11)
        provider = NanophotoSora(fake.profile(), http)
        ...
        assert fake.count(route="generate") == 1
        assert fake.calls("generate")[0].json["videoDuration"] == "10"

Routes are named ``"generate"``, ``"status"`` and ``"video"`` (``GET /videos/{taskId}.mp4``, the
fake's own ``videoUrl``, public like the vendor's CDN). Every request is recorded as a
``RecordedRequest`` in ``fake.requests`` with the route, the parsed JSON body, the name of the key
that authenticated it and the HTTP status answered.

The lifecycle, keys, ``profile()``, forced answers and recording are ``FakeVendor``'s
(``tests/fakes/vendor.py``); this module adds the nanophoto protocol: its routes and bodies, the
``{"error", "errorCode"}`` envelope (401 ``LOGIN_REQUIRED``), credits and the per-key hourly budget.
"""

from __future__ import annotations

import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from aiohttp import web

from tests.fakes.vendor import FakeClock, FakeVendor, RecordedRequest

__all__ = [
    "DEFAULT_KEYS",
    "GENERATE_PATH",
    "PRICES",
    "RATE_LIMIT_BODY",
    "STATUS_PATH",
    "TIERS",
    "FakeClock",
    "FakeNanophoto",
    "FakeTask",
    "RecordedRequest",
    "TaskScript",
]

Route = Literal["generate", "status", "video"]
Outcome = Literal["completed", "failed", "never"]

GENERATE_PATH = "/api/sora-2/generate"
STATUS_PATH = "/api/sora-2/check-status"

TIERS = ("sora2", "sora2-pro-standard", "sora2-pro-high")
PRICES: dict[tuple[str, int], int] = {
    ("sora2", 10): 4,
    ("sora2", 15): 8,
    ("sora2-pro-standard", 10): 60,
    ("sora2-pro-standard", 15): 100,
    ("sora2-pro-high", 10): 120,
    ("sora2-pro-high", 15): 240,
}

RATE_LIMIT_BODY: dict[str, Any] = {
    "success": False,
    "error": (
        "API key rate limit exceeded. Default: 100 requests/hour. "
        "Contact support@nanophoto.ai for higher limits."
    ),
    "errorCode": "API_KEY_RATE_LIMIT_EXCEEDED",
}

DEFAULT_KEYS: dict[str, str] = {
    "key-a": "np-test-secret-aaaa-0123456789",
    "key-b": "np-test-secret-bbbb-9876543210",
}


@dataclass(frozen=True)
class TaskScript:
    """How one task behaves.

    ``stages`` are the ``progress`` words reported while processing; with ``advance="poll"`` the
    n-th status check shows ``stages[n-1]`` and the check after the last stage shows the outcome;
    with ``advance="time"`` each stage lasts ``stage_seconds`` on the fake's clock. ``"never"``
    keeps reporting the last stage forever. ``immediate`` answers the generate call itself with
    ``completed``. ``generation_time`` is the ``generationTime`` a completed task reports (None: how
    long it took on the fake's clock).
    """

    stages: tuple[str, ...] = ("generating",)
    outcome: Outcome = "completed"
    immediate: bool = False
    advance: Literal["poll", "time"] = "poll"
    stage_seconds: float = 1.0
    fail_status: int = 500  # A6: GENERATION_FAILED is documented as HTTP 500
    fail_error: str = "Video generation failed"
    fail_code: str = "GENERATION_FAILED"
    generation_time: int | None = None  # the ``generationTime`` reported; None: what it really took
    video_size: int | None = None  # None: the fake's default
    video_bytes: bytes | None = None  # served as the video instead (a real MP4 a test made with ffmpeg)


@dataclass
class FakeTask:
    task_id: str
    key_name: str
    body: dict[str, Any]
    tier: str
    duration: int
    price: int
    script: TaskScript
    created_at: float
    polls: int = 0
    state: Literal["processing", "completed", "failed"] = "processing"
    refunded: bool = False


def _err(status: int, code: str, error: str, **extra: Any) -> web.Response:
    return web.json_response({"error": error, "errorCode": code, **extra}, status=status)


class FakeNanophoto(FakeVendor):
    """The fake server. Start with ``await fake.start()`` / ``await fake.stop()`` or ``async with``.

    ``keys``: key name -> secret (default: ``DEFAULT_KEYS``). ``credits``: the account balance
    (None = unlimited). ``rate_limit`` requests per ``rate_window`` seconds per key, counting generate
    and check-status (None = no limit). ``clock``: a callable returning seconds (``FakeClock`` for
    tests). ``default_script``: how tasks behave when no ``script_next`` is queued.
    """

    ROUTES = ("generate", "status", "video")
    KEYED_ROUTES = ("generate", "status")  # what ``calls_per_key`` counts (the hourly budget's calls)
    KIND = "nanophoto"
    PROFILE_NAME = "nano"
    MALFORMED_TEXT = '{"success": true, "status": "proce'
    DEFAULT_KEYS = DEFAULT_KEYS

    def __init__(
        self,
        keys: Mapping[str, str] | None = None,
        *,
        credits: int | None = None,
        rate_limit: int | None = 100,
        rate_window: float = 3600.0,
        clock: Callable[[], float] | None = None,
        default_script: TaskScript | None = None,
        video_size: int = 2048,
    ) -> None:
        super().__init__(
            keys, clock=clock, default_script=default_script or TaskScript(), video_size=video_size
        )
        self.credits = credits
        self.rate_limit = rate_limit
        self.rate_window = rate_window
        self.tasks: dict[str, FakeTask] = {}
        self._window: dict[str, deque[float]] = {}
        self.gone: tuple[int, dict[str, Any]] | None = None  # see ``stop_serving``

    def _add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_post(GENERATE_PATH, self._route("generate", self._generate_logic))
        router.add_post(STATUS_PATH, self._route("status", self._status_logic))
        self._add_video_route(router)

    def _jobs(self) -> Mapping[str, Any]:
        return self.tasks

    def _profile_fields(self) -> dict[str, Any]:
        return {"requests_per_hour": self.rate_limit}

    # ------------------------------------------------------------------ scripting (the nanophoto envelope)

    def fail_next(
        self,
        route: Route,
        *,
        status: int = 500,
        code: str = "INTERNAL_ERROR",
        error: str = "Internal server error",
        times: int = 1,
        **extra: Any,
    ) -> None:
        """The next calls answer with an error envelope ``{"error", "errorCode", ...extra}``."""
        self.force(route, times=times, status=status, body={"error": error, "errorCode": code, **extra})

    def error_200_next(self, route: Route, *, code: str, error: str, times: int = 1, **extra: Any) -> None:
        """An error envelope on HTTP 200 (A5: ``success`` alone must not be trusted)."""
        self.fail_next(route, status=200, code=code, error=error, times=times, **extra)

    def finish(self, task_id: str, outcome: Literal["completed", "failed"] = "completed") -> None:
        """End a task now, whatever its script says; the next status check reports it."""
        task = self.tasks[task_id]
        if outcome == "completed":
            task.state = "completed"
        else:
            self._fail(task)

    def share_budget(self, other: FakeNanophoto) -> None:
        """Count ``other``'s calls in this fake's hourly windows: nanophoto keeps one budget per key
        across all its APIs (Sora, TVC, Veo, SeeDance), so two fakes of one account share theirs.
        Keys are matched by name: give both fakes the same names for the same secrets."""
        other._window = self._window
        other.rate_limit, other.rate_window = self.rate_limit, self.rate_window

    # ------------------------------------------------------------------ reading what happened

    def count(self, key_name: str | None = None, route: str | None = None) -> int:  # type: ignore[override]
        return super().count(route, key_name=key_name)

    def task(self, task_id: str) -> FakeTask:
        return self.tasks[task_id]

    # ------------------------------------------------------------------ request plumbing

    def _json(self, data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
        return web.json_response(data, status=status, headers=headers)

    def _unauthorized(self) -> web.Response:
        return _err(401, "LOGIN_REQUIRED", "Authentication required")

    def _gate(self, rec: RecordedRequest) -> web.Response | None:
        """Authentication, then the per-key hourly budget (which every accepted call uses), then
        whether the model is still served (``stop_serving``)."""
        if (denied := self._auth(rec)) is not None:
            return denied
        if self.rate_limit is not None:
            now = self.clock()
            window = self._window.setdefault(rec.key_name, deque())
            while window and window[0] <= now - self.rate_window:
                window.popleft()
            if len(window) >= self.rate_limit:
                return web.json_response(RATE_LIMIT_BODY, status=429)
            window.append(now)
        if self.gone is not None:
            status, body = self.gone
            if rec.route == "generate":
                return web.json_response(body, status=status)
            return web.json_response({**body, "status": "failed"}, status=500)  # as A6's failed task
        return None

    def stop_serving(
        self,
        *,
        code: str = "MODEL_NOT_AVAILABLE",
        error: str = "This model is no longer available",
        status: int = 503,
    ) -> None:
        """From now on the model is not served (A11, our reading): generate answers the envelope
        ``{"success": false, "error", "errorCode"}`` with ``status``; check-status reports every task
        failed with the same code. ``fake.gone = None`` serves it again."""
        self.gone = (status, {"success": False, "error": error, "errorCode": code})

    # ------------------------------------------------------------------ routes

    def _generate_logic(self, rec: RecordedRequest) -> web.Response:
        if (gate := self._gate(rec)) is not None:
            return gate
        body = rec.json
        if not isinstance(body, dict):
            return _err(400, "INVALID_INPUT", "Invalid request body")
        prompt = body.get("prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            return _err(400, "PROMPT_REQUIRED", "Prompt is required")
        mode = body.get("mode")
        if mode not in ("textToVideo", "imageToVideo"):
            return _err(400, "INVALID_INPUT", "Invalid mode. Must be textToVideo or imageToVideo")
        tier = body.get("modelTier", "sora2")
        if tier not in TIERS:
            return _err(400, "INVALID_INPUT", f"Invalid modelTier. Must be one of: {', '.join(TIERS)}")
        if body.get("aspectRatio", "portrait") not in ("portrait", "landscape"):
            return _err(400, "INVALID_INPUT", "Invalid aspectRatio. Must be portrait or landscape")
        duration = body.get("videoDuration", "10")
        if not isinstance(duration, str) or duration not in ("10", "15"):
            return _err(400, "INVALID_INPUT", 'Invalid videoDuration. Must be "10" or "15"')
        if mode == "imageToVideo":
            urls = body.get("imageUrls")
            if urls is None or urls == []:
                if any(k in body for k in ("image", "images", "imageBase64", "imageData")):
                    return _err(
                        400, "IMAGE_URLS_REQUIRED", "API requires imageUrls (public URLs), not base64"
                    )
                return _err(400, "IMAGE_REQUIRED", "Image is required for imageToVideo mode")
            if not isinstance(urls, list) or not all(
                isinstance(u, str) and u.startswith(("http://", "https://")) for u in urls
            ):
                return _err(400, "IMAGE_URLS_REQUIRED", "API requires imageUrls (public URLs), not base64")
        return self._start(rec, body, tier, int(duration), PRICES[(tier, int(duration))])

    def _charge(self, price: int) -> web.Response | None:
        """Take ``price`` credits; the documented 402 body (no "success" field, A5) when short."""
        if self.credits is not None:
            if self.credits < price:
                return _err(402, "INSUFFICIENT_CREDITS", "Insufficient credits", requiredCredits=price)
            self.credits -= price
        return None

    def _start(
        self, rec: RecordedRequest, body: dict[str, Any], tier: str, duration: int, price: int
    ) -> web.Response:
        """Charge, start a task with the next script and answer generate (Sora 2's accepted body)."""
        if (short := self._charge(price)) is not None:
            return short
        script: TaskScript = self._next_script()
        task = FakeTask(
            task_id=f"task_{uuid.uuid4().hex[:12]}",
            key_name=rec.key_name or "",
            body=dict(body),
            tier=tier,
            duration=duration,
            price=price,
            script=script,
            created_at=self.clock(),
        )
        self.tasks[task.task_id] = task
        if script.immediate and script.outcome == "completed":
            task.state = "completed"
            return web.json_response(
                {
                    "success": True,
                    "status": "completed",
                    "taskId": task.task_id,
                    "videoUrl": self.video_url(task.task_id),
                    "message": "Video generation completed",
                    "generationTime": script.generation_time or 0,
                    "creditsUsed": price,
                }
            )
        return web.json_response(
            {
                "success": True,
                "status": "processing",
                "taskId": task.task_id,
                "message": "Video generation in progress",
            }
        )

    def _status_logic(self, rec: RecordedRequest) -> web.Response:
        if (gate := self._gate(rec)) is not None:
            return gate
        task_id = self._task_id_of(rec.json if isinstance(rec.json, dict) else {})
        if not isinstance(task_id, str) or not task_id:
            return self._no_task_id()
        task = self.tasks.get(task_id)
        if task is None or task.key_name != rec.key_name:
            return _err(404, "TASK_NOT_FOUND", "Task not found")
        task.polls += 1
        stage = self._advance(task)
        if task.state == "completed":
            return web.json_response(
                {
                    "success": True,
                    "status": "completed",
                    "videoUrl": self.video_url(task.task_id),
                    "taskId": task.task_id,
                    "generationTime": self._generation_time(task),
                    "creditsUsed": task.price,
                }
            )
        if task.state == "failed":
            return web.json_response(
                {
                    "success": False,
                    "status": "failed",
                    "error": task.script.fail_error,
                    "errorCode": task.script.fail_code,
                    "taskId": task.task_id,
                },
                status=task.script.fail_status,
            )
        return web.json_response(
            {
                "success": True,
                "status": "processing",
                "progress": stage,
                "message": f"Video generation {stage}",
                "taskId": task.task_id,
            }
        )

    def _generation_time(self, task: FakeTask) -> int:
        """``generationTime``: the script's, else how long the task took on the fake's clock (by its
        stages' times when they advance by time; else until this answer)."""
        script = task.script
        if script.generation_time is not None:
            return script.generation_time
        if script.advance == "time":
            return round(len(script.stages) * script.stage_seconds)
        return round(self.clock() - task.created_at)

    def _task_id_of(self, body: dict[str, Any]) -> Any:
        """The task a status body names (Sora 2: ``taskId``); anything but a string is a missing id."""
        return body.get("taskId")

    def _no_task_id(self) -> web.Response:
        return _err(400, "TASK_ID_REQUIRED", "Task ID is required")

    def _advance(self, task: FakeTask) -> str:
        """Move ``task`` along its script; return the stage word to report while processing."""
        return self._walk(
            task, task.script.stages, ("generating",), task.script.stage_seconds, done="completed"
        )

    def _fail(self, task: FakeTask) -> None:
        task.state = "failed"
        if not task.refunded and self.credits is not None:
            self.credits += task.price  # "credits are refunded automatically when generation fails"
        task.refunded = True
