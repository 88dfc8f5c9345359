"""A fake nanophoto.ai Sora 2 API: a real aiohttp server on 127.0.0.1 (PROVIDERS.md §1.1-1.3).

It speaks the documented protocol with the documented bodies and quirks (the 402 envelope without
``success``, the exact 429 text, ``progress`` as a stage word, a failed task as HTTP 500 with a
status body), is strict about what it accepts (Bearer key, string durations, public image URLs),
and is scriptable per test::

    async with FakeNanophoto(credits=10) as fake:
        fake.script_next(TaskScript(stages=("queued", "generating"), outcome="completed"))
        fake.fail_next("status", status=503)          # the next status check gets a 503
        provider = NanophotoSora(fake.profile(), http)
        ...
        assert fake.count(route="generate") == 1
        assert fake.calls("generate")[0].json["videoDuration"] == "10"

Routes are named ``"generate"``, ``"status"`` and ``"video"`` (``GET /videos/{taskId}.mp4``, the
fake's own ``videoUrl``, public like the vendor's CDN). Every request is recorded as a
``RecordedRequest`` in ``fake.requests`` with the route, the parsed JSON body, the name of the key
that authenticated it and the HTTP status answered.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal, Self

from aiohttp import web
from pydantic import SecretStr

from bot.providers.base import ApiKey
from bot.providers.profiles import ProviderProfile, Timing

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


class FakeClock:
    """A settable clock for rate-limit windows and time-driven stage progressions."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass(frozen=True)
class TaskScript:
    """How one task behaves.

    ``stages`` are the ``progress`` words reported while processing; with ``advance="poll"`` the
    n-th status check shows ``stages[n-1]`` and the check after the last stage shows the outcome;
    with ``advance="time"`` each stage lasts ``stage_seconds`` on the fake's clock. ``"never"``
    keeps reporting the last stage forever. ``immediate`` answers the generate call itself with
    ``completed``.
    """

    stages: tuple[str, ...] = ("generating",)
    outcome: Outcome = "completed"
    immediate: bool = False
    advance: Literal["poll", "time"] = "poll"
    stage_seconds: float = 1.0
    fail_status: int = 500  # A6: GENERATION_FAILED is documented as HTTP 500
    fail_error: str = "Video generation failed"
    fail_code: str = "GENERATION_FAILED"
    generation_time: int = 120
    video_size: int | None = None  # None: the fake's default


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


@dataclass
class RecordedRequest:
    route: str  # "generate" | "status" | "video" | "other"
    method: str
    path: str
    json: Any  # the parsed JSON body, None when absent or not JSON (see ``text``)
    text: str
    key_name: str | None  # the configured key that authenticated the call, None if none matched
    user_agent: str | None
    content_type: str | None
    status: int | None = None  # the HTTP status answered (None while still being answered)


@dataclass
class _Forced:
    remaining: int
    status: int | None
    body: Any
    delay: float
    content_type: str


def _mp4_bytes(size: int) -> bytes:
    """A tiny MP4-looking payload: an ``ftyp`` box, then zeros up to ``size`` bytes."""
    head = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
    if size <= len(head):
        return head[: max(size, 0)]
    return head + bytes(size - len(head))


def _err(status: int, code: str, error: str, **extra: Any) -> web.Response:
    return web.json_response({"error": error, "errorCode": code, **extra}, status=status)


class FakeNanophoto:
    """The fake server. Start with ``await fake.start()`` / ``await fake.stop()`` or ``async with``.

    ``keys``: key name -> secret (default: ``DEFAULT_KEYS``). ``credits``: the account balance
    (None = unlimited). ``rate_limit`` requests per ``rate_window`` seconds per key, counting generate
    and check-status (None = no limit). ``clock``: a callable returning seconds (``FakeClock`` for
    tests). ``default_script``: how tasks behave when no ``script_next`` is queued.
    """

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
        self.keys: dict[str, str] = dict(DEFAULT_KEYS if keys is None else keys)
        self.credits = credits
        self.rate_limit = rate_limit
        self.rate_window = rate_window
        self.clock: Callable[[], float] = clock or time.monotonic
        self.default_script = default_script or TaskScript()
        self.video_size = video_size
        self.requests: list[RecordedRequest] = []
        self.tasks: dict[str, FakeTask] = {}
        self._scripts: deque[TaskScript] = deque()
        self._forced: dict[str, deque[_Forced]] = {"generate": deque(), "status": deque(), "video": deque()}
        self._window: dict[str, deque[float]] = {}
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> Self:
        app = web.Application()
        app.router.add_post(GENERATE_PATH, self._generate)
        app.router.add_post(STATUS_PATH, self._status)
        app.router.add_get("/videos/{task_id}.mp4", self._video)
        self._runner = web.AppRunner(app, shutdown_timeout=0.2, handler_cancellation=True, access_log=None)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self._port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        if self._port is None:
            raise RuntimeError("FakeNanophoto is not started")
        return f"http://127.0.0.1:{self._port}"

    def video_url(self, task_id: str) -> str:
        return f"{self.base_url}/videos/{task_id}.mp4"

    # ------------------------------------------------------------------ helpers for tests

    def api_key(self, name: str | None = None) -> ApiKey:
        """An ``ApiKey`` for a configured key (the first one by default)."""
        name = name or next(iter(self.keys))
        return ApiKey(name=name, secret=SecretStr(self.keys[name]))

    def api_keys(self) -> tuple[ApiKey, ...]:
        return tuple(self.api_key(n) for n in self.keys)

    def profile(self, name: str = "nano", **overrides: Any) -> ProviderProfile:
        """A ``ProviderProfile`` of kind ``nanophoto`` pointing at this fake, with short timings."""
        fields: dict[str, Any] = {
            "name": name,
            "kind": "nanophoto",
            "base_url": self.base_url,
            "keys": self.api_keys(),
            "requests_per_hour": self.rate_limit,
            "timing": Timing(
                expected=0.02, first_poll=0.01, poll_interval=0.01, timeout=5.0, backoff_max=0.05
            ),
            "request_timeout": 2.0,
        }
        fields.update(overrides)
        return ProviderProfile(**fields)

    # ------------------------------------------------------------------ scripting

    def script_next(self, *scripts: TaskScript) -> None:
        """Queue behaviours for the next created tasks, in order (then ``default_script``)."""
        self._scripts.extend(scripts)

    def force(
        self,
        route: Route,
        *,
        times: int = 1,
        status: int | None = 200,
        body: Any = None,
        delay: float = 0.0,
        content_type: str = "application/json",
    ) -> None:
        """Answer the next ``times`` calls of ``route`` with this instead of the normal logic.

        ``body``: a dict/list is sent as JSON, a str/bytes as it is. ``status=None`` and
        ``body=None`` with a ``delay`` means "answer normally, but late". Forced answers change no
        state: no task, no credits, no rate-limit count.
        """
        self._forced[route].append(_Forced(times, status, body, delay, content_type))

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

    def malformed_next(
        self,
        route: Route,
        *,
        status: int = 200,
        text: str = '{"success": true, "status": "proce',
        times: int = 1,
    ) -> None:
        self.force(route, times=times, status=status, body=text)

    def slow_next(self, route: Route, delay: float, *, times: int = 1) -> None:
        """Answer normally, after ``delay`` seconds."""
        self.force(route, times=times, status=None, body=None, delay=delay)

    def finish(self, task_id: str, outcome: Literal["completed", "failed"] = "completed") -> None:
        """End a task now, whatever its script says; the next status check reports it."""
        task = self.tasks[task_id]
        if outcome == "completed":
            task.state = "completed"
        else:
            self._fail(task)

    # ------------------------------------------------------------------ reading what happened

    def calls(self, route: str | None = None, *, key_name: str | None = None) -> list[RecordedRequest]:
        return [
            r
            for r in self.requests
            if (route is None or r.route == route) and (key_name is None or r.key_name == key_name)
        ]

    def count(self, key_name: str | None = None, route: str | None = None) -> int:
        return len(self.calls(route, key_name=key_name))

    @property
    def calls_per_key(self) -> Counter[str]:
        """Authenticated generate + check-status calls, per key name."""
        return Counter(r.key_name for r in self.requests if r.key_name and r.route in ("generate", "status"))

    def task(self, task_id: str) -> FakeTask:
        return self.tasks[task_id]

    # ------------------------------------------------------------------ request plumbing

    async def _begin(self, request: web.Request, route: str) -> tuple[RecordedRequest, _Forced | None]:
        text = await request.text() if request.can_read_body else ""
        try:
            parsed: Any = json.loads(text) if text else None
        except ValueError:
            parsed = None
        auth = request.headers.get("Authorization", "")
        key_name = None
        if auth.startswith("Bearer "):
            token = auth.removeprefix("Bearer ").strip()
            key_name = next((n for n, s in self.keys.items() if s == token), None)
        rec = RecordedRequest(
            route=route,
            method=request.method,
            path=request.path,
            json=parsed,
            text=text,
            key_name=key_name,
            user_agent=request.headers.get("User-Agent"),
            content_type=request.headers.get("Content-Type"),
        )
        self.requests.append(rec)
        forced = None
        queue = self._forced.get(route)
        if queue:
            forced = queue[0]
            forced.remaining -= 1
            if forced.remaining <= 0:
                queue.popleft()
        return rec, forced

    @staticmethod
    def _forced_response(forced: _Forced) -> web.Response | None:
        if forced.status is None and forced.body is None:
            return None
        status = forced.status or 200
        if isinstance(forced.body, dict | list):
            return web.json_response(forced.body, status=status)
        if isinstance(forced.body, bytes):
            return web.Response(body=forced.body, status=status, content_type=forced.content_type)
        text = "" if forced.body is None else str(forced.body)
        return web.Response(body=text.encode(), status=status, headers={"Content-Type": forced.content_type})

    async def _answer(
        self, request: web.Request, route: str, logic: Callable[[RecordedRequest], web.Response]
    ) -> web.Response:
        rec, forced = await self._begin(request, route)
        if forced is not None:
            if forced.delay:
                await asyncio.sleep(forced.delay)
            resp = self._forced_response(forced)
            if resp is not None:
                rec.status = resp.status
                return resp
        resp = logic(rec)
        rec.status = resp.status
        return resp

    def _gate(self, rec: RecordedRequest) -> web.Response | None:
        """Authentication, then the per-key hourly budget (which every accepted call uses)."""
        if rec.key_name is None:
            return _err(401, "LOGIN_REQUIRED", "Authentication required")
        if self.rate_limit is not None:
            now = self.clock()
            window = self._window.setdefault(rec.key_name, deque())
            while window and window[0] <= now - self.rate_window:
                window.popleft()
            if len(window) >= self.rate_limit:
                return web.json_response(RATE_LIMIT_BODY, status=429)
            window.append(now)
        return None

    # ------------------------------------------------------------------ routes

    async def _generate(self, request: web.Request) -> web.Response:
        return await self._answer(request, "generate", self._generate_logic)

    async def _status(self, request: web.Request) -> web.Response:
        return await self._answer(request, "status", self._status_logic)

    async def _video(self, request: web.Request) -> web.Response:
        def logic(rec: RecordedRequest) -> web.Response:
            task = self.tasks.get(request.match_info["task_id"])
            if task is None or task.state != "completed":
                return web.Response(status=404, text="Not Found")
            size = task.script.video_size if task.script.video_size is not None else self.video_size
            return web.Response(body=_mp4_bytes(size), content_type="video/mp4")

        return await self._answer(request, "video", logic)

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
        price = PRICES[(tier, int(duration))]
        if self.credits is not None:
            if self.credits < price:
                # The documented 402 body: no "success" field (A5).
                return _err(402, "INSUFFICIENT_CREDITS", "Insufficient credits", requiredCredits=price)
            self.credits -= price
        script = self._scripts.popleft() if self._scripts else self.default_script
        task = FakeTask(
            task_id=f"task_{uuid.uuid4().hex[:12]}",
            key_name=rec.key_name or "",
            body=dict(body),
            tier=tier,
            duration=int(duration),
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
                    "generationTime": script.generation_time,
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
        body = rec.json
        task_id = body.get("taskId") if isinstance(body, dict) else None
        if not isinstance(task_id, str) or not task_id:
            return _err(400, "TASK_ID_REQUIRED", "Task ID is required")
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
                    "generationTime": task.script.generation_time,
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

    def _advance(self, task: FakeTask) -> str:
        """Move ``task`` along its script; return the stage word to report while processing."""
        stages = task.script.stages or ("generating",)
        if task.state != "processing":
            return stages[-1]
        if task.script.advance == "time":
            index = int((self.clock() - task.created_at) / task.script.stage_seconds)
        else:
            index = task.polls - 1
        if index < len(task.script.stages) or task.script.outcome == "never":
            return stages[min(index, len(stages) - 1)]
        if task.script.outcome == "completed":
            task.state = "completed"
        else:
            self._fail(task)
        return stages[-1]

    def _fail(self, task: FakeTask) -> None:
        task.state = "failed"
        if not task.refunded and self.credits is not None:
            self.credits += task.price  # "credits are refunded automatically when generation fails"
        task.refunded = True
