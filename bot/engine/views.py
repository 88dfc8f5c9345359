"""Jobs as the Discord side sees them: typed, read-only views handed out by the engine.

Cogs never hold a storage row or a request dict: a ``JobView`` carries the parsed request and the
states as enums, so a renderer cannot misspell a state or a request field. The engine builds one
per event; the fields are what a card, a result or a button needs, nothing the engine alone uses
(keys, remote ids' extras, the poll count).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.providers.base import REQUEST_ADAPTER, AnyRequest, Kind, Shot, TvcRequest
from storage.jobs import JobRow
from storage.states import JobState


@dataclass(frozen=True)
class Riff:
    """The finished job a riff (Again, Remix or Variation) was made from, by anyone allowed to generate.

    Kept with the new job (``012_riffs``) so its card can say whose video it builds on and link back
    to it without reading the original: ``message_id`` is the message the riff was pressed on (or the
    original's card when that was an ephemeral reply nobody else can open)."""

    job_id: int
    owner_id: int
    channel_id: int
    message_id: int | None = None


@dataclass(frozen=True)
class JobView:
    id: int
    guild_id: int
    channel_id: int
    user_id: int
    application_id: int | None
    interaction_token: str | None
    interaction_expires_at: float | None
    message_id: int | None
    locale: str | None
    upload_limit: int | None
    profile: str
    kind: Kind
    model: str
    model_label: str  # the model as members read it ("Veo 3.1")
    duration: int
    cost: int
    state: JobState
    request: AnyRequest
    remote_id: str | None  # the vendor's id for the job, once it has one
    stage: str | None
    progress_pct: int | None
    step: int | None
    step_count: int | None
    step_name: str | None
    storyboard_prompt: str | None
    storyboard_image_url: str | None
    video_url: str | None
    video_path: str | None
    error_code: str | None  # MODEL_UNAVAILABLE when the vendor no longer serves the model
    error_message: str | None
    error_i18n: str | None
    created_at: float
    submitted_at: float | None
    finished_at: float | None
    delivered_at: float | None
    riff: Riff | None = None  # the job this one riffs on, when it was made from another
    # A video the vendor left in parts (no ``video_url``): their links, in the order they play.
    video_parts: tuple[str, ...] = ()

    @property
    def active(self) -> bool:
        return self.state.active

    @property
    def text(self) -> str:
        """What the member asked for in words: the prompt, or the commercial's theme."""
        if isinstance(self.request, TvcRequest):
            return self.request.ad_theme
        return getattr(self.request, "prompt", "")

    @property
    def orientation(self) -> str:
        return self.request.orientation.value

    @property
    def image_url(self) -> str | None:
        """The picture the video starts from (image to video) or takes after (a commercial's reference)."""
        url = getattr(self.request, "image_url", None) or getattr(self.request, "reference_image_url", None)
        return url if isinstance(url, str) else None

    @property
    def shots(self) -> tuple[Shot, ...]:
        return tuple(getattr(self.request, "shots", ()))

    def timings(self) -> list[tuple[str, float | None]]:
        """(label key, timestamp) for each milestone: queued, submitted, finished."""
        return [
            ("job.timing.queued", self.created_at),
            ("job.timing.submitted", self.submitted_at),
            ("job.timing.finished", self.finished_at),
        ]

    def spans(self) -> list[tuple[str, float]]:
        """(label key, seconds) for the parts of the job that have happened."""
        out: list[tuple[str, float]] = []
        if self.submitted_at is not None:
            out.append(("job.span.waited", self.submitted_at - self.created_at))
            if self.finished_at is not None:
                out.append(("job.span.rendered", self.finished_at - self.submitted_at))
        if self.finished_at is not None:
            out.append(("job.span.total", self.finished_at - self.created_at))
        return out


def view_of(row: JobRow) -> JobView:
    return JobView(
        id=row.id,
        guild_id=row.guild_id,
        channel_id=row.channel_id,
        user_id=row.user_id,
        application_id=row.application_id,
        interaction_token=row.interaction_token,
        interaction_expires_at=row.interaction_expires_at,
        message_id=row.message_id,
        locale=row.locale,
        upload_limit=row.upload_limit,
        profile=row.profile,
        kind=Kind(row.kind),
        model=row.model,
        model_label=row.model_label or row.model,
        duration=row.duration,
        cost=row.cost,
        state=row.state,
        request=REQUEST_ADAPTER.validate_json(row.request_json),
        remote_id=row.remote_id,
        stage=row.stage,
        progress_pct=row.progress_pct,
        step=row.step,
        step_count=row.step_count,
        step_name=row.step_name,
        storyboard_prompt=row.storyboard_prompt,
        storyboard_image_url=row.storyboard_image_url,
        video_url=row.video_url,
        video_path=row.video_path,
        error_code=row.error_code,
        error_message=row.error_message,
        error_i18n=row.error_i18n,
        created_at=row.created_at,
        submitted_at=row.submitted_at,
        finished_at=row.finished_at,
        delivered_at=row.delivered_at,
        riff=_riff(row),
        video_parts=row.parts,
    )


def _riff(row: JobRow) -> Riff | None:
    if row.riff_of is None:
        return None
    return Riff(
        job_id=row.riff_of,
        owner_id=row.riff_owner_id or 0,
        channel_id=row.riff_channel_id or row.channel_id,
        message_id=row.riff_message_id,
    )
