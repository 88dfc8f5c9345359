"""freesoragenerator.com "Sora 2 Pro API" (PROVIDERS.md §2): text, image and storyboard videos.

Wire protocol: ``POST /api/v1/video/sora-pro`` creates a task (``data.taskId``), then
``POST /api/video-generations/check-result`` with ``{"taskId"}`` until ``data.status`` is
``succeeded`` (``result_url``) or ``failed``. ``POST /api/get-user-credits`` tells the balance and
whether the account is VIP. Every answer is the envelope ``{code, message, data}``.

Tiers. A member picks a *tier*; the adapter derives the vendor's model from tier + kind:

============  ==============================  ==============================  =========================
tier          text                            image                           storyboard
============  ==============================  ==============================  =========================
sora-2        ``sora-2-text-to-video``        ``sora-2-image-to-video``       —
sora-2-stable ``sora-2-text-to-video-stable`` ``sora-2-image-to-video-stable`` —
sora-2-pro    ``sora-2-pro-text-to-video``    ``sora-2-pro-image-to-video``   ``sora-2-pro-storyboard``
============  ==============================  ==============================  =========================

A storyboard is always ``sora-2-pro-storyboard``, so its tier resolves to ``sora-2-pro`` (which also
prices it: the vendor charges the same 375/675 credits for pro 10/15 s, and 875 for a 25 s
storyboard). A profile's ``models`` may name tiers (all their models) or single vendor model names
(e.g. to drop ``sora-2-pro-image-to-video`` only); tiers and kinds left without a model disappear.

Images go out as ``imageData`` (a Base64 data URL of the downloaded image, the vendor's preferred
field) unless the profile's kind is ``freesora-url``, which sends the public ``imageUrl`` instead
(ProviderProfile has no field for it, and a second kind needs no schema change).

The readings we rely on, from the "ambiguities" list of §2.9:

- B1: status is ``check-result``; ``pending`` → queued, ``running`` → running, ``succeeded`` /
  ``failed`` are terminal; any other word counts as running (and is logged). ``result_url`` (falling
  back to ``result_urls[0]``) is trusted only once ``succeeded``.
- B3/B4: ``nFrames`` is always sent, as a string: ``"10"``/``"15"``, and ``"25"`` for storyboards.
- B5: ``removeWatermark`` only for non-stable, non-storyboard models: ``true`` unless the member
  asked to keep the watermark; the ``watermark`` option is refused where it cannot apply.
- B6: ``isPublic: false`` (the ``private`` option) needs a VIP account; ``get-user-credits`` is asked
  first (cached briefly) and a non-VIP account refuses the job before anything is billed.
- B7: ``size`` (``standard``/``high``, the ``high_quality`` option) only for pro text/image models.
- B8: storyboard shots go out as ``{"Scene", "duration"}``; every duration > 0 and they must add up
  to ``nFrames`` (checked here, naming the shot).
- B9: the task id is ``data.taskId``, else ``data.id``; success is ``code == 0``, never ``message``.
- B10: an error is HTTP >= 400 *or* HTTP 200 with ``code != 0``. No code list is published, so
  ``message`` is matched heuristically (credit, VIP, concurrency/limit, unavailable, taskId) and the
  raw code and message are always kept in ``ProviderError.detail`` and the log.
- §2.7: during polling a non-zero ``code`` is a poll error (retryable), never a task failure. A
  concurrency/limit refusal is reported with ``http_status=429`` so the engine requeues the job and
  rests the key instead of failing it.
"""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from bot.errors import InvalidRequest
from bot.i18n import Msg, msg
from bot.providers.base import (
    AnyRequest,
    ApiKey,
    Blame,
    Capabilities,
    ImageToVideo,
    Kind,
    Orientation,
    ProviderError,
    RemoteTask,
    StoryboardRequest,
    TaskError,
    TaskSnapshot,
    TaskState,
    TextToVideo,
    VideoSource,
    WireBody,
    scrub,
)
from bot.providers.faults import logged, malformed, public_result, transport
from bot.providers.http import HttpResponse, TransportError, VendorHttp
from bot.providers.profiles import ProviderProfile, narrowed

log = logging.getLogger(__name__)

CREATE_PATH = "/api/v1/video/sora-pro"
STATUS_PATH = "/api/video-generations/check-result"
CREDITS_PATH = "/api/get-user-credits"

TIER_SORA2 = "sora-2"
TIER_STABLE = "sora-2-stable"
TIER_PRO = "sora-2-pro"
FREESORA_TIERS: tuple[str, ...] = (TIER_SORA2, TIER_STABLE, TIER_PRO)
FREESORA_DEFAULT_TIER = TIER_SORA2
STORYBOARD_MODEL = "sora-2-pro-storyboard"

# (tier, kind) -> the vendor's model name (§2.2; B2: all seven are accepted).
WIRE_MODELS: dict[tuple[str, Kind], str] = {
    (TIER_SORA2, Kind.TEXT): "sora-2-text-to-video",
    (TIER_SORA2, Kind.IMAGE): "sora-2-image-to-video",
    (TIER_STABLE, Kind.TEXT): "sora-2-text-to-video-stable",
    (TIER_STABLE, Kind.IMAGE): "sora-2-image-to-video-stable",
    (TIER_PRO, Kind.TEXT): "sora-2-pro-text-to-video",
    (TIER_PRO, Kind.IMAGE): "sora-2-pro-image-to-video",
    (TIER_PRO, Kind.STORYBOARD): STORYBOARD_MODEL,
}
FREESORA_MODELS: tuple[str, ...] = tuple(WIRE_MODELS.values())
SIZED_MODELS = frozenset({"sora-2-pro-text-to-video", "sora-2-pro-image-to-video"})  # B7
WATERMARK_MODELS = frozenset({"sora-2-text-to-video", "sora-2-image-to-video", *SIZED_MODELS})  # B5
FREESORA_DURATIONS: tuple[int, ...] = (10, 15, 25)
VIDEO_DURATIONS: tuple[int, ...] = (10, 15)  # text and image; 25 s is storyboard only (B3)

# Vendor credits per job by (tier, seconds) — the latest table of §2.6 ("last seen", B11). A
# storyboard resolves to the sora-2-pro tier, whose 10/15 s prices equal the storyboard's.
FREESORA_PRICES: dict[tuple[str, int], int] = {
    (TIER_SORA2, 10): 100,
    (TIER_SORA2, 15): 150,
    (TIER_STABLE, 10): 100,
    (TIER_STABLE, 15): 150,
    (TIER_PRO, 10): 375,
    (TIER_PRO, 15): 675,
    (TIER_PRO, 25): 875,
}

VIP_CACHE_SECONDS = 60.0
IMAGE_MAX_BYTES = 10 * 1024 * 1024
IMAGE_TIMEOUT = 30.0

_QUEUED_WORDS = frozenset({"pending", "queued", "submitted", "waiting"})
_RUNNING_WORDS = frozenset({"running", "processing", "in_progress", "generating"})


# --------------------------------------------------------------------------- wire models


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


# --------------------------------------------------------------------------- capabilities


def _allowed_tiers(models: Mapping[tuple[str, Kind], str], wire: frozenset[str], kind: Kind) -> list[str]:
    return [t for t in FREESORA_TIERS if (t, kind) in models and models[(t, kind)] in wire]


class FreeSoraCapabilities(Capabilities):
    """``Capabilities`` plus the rules that depend on the vendor model (B3, B5, B7, B8).

    The engine quotes with ``validate_request``/``resolve_model`` before charging anything, so every
    per-model rule lives here rather than in ``submit``.
    """

    wire_models: frozenset[str]

    def resolve_model(self, req: AnyRequest) -> str:
        if req.kind is Kind.STORYBOARD and req.model is None:
            return TIER_PRO
        return req.model or self.default_model

    def wire_model(self, req: AnyRequest) -> str:
        """The vendor model for ``req``; ``InvalidRequest`` naming ``tier`` when there is none."""
        tier = self.resolve_model(req)
        model = WIRE_MODELS.get((tier, req.kind))
        if model is None or model not in self.wire_models:
            tiers = _allowed_tiers(WIRE_MODELS, self.wire_models, req.kind)
            raise InvalidRequest(
                "tier",
                "invalid.tier_not_for_kind",
                ", ".join(tiers) or msg("common.none"),
                value=tier,
                kind=req.kind.value,
            )
        return model

    def validate_request(self, req: AnyRequest) -> None:
        super().validate_request(req)
        model = self.wire_model(req)
        if model != STORYBOARD_MODEL and req.duration not in VIDEO_DURATIONS:
            allowed = [d for d in VIDEO_DURATIONS if d in self.durations]
            raise InvalidRequest(
                "duration",
                "invalid.storyboard_only_duration",
                ", ".join(f"{d} s" for d in allowed) or msg("common.none"),
                seconds=req.duration,
            )
        opts = req.options
        if opts.high_quality is not None and model not in SIZED_MODELS:
            raise InvalidRequest("high_quality", "invalid.cannot_set_for", msg("allowed.fsg_hq"), model=model)
        if opts.watermark is not None and model not in WATERMARK_MODELS:
            raise InvalidRequest(
                "watermark", "invalid.cannot_change_for", msg("allowed.fsg_watermark"), model=model
            )
        if isinstance(req, ImageToVideo) and not req.image_url.startswith(("http://", "https://")):
            raise InvalidRequest("image", "invalid.not_web_link", msg("allowed.image_link"))
        if isinstance(req, StoryboardRequest):
            _validate_shots(req)


def _validate_shots(req: StoryboardRequest) -> None:
    if not req.shots:
        raise InvalidRequest("shots", "invalid.empty", msg("allowed.shots", total=req.duration))
    total = 0.0
    for n, shot in enumerate(req.shots, start=1):
        if not shot.scene.strip():
            raise InvalidRequest(f"shot {n} scene", "invalid.empty", msg("allowed.shot_scene"))
        if not shot.duration > 0:
            raise InvalidRequest(
                f"shot {n} duration",
                "invalid.is_seconds",
                msg("allowed.more_than_zero"),
                seconds=f"{shot.duration:g}",
            )
        total += shot.duration
    if abs(total - req.duration) > 1e-6:
        raise InvalidRequest(
            "shots",
            "invalid.shots_total",
            msg("allowed.shots_total", total=req.duration),
            sum=f"{total:g}",
            total=req.duration,
        )


def freesora_capabilities(
    models: tuple[str, ...] | None = None, durations: tuple[int, ...] | None = None, *, profile: str = "?"
) -> FreeSoraCapabilities:
    """The vendor's tiers/kinds/durations, narrowed by a profile's ``models``/``durations``.

    ``models`` entries are tier names (every model of the tier) or vendor model names.
    """
    names = narrowed(
        profile,
        "models",
        models,
        FREESORA_TIERS,
        offered=(*FREESORA_TIERS, *FREESORA_MODELS),
        offer=f"freesora offers the tiers {', '.join(FREESORA_TIERS)} "
        f"or the models {', '.join(FREESORA_MODELS)}",
    )
    wire: set[str] = set()
    for name in names:
        if name in FREESORA_TIERS:
            wire.update(m for (t, _k), m in WIRE_MODELS.items() if t == name)
        else:
            wire.add(name)
    secs = narrowed(
        profile,
        "durations",
        durations,
        FREESORA_DURATIONS,
        offer="freesora offers 10 and 15 seconds (25 for storyboards)",
    )
    frozen = frozenset(wire)
    kinds = frozenset(k for (_t, k), m in WIRE_MODELS.items() if m in frozen)
    tiers = tuple(t for t in FREESORA_TIERS if any(WIRE_MODELS.get((t, k)) in frozen for k in Kind))
    options = {"private"}
    if frozen & SIZED_MODELS:
        options.add("high_quality")
    if frozen & WATERMARK_MODELS:
        options.add("watermark")
    default = FREESORA_DEFAULT_TIER if FREESORA_DEFAULT_TIER in tiers else tiers[0]
    return FreeSoraCapabilities(
        kinds=kinds,
        models=tiers,
        default_model=default,
        durations=secs,
        orientations=(Orientation.PORTRAIT, Orientation.LANDSCAPE),
        options=frozenset(options),
        wire_models=frozen,
    )


# --------------------------------------------------------------------------- errors


@dataclass(frozen=True)
class ErrorSpec:
    code: str
    user_key: str  # the catalog message a member reads
    blame: Blame
    retryable: bool


_CREDITS = ErrorSpec(
    "INSUFFICIENT_CREDITS",
    "provider.out_of_credits",
    "operator",
    False,
)
_VIP = ErrorSpec(
    "VIP_REQUIRED",
    "provider.freesora.vip_required",
    "user",
    False,
)
_LIMIT = ErrorSpec(
    "CONCURRENCY_LIMIT",
    "provider.freesora.concurrency_limit",
    "operator",
    True,
)
_UNAVAILABLE = ErrorSpec(
    "MODEL_UNAVAILABLE",
    "provider.freesora.model_unavailable",
    "vendor",
    True,
)
_TASK_ID = ErrorSpec(
    "TASK_ID_ERROR",
    "provider.freesora.task_id",
    "operator",
    False,
)
_LOGIN = ErrorSpec(
    "UNAUTHORIZED",
    "provider.key_rejected",
    "operator",
    False,
)
_BAD_REQUEST = ErrorSpec(
    "BAD_REQUEST",
    "provider.freesora.bad_request",
    "operator",
    False,
)
_INTERNAL = ErrorSpec(
    "INTERNAL_ERROR",
    "provider.internal",
    "vendor",
    True,
)
_GENERIC_USER_MESSAGE = "provider.generic"

# Heuristics on the lower-cased message (§2.8); the first match wins.
_BY_WORDS: tuple[tuple[tuple[str, ...], ErrorSpec], ...] = (
    (("credit",), _CREDITS),
    (("vip",), _VIP),
    (("concurr", "limit", "too many"), _LIMIT),
    (("unavailable",), _UNAVAILABLE),
    (("taskid", "task id", "task not found"), _TASK_ID),
)
_BY_STATUS: dict[int, ErrorSpec] = {
    400: _BAD_REQUEST,
    401: _LOGIN,
    402: _CREDITS,
    403: _LOGIN,
    429: _LIMIT,
}


def freesora_error(
    code: object, message: str | None, http_status: int | None, *, polling: bool = False
) -> ProviderError:
    """Turn an FSG error (HTTP >= 400, or HTTP 200 with ``code != 0``) into a ``ProviderError``.

    A recognised message gets a symbolic ``code`` and plain words; an unrecognised one keeps the
    vendor's raw code. ``detail`` always carries the raw code, message and HTTP status. With
    ``polling`` an HTTP 200 refusal is retryable whatever it says (§2.7: a poll error, not a failure).
    """
    text = (message or "").strip() or "(no message)"
    raw_code = "" if code is None else str(code)
    lowered = text.lower()
    spec = next((s for words, s in _BY_WORDS if any(w in lowered for w in words)), None)
    if spec is None and http_status is not None:
        spec = _BY_STATUS.get(http_status) or (_INTERNAL if http_status >= 500 else None)
    if spec is None:
        transient = http_status is None or http_status < 400 or http_status >= 500
        name = raw_code or (f"HTTP_{http_status}" if http_status else "UNKNOWN_ERROR")
        spec = ErrorSpec(name, _GENERIC_USER_MESSAGE, "vendor", transient)
    retryable = spec.retryable or (polling and (http_status is None or http_status < 400))
    status = http_status
    if spec is _LIMIT:
        status = 429  # so the engine requeues and rests the key (§2.7), whatever the transport said
    return ProviderError(
        code=spec.code,
        detail=f"{text} (vendor code {raw_code or '-'}, HTTP {http_status})",
        user_key=spec.user_key,
        blame=spec.blame,
        retryable=retryable,
        http_status=status,
        retry_after=None,  # FSG documents no Retry-After
    )


def _image_error(detail: str) -> ProviderError:
    return ProviderError(
        code="IMAGE_UNUSABLE",
        detail=detail,
        user_key="provider.freesora.image_unusable",
        blame="user",
        retryable=False,
    )


def sniff_image(data: bytes) -> str | None:
    """The image MIME type from the file's first bytes, for the formats the vendor takes."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def _int_or_none(value: Any) -> int | None:
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


class FreeSoraPro:
    """``VideoProvider`` for freesoragenerator's ``sora-pro`` API, bound to one profile."""

    default_prices: Mapping[tuple[str, int], int] = MappingProxyType(FREESORA_PRICES)

    def __init__(
        self,
        profile: ProviderProfile,
        http: VendorHttp,
        *,
        image_transport: Literal["data", "url"] | None = None,
        clock: Callable[[], float] = time.monotonic,
        vip_cache_seconds: float = VIP_CACHE_SECONDS,
    ) -> None:
        self.profile = profile
        self.http = http
        self.capabilities: FreeSoraCapabilities = freesora_capabilities(
            profile.models, profile.durations, profile=profile.name
        )
        self.image_transport: Literal["data", "url"] = image_transport or (
            "url" if profile.kind.endswith("-url") else "data"
        )
        self._base = profile.base_url.rstrip("/")
        self._clock = clock
        self._vip_ttl = vip_cache_seconds
        self._accounts: dict[str, tuple[float, int, bool]] = {}  # key name -> (fetched at, credits, vip)

    @property
    def name(self) -> str:
        return self.profile.name

    # ------------------------------------------------------------------ account

    async def account(self, key: ApiKey) -> tuple[int, bool]:
        """``(left_credits, is_vip)`` for ``key``'s account, asked now (also refreshes the VIP cache)."""
        resp = await self._call(CREDITS_PATH, {}, key, route="get-user-credits", idempotent=True)
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
            if self.image_transport == "url":
                fields["imageUrl"] = req.image_url
            else:
                fields["imageData"] = await self._image_data(req.image_url)
        if isinstance(req, StoryboardRequest):
            # The storyboard prompt is optional and not forwarded upstream (§2.2): not sent.
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
        # No vendor key goes to the image host.
        try:
            got = await self.http.get_bytes(url, timeout_s=IMAGE_TIMEOUT, max_bytes=IMAGE_MAX_BYTES)
        except TransportError as exc:
            raise _image_error(f"image download failed: {exc}") from None
        if got.status != 200:
            raise _image_error(f"image download answered HTTP {got.status}")
        if got.truncated:
            raise _image_error(f"image is larger than {IMAGE_MAX_BYTES} bytes")
        mime = sniff_image(got.body)
        if mime is None:
            raise _image_error(f"image is not PNG/JPEG/WebP (served as {got.content_type!r})")
        return f"data:{mime};base64,{base64.b64encode(got.body).decode('ascii')}"

    async def preflight(self, req: AnyRequest, key: ApiKey) -> None:
        """B6: a private video needs a VIP account; ask (cached) before the member is charged."""
        if req.options.private and not await self._is_vip(key):
            err = ProviderError(
                code=_VIP.code,
                detail="private video asked for, but get-user-credits says is_vip=false",
                user_key=_VIP.user_key,
                blame=_VIP.blame,
                retryable=False,
            )
            raise self._logged(err, "create", key)

    async def submit(self, req: AnyRequest, key: ApiKey) -> RemoteTask:
        self.capabilities.validate_request(req)
        await self.preflight(req, key)  # the key that creates may be another account than the one asked
        body = await self.build_create_body(req, key)
        resp = await self._call(CREATE_PATH, body.wire(), key, route="create", idempotent=False)
        data = self._data(resp, "create", key, submit=True)
        task_id = data.get("taskId") or data.get("id")
        if not isinstance(task_id, str | int) or isinstance(task_id, bool) or not str(task_id):
            # Something may have been created and billed; repeating blindly could double it.
            raise self._logged(
                malformed("create answer has no data.taskId", resp.status, retryable=False), "create", key
            )
        remote_id = str(task_id)
        snapshot = self._snapshot(data, remote_id, key) if data.get("status") is not None else None
        log.info(
            "freesora %s: submitted %s with key %s -> task %s", self.name, body.summary(), key.name, remote_id
        )
        return RemoteTask(remote_id=remote_id, snapshot=snapshot)

    async def poll(self, task: RemoteTask, key: ApiKey) -> TaskSnapshot:
        resp = await self._call(
            STATUS_PATH, {"taskId": task.remote_id}, key, route="check-result", idempotent=True
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

    async def open_result(self, snap: TaskSnapshot, key: ApiKey) -> VideoSource:
        """FSG hands out a public result URL; no key is needed to fetch it."""
        return public_result(snap)

    # ------------------------------------------------------------------ helpers

    async def _call(
        self, path: str, body: dict[str, Any], key: ApiKey, *, route: str, idempotent: bool
    ) -> HttpResponse:
        try:
            return await self.http.request_json(
                "POST",
                self._base + path,
                key=key,
                json_body=body,
                timeout_s=self.profile.request_timeout,
                idempotent=idempotent,
            )
        except TransportError as exc:
            raise self._logged(transport(exc, submit=not idempotent), route, key) from None

    def _data(self, resp: HttpResponse, route: str, key: ApiKey, *, submit: bool) -> dict[str, Any]:
        """The envelope's ``data`` when ``code == 0`` on HTTP < 400; otherwise a ``ProviderError``."""
        polling = route == "check-result"
        env = resp.data
        if not isinstance(env, dict):
            if resp.status >= 400:  # e.g. a proxy's HTML 502: the status is all there is
                err = freesora_error(None, scrub(resp.text[:200], key), resp.status, polling=polling)
            else:
                err = malformed(
                    f"HTTP {resp.status} body is not a JSON object: {scrub(resp.text[:200], key)!r}",
                    resp.status,
                    retryable=not submit,
                )
            raise self._logged(err, route, key)
        code = env.get("code")
        message = env.get("message")
        text = scrub(message if isinstance(message, str) else str(message or ""), key)
        if resp.status >= 400 or not _is_success_code(code):
            if resp.status < 400 and "code" not in env:
                raise self._logged(
                    malformed(
                        f"HTTP {resp.status} envelope has no code: {sorted(env)}",
                        resp.status,
                        retryable=not submit,
                    ),
                    route,
                    key,
                )
            raise self._logged(freesora_error(code, text, resp.status, polling=polling), route, key)
        data = env.get("data")
        if not isinstance(data, dict):
            raise self._logged(
                malformed(
                    f"HTTP {resp.status} envelope data is not an object", resp.status, retryable=not submit
                ),
                route,
                key,
            )
        return data

    def _snapshot(self, data: dict[str, Any], task_id: str, key: ApiKey) -> TaskSnapshot | None:
        raw = data
        word = str(data.get("status") or "").strip().lower()
        pct = _int_or_none(data.get("progress"))
        if word == "succeeded":
            url = _result_url(data)
            if url is None:
                return None
            return TaskSnapshot(state=TaskState.SUCCEEDED, progress_pct=100, video_url=url, raw=raw)
        if word == "failed":
            reason = scrub(str(data.get("failure_reason") or data.get("error_message") or ""), key).strip()
            refunded = data.get("credits_refunded") is True
            said: str | Msg = (
                msg("provider.freesora.reason", reason=reason[:200].rstrip(".")) if reason else ""
            )
            refund: str | Msg = msg("provider.freesora.refunded") if refunded else ""
            failed = msg("provider.freesora.failed", said=said, refund=refund)
            return TaskSnapshot(
                state=TaskState.FAILED,
                error=TaskError(
                    code="GENERATION_FAILED",
                    message=failed.render(),
                    key=failed.key,
                    params=dict(failed.params),
                ),
                raw=raw,
            )
        if word in _QUEUED_WORDS:
            return TaskSnapshot(state=TaskState.QUEUED, progress_pct=pct, raw=raw)
        if word not in _RUNNING_WORDS:
            log.warning(
                "freesora %s: task %s has unknown status %r, treated as running", self.name, task_id, word
            )
        return TaskSnapshot(state=TaskState.RUNNING, progress_pct=pct, raw=raw)

    def _logged(self, err: ProviderError, route: str, key: ApiKey) -> ProviderError:
        return logged(log, "freesora", self.name, err, route, key)


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
