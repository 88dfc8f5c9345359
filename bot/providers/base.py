"""The provider contract: normalized requests, snapshots and errors shared by every vendor adapter.

Adapters translate between these models and one vendor's wire protocol; nothing outside
``bot/providers`` ever sees a vendor field name.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, SecretStr, TypeAdapter, ValidationError

from bot.errors import InvalidRequest
from bot.i18n import EN, Msg, literal, msg

if TYPE_CHECKING:
    from bot.providers.capabilities import Capabilities
    from bot.providers.profiles import Timing

MAX_PROMPT_CHARS = 2000


def is_blank(text: str) -> bool:
    """Nothing would show: only white space and invisible format characters (zero-width space,
    joiners, direction marks — Unicode category Cf), which Discord's minimum length lets through."""
    return all(ch.isspace() or unicodedata.category(ch) == "Cf" for ch in text)


class Kind(StrEnum):
    TEXT = "text"
    IMAGE = "image"
    TVC = "tvc"
    STORYBOARD = "storyboard"
    REMIX = "remix"
    REFERENCE = "reference"  # a video that keeps to one to a few reference pictures


class Orientation(StrEnum):
    PORTRAIT = "portrait"
    LANDSCAPE = "landscape"


class Options(BaseModel):
    """The provider's optional switches, normalized. ``None`` everywhere means "provider default".

    ``Capabilities.options`` names the ones a profile accepts; anything else set is refused.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    watermark: bool | None = None  # OpenAI-compatible `watermark`; FSG `removeWatermark` (inverted)
    private: bool | None = None  # OpenAI-compatible `private`; FSG `isPublic` (inverted, VIP only)
    high_quality: bool | None = None  # FSG `size: high`; OpenAI-compatible 1024x1792/1792x1024 (pro)
    character_url: str | None = None  # OpenAI-compatible `character_url` ...
    character_start: float | None = None  # ... with `character_timestamps` "start,end", 1-3 s apart
    character_end: float | None = None
    audio: bool | None = None  # SeeDance `generateAudio`
    fixed_lens: bool | None = None  # SeeDance `fixedLens`

    def chosen(self) -> frozenset[str]:
        """Names of the options set (the character trio counts as ``character``)."""
        switches = ("watermark", "private", "high_quality", "audio", "fixed_lens")
        names = {n for n in switches if getattr(self, n) is not None}
        if any(v is not None for v in (self.character_url, self.character_start, self.character_end)):
            names.add("character")
        return frozenset(names)


class WireBody(BaseModel):
    """A request body in one vendor's own field names; ``wire()`` is what goes out (``None`` left out)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    def wire(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class _Request(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    duration: int = 10
    orientation: Orientation = Orientation.PORTRAIT
    model: str | None = None  # None: the profile's default model
    resolution: str | None = None  # None: the model's default (or it has no choice)
    options: Options = Options()


class TextToVideo(_Request):
    kind: Literal[Kind.TEXT] = Kind.TEXT
    prompt: str


class ImageToVideo(_Request):
    """A picture set in motion: ``image_url`` is the first frame; ``end_image_url`` the last, on
    models that take one."""

    kind: Literal[Kind.IMAGE] = Kind.IMAGE
    prompt: str
    image_url: str
    end_image_url: str | None = None


class ReferenceToVideo(_Request):
    """A video that keeps the subjects of one to a few reference pictures (not frames)."""

    kind: Literal[Kind.REFERENCE] = Kind.REFERENCE
    prompt: str
    image_urls: tuple[str, ...]


class TvcRequest(_Request):
    kind: Literal[Kind.TVC] = Kind.TVC
    ad_theme: str
    reference_image_url: str | None = None
    voiceover: str | None = None


class Shot(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    scene: str
    duration: float


class StoryboardRequest(_Request):
    kind: Literal[Kind.STORYBOARD] = Kind.STORYBOARD
    shots: tuple[Shot, ...]
    prompt: str = ""


class RemixRequest(_Request):
    """A new prompt applied to a finished video (vendors that support it)."""

    kind: Literal[Kind.REMIX] = Kind.REMIX
    prompt: str
    source_remote_id: str


AnyRequest = TextToVideo | ImageToVideo | ReferenceToVideo | TvcRequest | StoryboardRequest | RemixRequest
GenerationRequest = Annotated[AnyRequest, Field(discriminator="kind")]


class ApiKey(BaseModel):
    """One vendor credential. ``name`` is safe to log; ``secret`` never is."""

    model_config = ConfigDict(frozen=True)

    name: str
    secret: SecretStr


def scrub(text: str, key: ApiKey | None) -> str:
    """``text`` with ``key``'s secret blanked: the last line of defence before a log or a message."""
    if key is None:
        return text
    secret = key.secret.get_secret_value()
    return text.replace(secret, "***") if secret else text


class RemoteTask(BaseModel):
    """The vendor's handle on a submitted job, stored as soon as it is known."""

    model_config = ConfigDict(frozen=True)

    remote_id: str
    extra: dict[str, str] = Field(default_factory=dict)  # e.g. nanophoto TVC taskId beside recordId
    snapshot: TaskSnapshot | None = None  # when the create response already said something


class TaskState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class TaskError(BaseModel):
    """A vendor's failure. ``message`` is the en-US text; ``key``/``params`` (when set) the catalog
    message it was rendered from, so the member reads it in their own language."""

    model_config = ConfigDict(frozen=True)

    code: str
    message: str
    key: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)


class TaskSnapshot(BaseModel):
    """What the vendor says about a task, normalized. ``raw`` is kept for logs only."""

    model_config = ConfigDict(frozen=True)

    state: TaskState
    stage: str | None = None  # a vendor stage word when no percent is given
    progress_pct: int | None = None
    step: int | None = None
    step_count: int | None = None
    step_name: str | None = None
    storyboard_prompt: str | None = None
    storyboard_image_url: str | None = None
    video_url: str | None = None
    # A finished video the vendor left in parts (shots) and never joined: their links, in the order
    # they play. Set only without ``video_url``; delivery joins them (``bot.landing``).
    video_parts: tuple[str, ...] = ()
    error: TaskError | None = None
    # Seconds the vendor says the finished task took (nanophoto ``generationTime``, OpenAI-compatible
    # ``completed_at - created_at``); estimates learn from it rather than from when the bot looked.
    vendor_seconds: float | None = None
    raw: dict[str, Any] = Field(default_factory=dict, exclude=True, repr=False)

    def visible(self) -> tuple[Any, ...]:
        """The parts a person could see; equal tuples mean no event is worth emitting."""
        return (
            self.state,
            self.stage,
            self.progress_pct,
            self.step,
            self.step_name,
            self.storyboard_prompt,
            self.storyboard_image_url,
            self.video_url,
            self.video_parts,
            self.error,
        )


RemoteTask.model_rebuild()


class VideoSource(BaseModel):
    """Where the finished video is: a link, or the bytes when the vendor hands them over directly —
    or, when the vendor left it in parts and never joined them, no link but the parts' links in the
    order they play (``parts``), for delivery to join."""

    model_config = ConfigDict(frozen=True)

    url: str | None = None
    parts: tuple[str, ...] = ()
    data: bytes | None = Field(None, repr=False)
    content_type: str | None = None


Blame = Literal["user", "operator", "vendor"]


class ProviderError(Exception):
    """A vendor fault, normalized.

    ``user_key``/``user_params`` is what a member reads (a catalog message, rendered in their
    locale; ``user_message`` is its en-US text); ``code``/``detail`` are the vendor's raw words for the
    log. ``blame`` says who can fix it, ``retryable`` whether a poll may try again, and
    ``vendor_refunds`` whether the vendor gives its own credits back. ``model_unavailable`` says the
    vendor no longer serves the model asked for: not this job's fault and not worth another try,
    so the engine can end the job, tell the managers and stop offering the model.
    """

    def __init__(
        self,
        *,
        code: str,
        detail: str,
        user_message: str | None = None,
        user_key: str | None = None,
        user_params: Mapping[str, Any] | None = None,
        blame: Blame,
        retryable: bool,
        vendor_refunds: bool = False,
        http_status: int | None = None,
        retry_after: float | None = None,
        model_unavailable: bool = False,
    ) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail
        self.user_key = user_key
        self.user_params: dict[str, Any] = dict(user_params or {})
        if user_message is None:
            user_message = msg(user_key or "provider.generic", **self.user_params).render(EN)
        self.user_message = user_message
        self.blame: Blame = blame
        self.retryable = retryable
        self.vendor_refunds = vendor_refunds
        self.http_status = http_status
        self.retry_after = retry_after
        self.model_unavailable = model_unavailable

    @property
    def user_msg(self) -> Msg:
        """What a member reads, to render in their locale (literal when only text was given)."""
        if self.user_key is not None:
            return Msg(self.user_key, self.user_params)
        return literal(self.user_message)

    def task_error(self) -> TaskError:
        """This error as a failed snapshot's ``TaskError``, keeping the catalog key."""
        return TaskError(
            code=self.code, message=self.user_message, key=self.user_key, params=self.user_params
        )

    @property
    def rate_limited(self) -> bool:
        return self.http_status == 429


class VideoProvider(Protocol):
    """One vendor protocol bound to one configured profile."""

    @property
    def name(self) -> str: ...

    @property
    def capabilities(self) -> Capabilities: ...

    async def preflight(self, req: AnyRequest, key: ApiKey) -> None:
        """Checks that need the vendor (e.g. an account's VIP state), run before anything is charged.

        Raises ``ProviderError``; most vendors need none and do nothing.
        """
        ...

    def timing_for(self, req: AnyRequest) -> Timing:
        """When to poll a job made from ``req`` and when to give up: the profile's ``timing``, or a
        cadence the vendor's job size calls for (a 21-shot video takes far longer than one shot)."""
        ...

    async def submit(self, req: AnyRequest, key: ApiKey) -> RemoteTask: ...

    async def poll(self, task: RemoteTask, key: ApiKey) -> TaskSnapshot: ...

    async def open_result(self, snap: TaskSnapshot, key: ApiKey) -> VideoSource: ...


REQUEST_ADAPTER: TypeAdapter[GenerationRequest] = TypeAdapter(GenerationRequest)


def parse_request(data: Mapping[str, Any]) -> GenerationRequest:
    """Build a request from command options, turning a type error into ``InvalidRequest``."""
    try:
        return REQUEST_ADAPTER.validate_python(dict(data))
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][-1]) if first["loc"] else "request"
        rules: dict[str, str | Msg] = {
            "orientation": ", ".join(o.value for o in Orientation),
            "duration": msg("allowed.whole_seconds"),
        }
        allowed = rules.get(field, msg("allowed.see_help"))
        raise InvalidRequest(
            field, "invalid.value_not_accepted", allowed, value=repr(first["input"])
        ) from None
