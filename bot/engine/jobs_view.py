"""Jobs as members look at them: who may touch a job, listings, and requests derived from a job.

Discord-free, so the rules (owner or manager; cancel only while queued; remix only where the
provider offers it) are plain functions the buttons and ``/jobs`` both call.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.engine.engine import Engine
from bot.errors import UserError
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
STATE_WORDS = {
    "queued": "queued",
    "submitting": "being sent to the provider",
    "running": "rendering",
    "succeeded": "done",
    "failed": "failed",
    "timed_out": "timed out",
    "cancelled": "cancelled",
}


class NotYours(UserError):
    """The member may not act on this job (it is someone else's and they do not manage the server)."""

    def __init__(self, job: JobRow) -> None:
        super().__init__(
            f"Job #{job.id} belongs to <@{job.user_id}>; only they or a server manager can do that."
        )
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
        raise UserError(f"There is no job #{job_id} in this server.")
    if not may_act(job, actor_id, is_manager=is_manager):
        raise NotYours(job)
    return job


async def listing(
    engine: Engine, guild_id: int, actor_id: int, *, everyone: bool, is_manager: bool
) -> list[JobRow]:
    """The actor's newest jobs, or the server's when a manager asks for ``everyone``."""
    if everyone and not is_manager:
        raise UserError("Only server managers can list everyone's jobs. Leave `all` off to see yours.")
    return await jobs.recent(engine.db, guild_id, None if everyone else actor_id, limit=LIST_LIMIT)


@dataclass(frozen=True)
class CancelOutcome:
    cancelled: bool
    message: str


async def cancel(engine: Engine, job: JobRow) -> CancelOutcome:
    """Cancel a queued job (credits back at once); say plainly why not otherwise."""
    if job.state in ("submitting", "running"):
        return CancelOutcome(
            False, f"Job #{job.id} has already started at the provider and can no longer be cancelled."
        )
    if not job.active:
        return CancelOutcome(False, f"Job #{job.id} has already ended ({STATE_WORDS[job.state]}).")
    if await engine.cancel(job.id):
        return CancelOutcome(True, f"Cancelled job #{job.id}; its {job.cost} credits were returned.")
    return CancelOutcome(
        False, f"Job #{job.id} has just started at the provider and can no longer be cancelled."
    )


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
        raise UserError(f"Job #{job.id} has no finished video to remix.")
    original = job.request
    return RemixRequest(
        prompt=prompt,
        source_remote_id=job.remote_id,
        duration=job.duration,
        orientation=original.get("orientation", "portrait"),
        model=original.get("model"),
    )


def timings(job: JobRow) -> list[tuple[str, float | None]]:
    """(label, timestamp) for each milestone: queued, submitted, finished."""
    return [("Queued", job.created_at), ("Submitted", job.submitted_at), ("Finished", job.finished_at)]


def durations(job: JobRow) -> list[tuple[str, float]]:
    """(label, seconds) for the parts of the job that have happened."""
    out: list[tuple[str, float]] = []
    if job.submitted_at is not None:
        out.append(("waited", job.submitted_at - job.created_at))
        if job.finished_at is not None:
            out.append(("rendered", job.finished_at - job.submitted_at))
    if job.finished_at is not None:
        out.append(("total", job.finished_at - job.created_at))
    return out
