"""A fake nanophoto.ai Sora 2 TVC ad API: a real aiohttp server on 127.0.0.1 (docs/vendors.md,
"nanophoto TVC").

It speaks the documented protocol with the documented bodies (the exact step bodies of the docs, the
failed body as HTTP 500, the 402 envelope with ``requiredCredits: 8`` and no ``success``, the
exact 429 text), is strict about what it accepts (Bearer key, ``adTheme``, string durations,
public reference-image URLs only) and is scriptable per test::

    async with FakeNanophotoTvc(credits=16) as fake:
        fake.script_next(TvcScript(storyboard="early", outcome="failed", at_step=2))
        fake.fail_next("status", status=503)          # the next status check gets a 503
        provider = NanophotoTvc(fake.profile(), http)
        ...
        assert fake.calls("status")[0].json == {"recordId": task.remote_id}

It is ``FakeNanophoto`` (``tests/fakes/nanophoto.py``) with the TVC routes: the plumbing — Bearer
check (401 ``LOGIN_REQUIRED``), the per-key hourly budget (``RATE_LIMIT_BODY`` on 429; generate and
status both count), ``force``/``fail_next``/``error_200_next``/``malformed_next``/``slow_next``,
the recorded requests (``requests``, ``calls``, ``count``, ``calls_per_key``) and ``api_key`` —
is inherited unchanged (most of it from ``FakeVendor``, ``tests/fakes/vendor.py``).

Routes are named ``"generate"``, ``"status"``, ``"video"`` (``GET /videos/{recordId}.mp4``) and
``"image"`` (``GET /images/sora-tvc/storyboard-{recordId}.png``); the video and the storyboard PNG
are served by the fake itself, public like the vendor's CDN, once they exist.

Readings where the vendor documents nothing: a status check without ``recordId``/``taskId`` is
HTTP 400 ``INVALID_INPUT``; a base64/``data:`` reference image (or an inline image field) is
``REFERENCE_IMAGE_URL_REQUIRED`` (A3); a JSON ``null`` optional field counts as absent.
"""

from __future__ import annotations

import struct
import uuid
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from aiohttp import web

from tests.fakes.nanophoto import (
    DEFAULT_KEYS,
    RATE_LIMIT_BODY,
    FakeClock,
    FakeNanophoto,
    RecordedRequest,
    _err,
)
from tests.fakes.vendor import not_found

__all__ = [
    "DEFAULT_KEYS",
    "PRICE",
    "RATE_LIMIT_BODY",
    "STEP_NAMES",
    "FakeClock",
    "FakeNanophotoTvc",
    "FakeRecord",
    "TvcScript",
    "storyboard_png",
    "storyboard_prompt_for",
]

Route = Literal["generate", "status", "video", "image"]
Outcome = Literal["completed", "failed", "never"]

GENERATE_PATH = "/api/sora-2-tvc/generate"
STATUS_PATH = "/api/sora-2-tvc/check-status"

PRICE = 8  # credits, for 10 s and 15 s alike (A4)
STEP_NAMES: dict[int, str] = {
    1: "Generating Storyboard Prompt",
    2: "Generating Storyboard",
    3: "Generating Ad Video",
}
_INLINE_IMAGE_FIELDS = ("referenceImage", "referenceImageBase64", "imageBase64", "imageData", "image")
_SCENES = (
    "Opening hook",
    "Product reveal",
    "Close-up detail",
    "In use",
    "Lifestyle moment",
    "Benefit callout",
    "Social proof",
    "Hero shot",
    "Logo and call to action",
)


def storyboard_prompt_for(theme: str) -> str:
    """The fake's nine-scene (SC1-SC9) storyboard script for an ad theme."""
    return "\n".join(f"SC{i}: {scene} — {theme}" for i, scene in enumerate(_SCENES, 1))


def storyboard_png(width: int = 3, height: int = 3) -> bytes:
    """A valid, tiny greyscale PNG (a stand-in for the 3×3 line-art storyboard)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes((255 if (x + y) % 2 else 0) for x in range(width)) for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


@dataclass(frozen=True)
class TvcScript:
    """How one TVC record behaves.

    The pipeline shows step 1, 2, 3 in order. With ``advance="poll"`` step *s* is reported by
    ``polls_per_step[s-1]`` consecutive status checks (0 skips it), and the check after the last
    step shows the outcome; with ``advance="time"`` step *s* lasts ``seconds_per_step[s-1]`` on the
    fake's clock. During step 3 ``videoTaskProgress`` walks through ``video_progress``.

    ``outcome``: ``"completed"``; ``"failed"`` right after step ``at_step`` (so ``at_step=2`` shows
    steps 1 and 2, then the failed body); ``"never"`` stays at step ``at_step`` forever.
    ``storyboard``: what the generate response says about the storyboard — ``"late"`` nothing (the
    fields come with steps 2 and 3), ``"early"`` both fields (the documented example), ``"null"``
    both present as JSON null (A1). ``task_id_in_create=False`` leaves ``taskId`` out of it.
    ``immediate``: the generate response itself already says ``completed``.
    """

    polls_per_step: tuple[int, int, int] = (1, 1, 1)
    advance: Literal["poll", "time"] = "poll"
    seconds_per_step: tuple[float, float, float] = (30.0, 30.0, 60.0)
    video_progress: tuple[str, ...] = ("generating",)
    storyboard: Literal["late", "early", "null"] = "late"
    task_id_in_create: bool = True
    outcome: Outcome = "completed"
    at_step: int = 3
    immediate: bool = False
    fail_status: int = 500  # A6: GENERATION_FAILED is documented as HTTP 500
    fail_error: str = "Video generation failed"
    fail_code: str = "GENERATION_FAILED"
    generation_time: int | None = None  # the ``generationTime`` reported; None: what it really took
    video_size: int | None = None  # None: the fake's default

    def __post_init__(self) -> None:
        if not 1 <= self.at_step <= 3:
            raise ValueError("at_step must be 1, 2 or 3")


@dataclass
class FakeRecord:
    record_id: str
    task_id: str
    key_name: str
    body: dict[str, Any]
    theme: str
    duration: int
    price: int
    script: TvcScript
    created_at: float
    polls: int = 0
    state: Literal["processing", "completed", "failed"] = "processing"
    step: int = 0  # the last step reported (0: none yet)
    image_ready: bool = False  # the storyboard PNG exists (step 3 reached, or given early)
    refunded: bool = False


class FakeNanophotoTvc(FakeNanophoto):
    """The fake TVC server. ``async with FakeNanophotoTvc(...) as fake`` or ``start()``/``stop()``.

    Arguments as ``FakeNanophoto``: ``keys`` (name -> secret, default ``DEFAULT_KEYS``), ``credits``
    (None = unlimited), ``rate_limit`` per ``rate_window`` seconds per key (default 100/h),
    ``clock``; ``default_script`` is a ``TvcScript`` used when no ``script_next`` is queued.
    """

    ROUTES = ("generate", "status", "video", "image")
    KIND = "nanophoto_tvc"
    PROFILE_NAME = "nano-tvc"

    def __init__(
        self,
        keys: Mapping[str, str] | None = None,
        *,
        default_script: TvcScript | None = None,
        **options: Any,  # credits, rate_limit, rate_window, clock, video_size: as FakeNanophoto's
    ) -> None:
        super().__init__(keys, **options)
        self.default_tvc_script = default_script or TvcScript()
        self.records: dict[str, FakeRecord] = {}

    def _add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_post(GENERATE_PATH, self._route("generate", self._tvc_generate_logic))
        router.add_post(STATUS_PATH, self._route("status", self._tvc_status_logic))
        self._add_video_route(router)
        router.add_get("/images/sora-tvc/storyboard-{record_id}.png", self._tvc_image)

    # ------------------------------------------------------------------ helpers for tests

    def _jobs(self) -> Mapping[str, Any]:
        return self.records

    def storyboard_image_url(self, record_id: str) -> str:
        return f"{self.base_url}/images/sora-tvc/storyboard-{record_id}.png"

    def record(self, record_id: str) -> FakeRecord:
        return self.records[record_id]

    # ------------------------------------------------------------------ scripting

    def _next_script(self) -> TvcScript:
        """The next ``script_next`` script, else ``default_tvc_script`` (``default_script`` is a task's)."""
        return self._scripts.popleft() if self._scripts else self.default_tvc_script

    def finish(self, record_id: str, outcome: Literal["completed", "failed"] = "completed") -> None:
        """End a record now, whatever its script says; the next status check reports it."""
        record = self.records[record_id]
        if outcome == "completed":
            record.state = "completed"
            record.step = 3
            record.image_ready = True
        else:
            self._fail_record(record)

    # ------------------------------------------------------------------ routes

    async def _tvc_image(self, request: web.Request) -> web.Response:
        def logic(rec: RecordedRequest) -> web.Response:
            record = self.records.get(request.match_info["record_id"])
            if record is None or not record.image_ready:
                return not_found()
            return web.Response(body=storyboard_png(), content_type="image/png")

        return await self._answer(request, "image", logic)

    def _tvc_generate_logic(self, rec: RecordedRequest) -> web.Response:
        if (gate := self._gate(rec)) is not None:
            return gate
        body = rec.json
        if not isinstance(body, dict):
            return _err(400, "INVALID_INPUT", "Invalid request body")
        theme = body.get("adTheme")
        if not isinstance(theme, str) or not theme.strip():
            return _err(400, "INVALID_INPUT", "adTheme is required")
        duration = body.get("videoDuration")
        duration = "10" if duration is None else duration
        if not isinstance(duration, str) or duration not in ("10", "15"):
            return _err(400, "INVALID_INPUT", 'Invalid videoDuration. Must be "10" or "15"')
        aspect = body.get("aspectRatio")
        if aspect is not None and aspect not in ("portrait", "landscape"):
            return _err(400, "INVALID_INPUT", "Invalid aspectRatio. Must be portrait or landscape")
        voiceover = body.get("voiceoverScript")
        if voiceover is not None and not isinstance(voiceover, str):
            return _err(400, "INVALID_INPUT", "voiceoverScript must be a string")
        ref = body.get("referenceImageUrl")
        inline = any(body.get(k) is not None for k in _INLINE_IMAGE_FIELDS)
        if inline or (
            ref is not None
            and (not isinstance(ref, str) or not ref.startswith(("http://", "https://")) or ";base64," in ref)
        ):
            return _err(
                400,
                "REFERENCE_IMAGE_URL_REQUIRED",
                "API requires referenceImageUrl (a public URL), not base64",
            )
        if self.credits is not None:
            if self.credits < PRICE:
                # The documented 402 body: no "success" field (A5).
                return _err(402, "INSUFFICIENT_CREDITS", "Insufficient credits", requiredCredits=PRICE)
            self.credits -= PRICE
        script = self._next_script()
        hex_id = uuid.uuid4().hex[:12]
        record = FakeRecord(
            record_id=f"tvc_{hex_id}",
            task_id=f"video_task_{hex_id}",
            key_name=rec.key_name or "",
            body=dict(body),
            theme=theme,
            duration=int(duration),
            price=PRICE,
            script=script,
            created_at=self.clock(),
        )
        self.records[record.record_id] = record
        answer: dict[str, Any] = {"success": True, "status": "processing"}
        if script.task_id_in_create:
            answer["taskId"] = record.task_id
        answer["recordId"] = record.record_id
        if script.immediate:
            record.state, record.step, record.image_ready = "completed", 3, True
            answer["status"] = "completed"
            answer.update(self._completed_body(record))
            return web.json_response(answer)
        if script.storyboard == "early":
            record.image_ready = True
            answer["storyboardPrompt"] = storyboard_prompt_for(theme)
            answer["storyboardImageUrl"] = self.storyboard_image_url(record.record_id)
        elif script.storyboard == "null":
            answer["storyboardPrompt"] = None
            answer["storyboardImageUrl"] = None
        return web.json_response(answer)

    def _tvc_status_logic(self, rec: RecordedRequest) -> web.Response:
        if (gate := self._gate(rec)) is not None:
            return gate
        body = rec.json if isinstance(rec.json, dict) else {}
        record_id, task_id = body.get("recordId"), body.get("taskId")
        if isinstance(record_id, str) and record_id:
            record = self.records.get(record_id)
        elif isinstance(task_id, str) and task_id:
            record = next((r for r in self.records.values() if r.task_id == task_id), None)
        else:
            return _err(400, "INVALID_INPUT", "recordId or taskId is required")
        if record is None:
            return _err(404, "RECORD_NOT_FOUND", "Record not found")
        if record.key_name != rec.key_name:
            return _err(403, "UNAUTHORIZED", "Unauthorized")
        record.polls += 1
        progress = self._advance(record)
        if record.state == "completed":
            return web.json_response(
                {"success": True, "status": "completed", "recordId": record.record_id}
                | self._completed_body(record)
            )
        if record.state == "failed":
            return web.json_response(
                {
                    "success": False,
                    "status": "failed",
                    "error": record.script.fail_error,
                    "errorCode": record.script.fail_code,
                    "recordId": record.record_id,
                },
                status=record.script.fail_status,
            )
        return web.json_response(self._step_body(record, progress))

    # ------------------------------------------------------------------ bodies (the documented shapes)

    def _step_body(self, record: FakeRecord, progress: str) -> dict[str, Any]:
        step = record.step
        body: dict[str, Any] = {
            "success": True,
            "status": "processing",
            "recordId": record.record_id,
            "currentStep": step,
            "stepName": STEP_NAMES[step],
        }
        if step >= 2:
            body["storyboardPrompt"] = storyboard_prompt_for(record.theme)
        if step >= 3:
            body["storyboardImageUrl"] = self.storyboard_image_url(record.record_id)
            body["videoTaskProgress"] = progress
        return body

    def _completed_body(self, record: FakeRecord) -> dict[str, Any]:
        return {
            "currentStep": 3,
            "stepName": "Completed",
            "storyboardPrompt": storyboard_prompt_for(record.theme),
            "storyboardImageUrl": self.storyboard_image_url(record.record_id),
            "videoUrl": self.video_url(record.record_id),
            "generationTime": self._record_time(record),
        }

    def _record_time(self, record: FakeRecord) -> int:
        """``generationTime``: the script's, else how long the record took on the fake's clock."""
        script = record.script
        if script.generation_time is not None:
            return script.generation_time
        if script.advance == "time" and not script.immediate:
            return round(sum(script.seconds_per_step))
        return round(self.clock() - record.created_at)

    # ------------------------------------------------------------------ the pipeline

    def _advance(self, record: FakeRecord) -> str:
        """Move ``record`` along its script; return the ``videoTaskProgress`` word for step 3."""
        script = record.script
        words = script.video_progress or ("generating",)
        if record.state != "processing":
            return words[-1]
        last = 3 if script.outcome == "completed" else script.at_step
        if script.advance == "time":
            position: float = self.clock() - record.created_at
            lengths: tuple[float, ...] = script.seconds_per_step
        else:
            position = record.polls - 1
            lengths = tuple(float(n) for n in script.polls_per_step)
        start = 0.0
        for step in range(1, last + 1):
            length = lengths[step - 1]
            if position < start + length:
                self._show(record, step)
                if script.advance == "time":
                    index = int((position - start) / length * len(words))
                else:
                    index = int(position - start)
                return words[min(index, len(words) - 1)]
            start += length
        if script.outcome == "never":
            self._show(record, last)
            return words[-1]
        if script.outcome == "completed":
            record.state, record.step, record.image_ready = "completed", 3, True
        else:
            self._fail_record(record)
        return words[-1]

    @staticmethod
    def _show(record: FakeRecord, step: int) -> None:
        record.step = step
        if step >= 3:
            record.image_ready = True

    def _fail_record(self, record: FakeRecord) -> None:
        record.state = "failed"
        if not record.refunded and self.credits is not None:
            self.credits += record.price  # "credits are refunded automatically when generation fails"
        record.refunded = True
