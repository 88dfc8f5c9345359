"""A fake nanophoto.ai SeeDance 1.5 Pro API: a real aiohttp server on 127.0.0.1 (docs/vendors.md,
"nanophoto SeeDance 1.5 Pro").

Only the generate body is published, and the fake is strict about it: every required field
(``prompt`` of at most 1000 characters, ``mode``, ``aspectRatio`` as ``portrait``/``landscape``,
``resolution``, ``duration`` as the string ``"4"``/``"8"``/``"12"``), booleans for ``generateAudio``
and ``fixedLens``, public ``imageUrls`` for ``imageToVideo`` — at most ``max_images`` of them — and the
published API prices (audio doubles them). Everything unpublished is Sora 2's shape (S8): the
accepted, processing, completed and failed bodies, the error codes, ``TaskScript``. The status body
the fake takes is a setting, ``status_form``: ``"taskId"`` (``{"taskId": "…"}``, the default) or
``"taskIds"`` (``{"taskIds": ["…"]}``); the other form is answered as a missing id (400
``TASK_ID_REQUIRED`` / ``TASK_IDS_REQUIRED``)::

    async with FakeNanophotoSeedance(status_form="taskIds") as fake:
        fake.script_next(TaskScript(stages=("queued", "generating")))
        provider = NanophotoSeedance(fake.profile(), http)

Routes, keys, the hourly budget and its 429, ``credits``, ``fail_next``/``force``/…, ``stop_serving``
and the recorded requests are ``FakeNanophoto``'s (``tests/fakes/nanophoto.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from aiohttp import web

from tests.fakes.nanophoto import RATE_LIMIT_BODY, FakeNanophoto, RecordedRequest, TaskScript, _err

__all__ = ["GENERATE_PATH", "PRICES", "RATE_LIMIT_BODY", "STATUS_PATH", "FakeNanophotoSeedance", "TaskScript"]

GENERATE_PATH = "/api/seedance-1-5-pro/generate"
STATUS_PATH = "/api/seedance-1-5-pro/check-status"
MODEL = "seedance-1.5-pro"
# API credits without audio (the page's "API" column), by resolution and seconds.
PRICES: dict[tuple[str, str], int] = {
    ("480p", "4"): 2,
    ("480p", "8"): 4,
    ("480p", "12"): 6,
    ("720p", "4"): 4,
    ("720p", "8"): 8,
    ("720p", "12"): 12,
    ("1080p", "4"): 8,
    ("1080p", "8"): 16,
    ("1080p", "12"): 22,
}


class FakeNanophotoSeedance(FakeNanophoto):
    """The fake SeeDance server; arguments as ``FakeNanophoto``'s plus ``status_form`` and ``max_images``."""

    KIND = "nanophoto_seedance"
    PROFILE_NAME = "nano-seedance"

    def __init__(
        self,
        keys: Mapping[str, str] | None = None,
        *,
        status_form: Literal["taskId", "taskIds"] = "taskId",
        max_images: int | None = None,  # None: no maximum (none is published)
        **options: Any,  # credits, rate_limit, rate_window, clock, default_script, video_size
    ) -> None:
        super().__init__(keys, **options)
        self.status_form = status_form
        self.max_images = max_images

    def _add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_post(GENERATE_PATH, self._route("generate", self._seedance_generate))
        router.add_post(STATUS_PATH, self._route("status", self._status_logic))
        self._add_video_route(router)

    def _seedance_generate(self, rec: RecordedRequest) -> web.Response:
        if (gate := self._gate(rec)) is not None:
            return gate
        body = rec.json if isinstance(rec.json, dict) else {}
        prompt = body.get("prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            return _err(400, "PROMPT_REQUIRED", "Prompt is required")
        if len(prompt) > 1000:
            return _err(400, "INVALID_INPUT", "Prompt must be at most 1000 characters")
        mode, ratio = body.get("mode"), body.get("aspectRatio")
        if mode not in ("textToVideo", "imageToVideo") or ratio not in ("portrait", "landscape"):
            return _err(400, "INVALID_INPUT", "mode and aspectRatio (portrait or landscape) are required")
        resolution, duration = body.get("resolution"), body.get("duration")
        if (
            not isinstance(resolution, str)
            or not isinstance(duration, str)
            or (resolution, duration) not in PRICES
        ):
            return _err(
                400, "INVALID_INPUT", 'resolution (480p/720p/1080p) and duration ("4"/"8"/"12") are required'
            )
        audio, lens = body.get("generateAudio", False), body.get("fixedLens", False)
        if not isinstance(audio, bool) or not isinstance(lens, bool):
            return _err(400, "INVALID_INPUT", "generateAudio and fixedLens must be booleans")
        urls = body.get("imageUrls")
        if mode == "imageToVideo":
            if not urls:
                return _err(400, "IMAGE_REQUIRED", "Image is required for imageToVideo mode")
            if not isinstance(urls, list) or not all(
                isinstance(u, str) and u.startswith(("http://", "https://")) for u in urls
            ):
                return _err(400, "IMAGE_URLS_REQUIRED", "API requires imageUrls (public URLs), not base64")
            if self.max_images is not None and len(urls) > self.max_images:
                return _err(400, "INVALID_INPUT", f"At most {self.max_images} image(s)")
        price = PRICES[(resolution, duration)] * (2 if audio else 1)
        return self._start(rec, body, MODEL, int(duration), price)

    def _task_id_of(self, body: dict[str, Any]) -> Any:
        """``status_form``'s field; the other form is a missing id (so its 400 names the right field)."""
        if self.status_form == "taskId":
            return body.get("taskId")
        ids = body.get("taskIds")
        return ids[0] if isinstance(ids, list) and len(ids) == 1 else None

    def _no_task_id(self) -> web.Response:
        if self.status_form == "taskId":
            return super()._no_task_id()
        return _err(400, "TASK_IDS_REQUIRED", "taskIds is required")
