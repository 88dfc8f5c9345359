"""A fake freesoragenerator.com "Sora 2 Pro API": a real aiohttp server on 127.0.0.1 (docs/vendors.md,
"freesoragenerator sora-pro").

It speaks the unified envelope ``{code, message, data}`` — most errors on HTTP 200 with a non-zero
``code``, a few as HTTP 400 ``"Missing parameter."`` / 401 — bills credits per model and frames at
create and refunds them when a task fails (``credits_refunded: true``), enforces the 20-task
concurrency limit, and is strict about what it accepts (model names, ``nFrames`` strings, ``size`` /
``removeWatermark`` only where allowed, ``isPublic: false`` only for VIP, storyboard ``shots`` with
capital ``Scene`` adding up to ``nFrames``, well-formed ``imageData`` data URLs)::

    async with FakeFreeSora(credits=1000, is_vip=True) as fake:
        fake.script_next(TaskScript(steps=(("pending", 0), ("running", 40)), outcome="succeeded"))
        fake.error_200_next("status", code=5001, message="Upstream busy")  # one poll refused on HTTP 200
        fake.unavailable.add("sora-2-pro-storyboard")                      # "Model is temporarily unavailable"
        provider = FreeSoraPro(fake.profile(), http)
        ...
        assert fake.calls("create")[0].json["nFrames"] == "10"

Routes: ``"create"`` (``POST /api/v1/video/sora-pro``), ``"status"``
(``POST /api/video-generations/check-result``), ``"credits"`` (``POST /api/get-user-credits``),
``"video"`` (``GET /videos/{taskId}.mp4``, the fake's own public ``result_url``) and ``"image"``
(``GET /images/{name}``, images registered with ``add_image`` for image-to-video tests). Every
request is recorded as a ``RecordedRequest`` in ``fake.requests``. Every JSON answer has
``Content-Type: application/json`` exactly.

The fake's non-zero codes are its own (FSG publishes none); messages carry the words the
adapter's heuristics look for (credit, VIP, concurrent, unavailable, taskId).

The lifecycle, keys, ``profile()``, forced answers and recording are ``FakeVendor``'s
(``tests/fakes/vendor.py``); this module adds the FSG protocol: routes, the envelope (401 included),
validation, credits, refunds and the concurrency limit, and records each answer's envelope ``code``.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from aiohttp import web

from tests.fakes import vendor
from tests.fakes.vendor import FakeClock, FakeVendor, _Forced, json_response, not_found

__all__ = [
    "CREATE_PATH",
    "CREDITS_PATH",
    "DEFAULT_KEYS",
    "MODELS",
    "PNG_1X1",
    "PRICES",
    "STATUS_PATH",
    "FakeClock",
    "FakeFreeSora",
    "FakeTask",
    "RecordedRequest",
    "TaskScript",
    "envelope",
    "price_of",
]

Route = Literal["create", "status", "credits", "video", "image"]
Outcome = Literal["succeeded", "failed", "never"]

CREATE_PATH = "/api/v1/video/sora-pro"
STATUS_PATH = "/api/video-generations/check-result"
CREDITS_PATH = "/api/get-user-credits"

MODELS = (
    "sora-2-text-to-video",
    "sora-2-image-to-video",
    "sora-2-text-to-video-stable",
    "sora-2-image-to-video-stable",
    "sora-2-pro-text-to-video",
    "sora-2-pro-image-to-video",
    "sora-2-pro-storyboard",
)
STORYBOARD = "sora-2-pro-storyboard"
IMAGE_MODELS = frozenset(m for m in MODELS if "image-to-video" in m)
SIZED_MODELS = frozenset({"sora-2-pro-text-to-video", "sora-2-pro-image-to-video"})
NO_WATERMARK_FIELD = frozenset(m for m in MODELS if m.endswith("-stable") or m == STORYBOARD)
KNOWN_FIELDS = frozenset(
    {
        "model",
        "prompt",
        "imageData",
        "imageUrl",
        "aspectRatio",
        "nFrames",
        "size",
        "removeWatermark",
        "isPublic",
        "shots",
    }
)

# Credits per (model family, nFrames) — the latest table (docs/vendors.md, "freesoragenerator sora-pro").
PRICES: dict[tuple[str, str], int] = {
    ("sora-2", "10"): 100,
    ("sora-2", "15"): 150,
    ("pro", "10"): 375,
    ("pro", "15"): 675,
    ("storyboard", "10"): 375,
    ("storyboard", "15"): 675,
    ("storyboard", "25"): 875,
}

# The fake's own non-zero codes (none are published).
CODE_BAD_PARAM = 1001
CODE_MODEL = 1002
CODE_PROMPT = 1003
CODE_IMAGE = 1004
CODE_SHOTS = 1005
CODE_VIP = 1010
CODE_CREDITS = 1020
CODE_CONCURRENCY = 1029
CODE_UNAVAILABLE = 1030
CODE_TASK = 1040

DEFAULT_KEYS: dict[str, str] = {
    "key-a": "sk-fsg-test-aaaa-0123456789",
    "key-b": "sk-fsg-test-bbbb-9876543210",
}

PNG_1X1 = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


@dataclass(frozen=True)
class TaskScript:
    """How one task behaves.

    ``steps`` are ``(status word, progress)`` pairs reported before the outcome (any word: an
    unknown one tests the adapter's fallback). With ``advance="poll"`` the n-th check shows
    ``steps[n-1]`` and the check after the last step shows the outcome; with ``advance="time"`` each
    step lasts ``step_seconds`` on the fake's clock. ``"never"`` keeps showing the last step.
    ``immediate`` puts the outcome (succeeded/failed) in the create response itself.
    ``urls``: ``"result_url"`` fills both fields, ``"result_urls"`` only the list.
    ``task_id_field``: where the create answer puts the id (``"taskId"`` or ``"id"``, B9).
    """

    steps: tuple[tuple[str, int], ...] = (("pending", 0), ("running", 50))
    outcome: Outcome = "succeeded"
    immediate: bool = False
    advance: Literal["poll", "time"] = "poll"
    step_seconds: float = 1.0
    failure_reason: str = "Upstream generation failed"
    error_message: str | None = "generation failed"
    refund: bool = True
    urls: Literal["result_url", "result_urls"] = "result_url"
    task_id_field: Literal["taskId", "id"] = "taskId"
    video_size: int | None = None


@dataclass
class FakeTask:
    task_id: str
    key_name: str
    body: dict[str, Any]
    model: str
    n_frames: str
    price: int
    script: TaskScript
    created_at: float
    polls: int = 0
    state: Literal["active", "succeeded", "failed"] = "active"
    refunded: bool = False
    refund_trans_no: str | None = None


@dataclass(kw_only=True)
class RecordedRequest(vendor.RecordedRequest):
    code: Any = None  # the envelope's ``code`` answered, when JSON


@dataclass
class _Image:
    body: bytes
    content_type: str
    status: int = 200


def envelope(code: int, message: str, data: Any = None, *, status: int = 200) -> web.Response:
    return json_response({"code": code, "message": message, "data": data}, status)


def price_of(model: str, n_frames: str) -> int:
    family = "storyboard" if model == STORYBOARD else "pro" if model.startswith("sora-2-pro") else "sora-2"
    return PRICES[(family, n_frames)]


class FakeFreeSora(FakeVendor):
    """The fake server. ``await fake.start()`` / ``await fake.stop()`` or ``async with``.

    ``keys``: key name -> secret; all keys share one account. ``credits``: ``left_credits`` (None =
    unlimited; reported as 999999). ``is_vip``: the account's VIP flag (settable any time).
    ``max_concurrent``: active tasks allowed (None = no limit). ``clock``: for time-driven scripts.
    """

    ROUTES = ("create", "status", "credits", "video", "image")
    KEYED_ROUTES = ("create", "status", "credits")
    KIND = "freesora"
    PROFILE_NAME = "fsg"
    MALFORMED_TEXT = '{"code": 0, "message": "ok", "da'
    DEFAULT_KEYS = DEFAULT_KEYS
    RECORD = RecordedRequest
    FINISHED = "succeeded"

    def __init__(
        self,
        keys: Mapping[str, str] | None = None,
        *,
        credits: int | None = 100_000,
        is_vip: bool = False,
        max_concurrent: int | None = 20,
        clock: Callable[[], float] | None = None,
        default_script: TaskScript | None = None,
        video_size: int = 2048,
    ) -> None:
        super().__init__(
            keys, clock=clock, default_script=default_script or TaskScript(), video_size=video_size
        )
        self.credits = credits
        self.is_vip = is_vip
        self.max_concurrent = max_concurrent
        self.unavailable: set[str] = set()  # models answering "Model is temporarily unavailable"
        self.tasks: dict[str, FakeTask] = {}
        self.images: dict[str, _Image] = {}

    def _add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_post(CREATE_PATH, self._route("create", self._create_logic))
        router.add_post(STATUS_PATH, self._route("status", self._status_logic))
        router.add_post(CREDITS_PATH, self._route("credits", self._credits_logic))
        router.add_get("/images/{name}", self._image)
        self._add_video_route(router)

    def _jobs(self) -> Mapping[str, Any]:
        return self.tasks

    # ------------------------------------------------------------------ helpers for tests

    def _profile_fields(self) -> dict[str, Any]:
        return {"max_concurrent": self.max_concurrent}

    def add_image(
        self,
        name: str = "cat.png",
        body: bytes = PNG_1X1,
        *,
        content_type: str = "image/png",
        status: int = 200,
    ) -> str:
        """Serve ``body`` at ``/images/{name}`` (public, no key) and return its URL."""
        self.images[name] = _Image(body, content_type, status)
        return f"{self.base_url}/images/{name}"

    # ------------------------------------------------------------------ scripting

    def error_200_next(
        self, route: Route, *, code: int = 5000, message: str = "Internal error", times: int = 1
    ) -> None:
        """An error envelope on HTTP 200 — the vendor's usual way (B10)."""
        self.force(route, times=times, status=200, body={"code": code, "message": message, "data": None})

    def fail_next(
        self,
        route: Route,
        *,
        status: int = 500,
        code: int | None = None,
        message: str = "Internal Server Error",
        times: int = 1,
    ) -> None:
        """An HTTP error with the envelope (``code`` defaults to the HTTP status)."""
        body = {"code": status if code is None else code, "message": message, "data": None}
        self.force(route, times=times, status=status, body=body)

    def finish(self, task_id: str, outcome: Literal["succeeded", "failed"] = "succeeded") -> None:
        task = self.tasks[task_id]
        if outcome == "succeeded":
            task.state = "succeeded"
        else:
            self._fail(task)

    # ------------------------------------------------------------------ reading what happened

    @property
    def active(self) -> int:
        return sum(1 for t in self.tasks.values() if t.state == "active")

    # ------------------------------------------------------------------ plumbing

    def _unauthorized(self) -> web.Response:
        return envelope(401, "Unauthorized", status=401)

    def _after(self, rec: RecordedRequest, resp: web.Response, forced: _Forced | None) -> None:
        """Note the envelope ``code`` answered (from the forced body, or the JSON sent)."""
        body = None if forced is None else forced.body
        if body is None and resp.content_type == "application/json" and isinstance(resp.body, bytes):
            body = json.loads(resp.body)
        if isinstance(body, dict):
            rec.code = body.get("code")

    # ------------------------------------------------------------------ routes

    def _credits_logic(self, rec: RecordedRequest) -> web.Response:
        if (denied := self._auth(rec)) is not None:
            return denied
        left = 999_999 if self.credits is None else self.credits
        return envelope(0, "ok", {"left_credits": left, "is_vip": self.is_vip, "user_id": "u_fake"})

    async def _image(self, request: web.Request) -> web.Response:
        def logic(rec: RecordedRequest) -> web.Response:
            image = self.images.get(request.match_info["name"])
            if image is None:
                return not_found()
            return web.Response(
                body=image.body, status=image.status, headers={"Content-Type": image.content_type}
            )

        return await self._answer(request, "image", logic)

    def _create_logic(self, rec: RecordedRequest) -> web.Response:
        if (denied := self._auth(rec)) is not None:
            return denied
        body = rec.json
        if not isinstance(body, dict):
            return envelope(400, "Missing parameter.", status=400)
        if (problem := self._check_create(body)) is not None:
            return problem
        model = body["model"]
        n_frames = body.get("nFrames", "10")
        if model in self.unavailable:
            return envelope(CODE_UNAVAILABLE, "Model is temporarily unavailable")
        if self.max_concurrent is not None and self.active >= self.max_concurrent:
            return envelope(
                CODE_CONCURRENCY,
                f"Concurrent task limit reached ({self.max_concurrent}). Please wait for running tasks to finish.",
            )
        price = price_of(model, n_frames)
        if self.credits is not None:
            if self.credits < price:
                return envelope(CODE_CREDITS, f"Insufficient credits: {price} required, {self.credits} left")
            self.credits -= price
        script: TaskScript = self._next_script()
        task = FakeTask(
            task_id=uuid.uuid4().hex,
            key_name=rec.key_name or "",
            body=dict(body),
            model=model,
            n_frames=n_frames,
            price=price,
            script=script,
            created_at=self.clock(),
        )
        self.tasks[task.task_id] = task
        data: dict[str, Any] = {script.task_id_field: task.task_id}
        if script.immediate and script.outcome != "never":
            if script.outcome == "succeeded":
                task.state = "succeeded"
            else:
                self._fail(task)
            data.update(self._result(task, "", 0))
        return envelope(0, "ok", data)

    def _check_create(self, body: dict[str, Any]) -> web.Response | None:
        """The validation the vendor does "before billing"; ``None`` when the body is acceptable."""
        unknown = sorted(set(body) - KNOWN_FIELDS)
        if unknown:
            return envelope(CODE_BAD_PARAM, f"Unknown parameter: {unknown[0]}")
        model = body.get("model")
        if model is None:
            return envelope(400, "Missing parameter.", status=400)
        if model not in MODELS:
            return envelope(CODE_MODEL, f"Invalid model: {model}. Allowed: {', '.join(MODELS)}")
        prompt = body.get("prompt")
        if model != STORYBOARD and (not isinstance(prompt, str) or not prompt.strip()):
            return envelope(CODE_PROMPT, "Prompt is required")
        if prompt is not None and not isinstance(prompt, str):
            return envelope(CODE_BAD_PARAM, "prompt must be a string")
        has_image = "imageData" in body or "imageUrl" in body
        if model in IMAGE_MODELS:
            if not has_image:
                return envelope(
                    CODE_IMAGE, "Image is required for image-to-video models (imageData or imageUrl)"
                )
            if "imageData" in body and not _data_url_ok(body["imageData"]):
                return envelope(CODE_IMAGE, "imageData must be a base64 data URL (data:image/png;base64,...)")
            if "imageUrl" in body and not (
                isinstance(body["imageUrl"], str) and body["imageUrl"].startswith(("http://", "https://"))
            ):
                return envelope(CODE_IMAGE, "imageUrl must be a public http(s) URL")
        elif has_image:
            return envelope(CODE_IMAGE, f"{model} does not take an image")
        if body.get("aspectRatio", "landscape") not in ("portrait", "landscape"):
            return envelope(CODE_BAD_PARAM, "Invalid aspectRatio. Allowed: portrait, landscape")
        allowed_frames = ("10", "15", "25") if model == STORYBOARD else ("10", "15")
        n_frames = body.get("nFrames", "10")
        if not isinstance(n_frames, str) or n_frames not in allowed_frames:
            return envelope(
                CODE_BAD_PARAM, f"Invalid nFrames {n_frames!r}. Allowed: {', '.join(allowed_frames)}"
            )
        if "size" in body:
            if model not in SIZED_MODELS:
                return envelope(
                    CODE_BAD_PARAM, f"size is only supported for Pro text/image models, not {model}"
                )
            if body["size"] not in ("standard", "high"):
                return envelope(CODE_BAD_PARAM, "Invalid size. Allowed: standard, high")
        if "removeWatermark" in body:
            if model in NO_WATERMARK_FIELD:
                return envelope(CODE_BAD_PARAM, f"removeWatermark is not supported for {model}")
            if not isinstance(body["removeWatermark"], bool):
                return envelope(CODE_BAD_PARAM, "removeWatermark must be a boolean")
        if "isPublic" in body:
            if not isinstance(body["isPublic"], bool):
                return envelope(CODE_BAD_PARAM, "isPublic must be a boolean")
            if body["isPublic"] is False and not self.is_vip:
                return envelope(CODE_VIP, "VIP membership is required to create private videos")
        if model == STORYBOARD:
            return _check_shots(body.get("shots"), n_frames)
        if "shots" in body:
            return envelope(CODE_SHOTS, f"shots are only supported for {STORYBOARD}")
        return None

    def _status_logic(self, rec: RecordedRequest) -> web.Response:
        if (denied := self._auth(rec)) is not None:
            return denied
        body = rec.json
        task_id = body.get("taskId") if isinstance(body, dict) else None
        if not isinstance(task_id, str) or not task_id:
            return envelope(400, "Missing parameter.", status=400)
        task = self.tasks.get(task_id)
        if task is None:
            return envelope(CODE_TASK, f"Task not found for taskId {task_id}")
        task.polls += 1
        word, progress = self._advance(task)
        return envelope(0, "Success", self._result(task, word, progress))

    def _result(self, task: FakeTask, word: str, progress: int) -> dict[str, Any]:
        """The check-result ``data`` object (Apifox CheckResultData) for ``task``'s current state."""
        url = self.video_url(task.task_id)
        data: dict[str, Any] = {
            "taskId": task.task_id,
            "status": word,
            "progress": progress,
            "result_url": "",
            "result_urls": [],
            "failure_reason": "",
            "error_message": None,
            "credits_refunded": False,
            "refund_trans_no": None,
            "result_pid": None,
            "result_pids": [],
            "metadata": {},
        }
        if task.state == "succeeded":
            data.update(
                status="succeeded", progress=100, result_urls=[url], result_pid="s_" + task.task_id[:8]
            )
            data["result_pids"] = [data["result_pid"]]
            if task.script.urls == "result_url":
                data["result_url"] = url
        elif task.state == "failed":
            data.update(
                status="failed",
                failure_reason=task.script.failure_reason,
                error_message=task.script.error_message,
                credits_refunded=task.refunded,
                refund_trans_no=task.refund_trans_no,
            )
        return data

    def _advance(self, task: FakeTask) -> tuple[str, int]:
        """Move ``task`` along its script; return the ``(status word, progress)`` to report."""
        return self._walk(
            task, task.script.steps, (("running", 0),), task.script.step_seconds, done="succeeded"
        )

    def _fail(self, task: FakeTask) -> None:
        task.state = "failed"
        if task.script.refund and not task.refunded:
            if self.credits is not None:
                self.credits += task.price  # "failed jobs are refunded automatically"
            task.refunded = True
            task.refund_trans_no = "rf_" + task.task_id[:10]


def _data_url_ok(value: Any) -> bool:
    if not isinstance(value, str) or not value.startswith("data:image/"):
        return False
    head, sep, payload = value.partition(",")
    if (
        not sep
        or not head.endswith(";base64")
        or head[len("data:") : -len(";base64")]
        not in (
            "image/png",
            "image/jpeg",
            "image/webp",
        )
    ):
        return False
    try:
        return bool(base64.b64decode(payload, validate=True))
    except (binascii.Error, ValueError):
        return False


def _check_shots(shots: Any, n_frames: str) -> web.Response | None:
    if not isinstance(shots, list) or not shots:
        return envelope(CODE_SHOTS, "shots are required for sora-2-pro-storyboard")
    total = 0.0
    for n, shot in enumerate(shots):
        if not isinstance(shot, dict) or set(shot) != {"Scene", "duration"}:
            return envelope(CODE_SHOTS, f"shots[{n}] must be {{Scene, duration}} (Scene with a capital S)")
        if not isinstance(shot["Scene"], str) or not shot["Scene"].strip():
            return envelope(CODE_SHOTS, f"shots[{n}].Scene is required")
        duration = shot["duration"]
        if isinstance(duration, bool) or not isinstance(duration, int | float) or duration <= 0:
            return envelope(CODE_SHOTS, f"shots[{n}].duration must be a number > 0")
        total += duration
    if abs(total - int(n_frames)) > 1e-6:
        return envelope(CODE_SHOTS, f"shots durations add up to {total:g}, nFrames is {n_frames}")
    return None
