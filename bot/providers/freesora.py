"""freesoragenerator.com "Sora 2 Pro API", profile kinds ``freesora`` and ``freesora-url``: text, image
and storyboard videos.

https://freesoragenerator.com/en/sora-2-pro-api; docs/vendors.md, "freesoragenerator sora-pro".
Wire protocol: ``POST /api/v1/video/sora-pro`` creates a task (``data.taskId``), then
``POST /api/video-generations/check-result`` with ``{"taskId"}`` until ``data.status`` is
``succeeded`` (``result_url``) or ``failed``. ``POST /api/get-user-credits`` tells the balance and
whether the account is VIP. Every answer is the envelope ``{code, message, data}``. Tiers, vendor
models, their rules and prices are in ``bot.providers.freesora_capabilities``.

Images go out as ``imageData`` (a Base64 data URL of the downloaded image, the vendor's preferred
field) unless the profile's kind is ``freesora-url``, which sends the public ``imageUrl`` instead
(``Capabilities.image_by_url``; ProviderProfile has no field for it, and a second kind needs no
schema change). The readings we rely on (docs/vendors.md, "freesoragenerator sora-pro"):

- B1: ``pending`` → queued, ``running`` → running, ``succeeded`` / ``failed`` are terminal; any other
  word counts as running (and is logged). ``result_url`` (falling back to ``result_urls[0]``) is
  trusted only once ``succeeded``.
- B3/B4: ``nFrames`` is always sent, as a string: ``"10"``/``"15"``, and ``"25"`` for storyboards.
- B5: ``removeWatermark`` only for non-stable, non-storyboard models: ``true`` unless the member
  asked to keep the watermark; the ``watermark`` option is refused where it cannot apply.
- B6: ``isPublic: false`` (the ``private`` option) needs a VIP account; ``get-user-credits`` is asked
  first (cached briefly) and a non-VIP account refuses the job before anything is billed.
- B7: ``size`` (``standard``/``high``, the ``high_quality`` option) only for pro text/image models.
- B8: storyboard shots go out as ``{"Scene", "duration"}``; every duration > 0 and they must add up
  to ``nFrames`` (checked before the call, naming the shot).
- B9: the task id is ``data.taskId``, else ``data.id``; success is ``code == 0``, never ``message``.
- B10: an error is HTTP >= 400 *or* HTTP 200 with ``code != 0`` (read in ``freesora_errors``).
- Polling errors are not task failures: a non-zero ``code`` while polling is retryable, and a
  concurrency refusal is reported as HTTP 429 so the engine requeues the job and rests the key.
"""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from bot.i18n import Msg, msg
from bot.media import sniff
from bot.providers.adapter import StatusWords, VendorAdapter
from bot.providers.base import (
    AnyRequest,
    ApiKey,
    ImageToVideo,
    ProviderError,
    RemoteTask,
    StoryboardRequest,
    TaskError,
    TaskSnapshot,
    TaskState,
    TextToVideo,
    WireBody,
    scrub,
)
from bot.providers.faults import malformed
from bot.providers.freesora_capabilities import (
    SIZED_MODELS,
    WATERMARK_MODELS,
    FreeSoraCapabilities,
    freesora_capabilities,
)
from bot.providers.freesora_errors import VIP_REQUIRED, freesora_error
from bot.providers.http import HttpResponse, VendorHttp
from bot.providers.images import fetch_image, image_unusable
from bot.providers.profiles import ProviderProfile

log = logging.getLogger(__name__)

CREATE_PATH = "/api/v1/video/sora-pro"
STATUS_PATH = "/api/video-generations/check-result"
CREDITS_PATH = "/api/get-user-credits"

VIP_CACHE_SECONDS = 60.0
IMAGE_MAX_BYTES = 10 * 1024 * 1024
IMAGE_TIMEOUT = 30.0
IMAGE_REFUSED = "provider.freesora.image_unusable"  # one message, whatever is wrong with the image

FREESORA_WORDS = StatusWords(  # B1
    queued=frozenset({"pending", "queued", "submitted", "waiting"}),
    running=frozenset({"running", "processing", "in_progress", "generating"}),
    succeeded=frozenset({"succeeded"}),
    failed=frozenset({"failed"}),
)


class ShotWire(BaseModel):
    """One storyboard shot as the vendor spells it: ``Scene`` with a capital S (B8)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    Scene: str
    duration: int | float


class CreateBody(WireBody):
    """``POST /api/v1/video/sora-pro`` — field names are the vendor's; ``None`` fields are omitted."""

    model: str
    prompt: str | None = None
    imageData: str | None = None
    imageUrl: str | None = None
    aspectRatio: Literal["portrait", "landscape"]
    nFrames: Literal["10", "15", "25"]
    size: Literal["standard", "high"] | None = None
    removeWatermark: bool | None = None
    isPublic: bool | None = None
    shots: list[ShotWire] | None = None

    def summary(self) -> str:
        """What may be logged: never the prompt or the image bytes."""
        parts = [self.model, f"{self.nFrames} s", self.aspectRatio]
        if self.size:
            parts.append(f"size={self.size}")
        if self.isPublic is False:
            parts.append("private")
        if self.imageData is not None:
            parts.append("imageData")
        elif self.imageUrl is not None:
            parts.append("imageUrl")
        if self.shots is not None:
            parts.append(f"{len(self.shots)} shots")
        return ", ".join(parts)


def _percent(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return max(0, min(100, int(value)))
    if isinstance(value, str) and value.strip().isdigit():
        return max(0, min(100, int(value.strip())))
    return None


def _is_success_code(code: Any) -> bool:
    return (isinstance(code, int) and not isinstance(code, bool) and code == 0) or code == "0"


# --------------------------------------------------------------------------- adapter


class FreeSoraPro(VendorAdapter):
    """``VideoProvider`` for freesoragenerator's ``sora-pro`` API, bound to one profile."""

    vendor = "freesora"
    words = FREESORA_WORDS
    capabilities: FreeSoraCapabilities

    def __init__(
        self,
        profile: ProviderProfile,
        http: VendorHttp,
        *,
        image_transport: Literal["data", "url"] | None = None,
        clock: Callable[[], float] = time.monotonic,
        vip_cache_seconds: float = VIP_CACHE_SECONDS,
    ) -> None:
        super().__init__(profile, http)
        by_url = (image_transport or ("url" if profile.kind.endswith("-url") else "data")) == "url"
        self.capabilities = freesora_capabilities(
            profile.models, profile.durations, profile=profile.name, image_by_url=by_url
        )
        self._clock = clock
        self._vip_ttl = vip_cache_seconds
        self._accounts: dict[str, tuple[float, int, bool]] = {}  # key name -> (fetched at, credits, vip)

    # ------------------------------------------------------------------ account

    async def account(self, key: ApiKey) -> tuple[int, bool]:
        """``(left_credits, is_vip)`` for ``key``'s account, asked now (also refreshes the VIP cache)."""
        resp = await self._post_json(CREDITS_PATH, {}, key, "get-user-credits", submit=False)
        data = self._data(resp, "get-user-credits", key, submit=False)
        credits, vip = data.get("left_credits"), data.get("is_vip")
        if isinstance(credits, bool) or not isinstance(credits, int | float) or not isinstance(vip, bool):
            raise self._logged(
                malformed(f"credits answer lacks left_credits/is_vip: {sorted(data)}", resp.status),
                "get-user-credits",
                key,
            )
        self._accounts[key.name] = (self._clock(), int(credits), vip)
        return int(credits), vip

    async def _is_vip(self, key: ApiKey) -> bool:
        cached = self._accounts.get(key.name)
        if cached is not None and self._clock() - cached[0] < self._vip_ttl:
            return cached[2]
        return (await self.account(key))[1]

    # ------------------------------------------------------------------ requests

    async def build_create_body(self, req: AnyRequest, key: ApiKey) -> CreateBody:
        """The create body for a validated request (downloads the image for ``imageData``)."""
        model = self.capabilities.wire_model(req)
        opts = req.options
        fields: dict[str, Any] = {
            "model": model,
            "aspectRatio": req.orientation.value,
            "nFrames": str(req.duration),
        }
        if isinstance(req, TextToVideo | ImageToVideo):
            fields["prompt"] = req.prompt
        if isinstance(req, ImageToVideo):
            if self.capabilities.image_by_url:
                fields["imageUrl"] = req.image_url
            else:
                fields["imageData"] = await self._image_data(req.image_url)
        if isinstance(req, StoryboardRequest):
            # The storyboard prompt is optional and not forwarded upstream: not sent.
            fields["shots"] = [
                {"Scene": s.scene, "duration": int(s.duration) if s.duration.is_integer() else s.duration}
                for s in req.shots
            ]
        if model in SIZED_MODELS:
            fields["size"] = "high" if opts.high_quality else "standard"
        if model in WATERMARK_MODELS:
            fields["removeWatermark"] = opts.watermark is not True
        if opts.private:
            fields["isPublic"] = False
        return CreateBody.model_validate(fields)

    async def _image_data(self, url: str) -> str:
        got = await fetch_image(
            self.http, url, timeout_s=IMAGE_TIMEOUT, max_bytes=IMAGE_MAX_BYTES, refusal=IMAGE_REFUSED
        )
        mime = sniff(got.body)
        if mime is None:
            raise image_unusable(
                IMAGE_REFUSED, f"image is not PNG/JPEG/WebP (served as {got.content_type!r})"
            )
        return f"data:{mime};base64,{base64.b64encode(got.body).decode('ascii')}"

    async def preflight(self, req: AnyRequest, key: ApiKey) -> None:
        """B6: a private video needs a VIP account; ask (cached) before the member is charged."""
        if req.options.private and not await self._is_vip(key):
            detail = "private video asked for, but get-user-credits says is_vip=false"
            raise self._logged(VIP_REQUIRED.error(code="", detail=detail, http_status=None), "create", key)

    async def submit(self, req: AnyRequest, key: ApiKey) -> RemoteTask:
        self.capabilities.validate_request(req)
        await self.preflight(req, key)  # the key that creates may be another account than the one asked
        body = await self.build_create_body(req, key)
        resp = await self._post_json(CREATE_PATH, body.wire(), key, "create", submit=True)
        data = self._data(resp, "create", key, submit=True)
        remote_id = self._remote_id(
            data.get("taskId") or data.get("id"), resp, "create", key, field="data.taskId"
        )
        snapshot = self._snapshot(data, remote_id, key) if data.get("status") is not None else None
        log.info(
            "freesora %s: submitted %s with key %s -> task %s", self.name, body.summary(), key.name, remote_id
        )
        return RemoteTask(remote_id=remote_id, snapshot=snapshot)

    async def poll(self, task: RemoteTask, key: ApiKey) -> TaskSnapshot:
        resp = await self._post_json(
            STATUS_PATH, {"taskId": task.remote_id}, key, "check-result", submit=False
        )
        data = self._data(resp, "check-result", key, submit=False)
        snapshot = self._snapshot(data, task.remote_id, key)
        if snapshot is None:  # "succeeded" without any URL: ask again rather than deliver nothing
            raise self._logged(
                malformed("succeeded answer has no result_url", resp.status), "check-result", key
            )
        if snapshot.state is TaskState.FAILED:
            log.info(
                "freesora %s: task %s failed (key %s): %s; refunded=%s",
                self.name,
                task.remote_id,
                key.name,
                scrub(str(data.get("failure_reason") or data.get("error_message") or ""), key),
                data.get("credits_refunded"),
            )
        return snapshot

    # ------------------------------------------------------------------ reading answers

    def _status_error(self, resp: HttpResponse, route: str, key: ApiKey) -> ProviderError:
        return freesora_error(None, scrub(resp.text[:200], key), resp.status, polling=route == "check-result")

    def _data(self, resp: HttpResponse, route: str, key: ApiKey, *, submit: bool) -> dict[str, Any]:
        """The envelope's ``data`` when ``code == 0`` on HTTP < 400; otherwise a ``ProviderError``."""
        env = self._json_object(resp, route, key, submit=submit)
        code = env.get("code")
        message = env.get("message")
        text = scrub(message if isinstance(message, str) else str(message or ""), key)
        if resp.status >= 400 or not _is_success_code(code):
            if resp.status < 400 and "code" not in env:
                detail = f"HTTP {resp.status} envelope has no code: {sorted(env)}"
                raise self._logged(malformed(detail, resp.status, retryable=not submit), route, key)
            err = freesora_error(code, text, resp.status, polling=route == "check-result")
            raise self._logged(err, route, key)
        data = env.get("data")
        if not isinstance(data, dict):
            detail = f"HTTP {resp.status} envelope data is not an object"
            raise self._logged(malformed(detail, resp.status, retryable=not submit), route, key)
        return data

    def _snapshot(self, data: dict[str, Any], task_id: str, key: ApiKey) -> TaskSnapshot | None:
        state = self._state(str(data.get("status") or ""), task_id)
        if state is TaskState.SUCCEEDED:
            url = _result_url(data)
            if url is None:
                return None
            return TaskSnapshot(state=state, progress_pct=100, video_url=url, raw=data)
        if state is TaskState.FAILED:
            reason = scrub(str(data.get("failure_reason") or data.get("error_message") or ""), key).strip()
            said: str | Msg = (
                msg("provider.freesora.reason", reason=reason[:200].rstrip(".")) if reason else ""
            )
            refund: str | Msg = (
                msg("provider.freesora.refunded") if data.get("credits_refunded") is True else ""
            )
            failed = msg("provider.freesora.failed", said=said, refund=refund)
            error = TaskError(
                code="GENERATION_FAILED", message=failed.render(), key=failed.key, params=dict(failed.params)
            )
            return TaskSnapshot(state=state, error=error, raw=data)
        return TaskSnapshot(state=state, progress_pct=_percent(data.get("progress")), raw=data)


def _result_url(data: Mapping[str, Any]) -> str | None:
    url = data.get("result_url")
    if isinstance(url, str) and url.startswith(("http://", "https://")):
        return url
    urls = data.get("result_urls")
    if isinstance(urls, list) and urls and isinstance(urls[0], str) and urls[0]:
        return urls[0]
    results = data.get("results")  # the legacy sora-video sample: results[{url}]
    if isinstance(results, list) and results and isinstance(results[0], dict):
        first = results[0].get("url")
        if isinstance(first, str) and first:
            return first
    return None
