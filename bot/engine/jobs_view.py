"""Jobs as members look at them: who may touch a job, listings, and requests derived from a job.

Discord-free, so the rules (owner or manager; cancel only while queued; remix only where the
provider offers it) are plain functions the buttons and ``/jobs`` both call.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.engine.engine import Engine
from bot.errors import UserError
from bot.i18n import Msg, msg, t
from bot.providers.base import REQUEST_ADAPTER, GenerationRequest, Kind, RemixRequest
from storage import jobs
from storage.jobs import JobRow

LIST_LIMIT = 10
STATE_EMOJI = {
    "queued": "⏳",
    "submitting": "📤",
    "running": "🎬",
    "succeeded": "✅",
    "failed": "❌",
    "timed_out": "⏱️",
    "cancelled": "🚫",
}
STATES = tuple(STATE_EMOJI)


def state_key(state: str) -> str:
    """The catalog key of a job state's words (``job.state.queued`` → "queued" / "排队中")."""
    return f"job.state.{state}"


def state_words(state: str, locale: object = None) -> str:
    return t(state_key(state), locale) if state in STATE_EMOJI else state


class NotYours(UserError):
    """The member may not act on this job (it is someone else's and they do not manage the server)."""

    def __init__(self, job: JobRow) -> None:
        super().__init__("errors.job_not_yours", id=job.id, user_id=job.user_id)
        self.job = job


def may_act(job: JobRow, actor_id: int, *, is_manager: bool) -> bool:
    return job.user_id == actor_id or is_manager


async def find(engine: Engine, guild_id: int, job_id: int) -> JobRow | None:
    """The job, when it exists in this server (ids of other servers' jobs are not revealed)."""
    job = await jobs.get(engine.db, job_id)
    return job if job is not None and job.guild_id == guild_id else None


async def job_for(engine: Engine, guild_id: int, job_id: int, *, actor_id: int, is_manager: bool) -> JobRow:
    """The job ``actor_id`` may act on; ``UserError`` when it does not exist here or is not theirs."""
    job = await find(engine, guild_id, job_id)
    if job is None:
        raise UserError("errors.no_such_job", id=job_id)
    if not may_act(job, actor_id, is_manager=is_manager):
        raise NotYours(job)
    return job


async def listing(
    engine: Engine, guild_id: int, actor_id: int, *, everyone: bool, is_manager: bool
) -> list[JobRow]:
    """The actor's newest jobs, or the server's when a manager asks for ``everyone``."""
    if everyone and not is_manager:
        raise UserError("errors.list_all_managers_only")
    return await jobs.recent(engine.db, guild_id, None if everyone else actor_id, limit=LIST_LIMIT)


@dataclass(frozen=True)
class CancelOutcome:
    cancelled: bool
    message: Msg  # rendered in the member's locale by the caller


async def cancel(engine: Engine, job: JobRow) -> CancelOutcome:
    """Cancel a queued job (credits back at once); say plainly why not otherwise."""
    if job.state in ("submitting", "running"):
        return CancelOutcome(False, msg("jobs.cancel.started", id=job.id))
    if not job.active:
        return CancelOutcome(False, msg("jobs.cancel.ended", id=job.id, state=msg(state_key(job.state))))
    if await engine.cancel(job.id):
        return CancelOutcome(True, msg("jobs.cancel.done", id=job.id, cost=job.cost))
    return CancelOutcome(False, msg("jobs.cancel.just_started", id=job.id))


def request_of(job: JobRow) -> GenerationRequest:
    """The job's request as it was asked, to make it again."""
    return REQUEST_ADAPTER.validate_json(job.request_json)


def can_remix(engine: Engine, job: JobRow) -> bool:
    """A finished video whose provider offers remixing."""
    if job.state != "succeeded" or not job.remote_id:
        return False
    try:
        return Kind.REMIX in engine.provider(job.profile).capabilities.kinds
    except (UserError, KeyError):  # the profile is no longer configured
        return False


def remix_request(job: JobRow, prompt: str) -> RemixRequest:
    """A new prompt on the job's finished video, with the job's length, orientation and tier."""
    if not job.remote_id:
        raise UserError("errors.nothing_to_remix", id=job.id)
    original = job.request
    return RemixRequest(
        prompt=prompt,
        source_remote_id=job.remote_id,
        duration=job.duration,
        orientation=original.get("orientation", "portrait"),
        model=original.get("model"),
    )


def timings(job: JobRow) -> list[tuple[str, float | None]]:
    """(label key, timestamp) for each milestone: queued, submitted, finished."""
    return [
        ("job.timing.queued", job.created_at),
        ("job.timing.submitted", job.submitted_at),
        ("job.timing.finished", job.finished_at),
    ]


def durations(job: JobRow) -> list[tuple[str, float]]:
    """(label key, seconds) for the parts of the job that have happened."""
    out: list[tuple[str, float]] = []
    if job.submitted_at is not None:
        out.append(("job.span.waited", job.submitted_at - job.created_at))
        if job.finished_at is not None:
            out.append(("job.span.rendered", job.finished_at - job.submitted_at))
    if job.finished_at is not None:
        out.append(("job.span.total", job.finished_at - job.created_at))
    return out
