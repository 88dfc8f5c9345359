"""Jobs as members act on them: who may touch a job, listings, cancelling, and making it again.

Discord-free, so the rules (owner or manager; cancel only while queued; remix only where the
provider offers it) are plain functions the buttons and ``/jobs`` both call. Making something from a
finished job (Again, Remix, Variation) is open to any member allowed to generate in the channel — a
team riffs on each other's videos — so only Cancel and Details ask ``may_act``.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.engine.engine import Engine
from bot.engine.views import JobView, view_of
from bot.errors import UserError
from bot.i18n import Msg, msg
from bot.providers.base import AnyRequest, Kind, RemixRequest, TvcRequest, parse_request
from storage import jobs
from storage.states import JobState

LIST_LIMIT = 10


def state_key(state: JobState) -> str:
    """The catalog key of a job state's words (``job.state.queued`` → "queued" / "排队中")."""
    return f"job.state.{state.value}"


class NotYours(UserError):
    """The member may not act on this job (it is someone else's and they do not manage the server)."""

    def __init__(self, job: JobView) -> None:
        super().__init__("errors.job_not_yours", id=job.id, user_id=job.user_id)
        self.job = job


def may_act(job: JobView, actor_id: int, *, is_manager: bool) -> bool:
    return job.user_id == actor_id or is_manager


async def find(engine: Engine, guild_id: int, job_id: int) -> JobView | None:
    """The job, when it exists in this server (ids of other servers' jobs are not revealed)."""
    job = await engine.job(job_id)
    return job if job is not None and job.guild_id == guild_id else None


async def job_for(engine: Engine, guild_id: int, job_id: int, *, actor_id: int, is_manager: bool) -> JobView:
    """The job ``actor_id`` may act on; ``UserError`` when it does not exist here or is not theirs."""
    job = await find(engine, guild_id, job_id)
    if job is None:
        raise UserError("errors.no_such_job", id=job_id)
    if not may_act(job, actor_id, is_manager=is_manager):
        raise NotYours(job)
    return job


async def listing(
    engine: Engine, guild_id: int, actor_id: int, *, everyone: bool, is_manager: bool
) -> list[JobView]:
    """The actor's newest jobs, or the server's when a manager asks for ``everyone``."""
    if everyone and not is_manager:
        raise UserError("errors.list_all_managers_only")
    rows = await jobs.recent(engine.db, guild_id, None if everyone else actor_id, limit=LIST_LIMIT)
    return [view_of(r) for r in rows]


@dataclass(frozen=True)
class CancelOutcome:
    cancelled: bool
    message: Msg  # rendered in the member's locale by the caller


async def cancel(engine: Engine, job: JobView) -> CancelOutcome:
    """Cancel a queued job (credits back at once); say plainly why not otherwise.

    A job whose profile left the configuration is driven by nobody, so it may be cancelled in any
    unfinished state (``orphans``): that is how a member or a manager lets it go cleanly.
    """
    if engine.orphans.is_orphan(job.profile, job.state) and await engine.orphans.cancel(job.id):
        return CancelOutcome(True, msg("jobs.cancel.orphan_done", id=job.id, cost=job.cost))
    if job.state in (JobState.SUBMITTING, JobState.RUNNING):
        return CancelOutcome(False, msg("jobs.cancel.started", id=job.id))
    if not job.active:
        return CancelOutcome(False, msg("jobs.cancel.ended", id=job.id, state=msg(state_key(job.state))))
    if await engine.admission.cancel(job.id):
        return CancelOutcome(True, msg("jobs.cancel.done", id=job.id, cost=job.cost))
    return CancelOutcome(False, msg("jobs.cancel.just_started", id=job.id))


def can_remix(engine: Engine, job: JobView) -> bool:
    """A finished video whose provider offers remixing."""
    if job.state is not JobState.SUCCEEDED or not job.remote_id:
        return False
    if not engine.catalog.has(job.profile):  # the profile is no longer configured
        return False
    return Kind.REMIX in engine.catalog.provider(job.profile).capabilities.kinds


def remix_request(job: JobView, prompt: str) -> RemixRequest:
    """A new prompt on the job's finished video, with the job's length, orientation and model."""
    if not job.remote_id:
        raise UserError("errors.nothing_to_remix", id=job.id)
    return RemixRequest(
        prompt=prompt,
        source_remote_id=job.remote_id,
        duration=job.duration,
        orientation=job.request.orientation,
        model=job.request.model,
    )


def text_field(job: JobView) -> str:
    """The request's words a Variation changes: a commercial's theme, everything else's prompt."""
    return "ad_theme" if isinstance(job.request, TvcRequest) else "prompt"


def variation_request(job: JobView, text: str) -> AnyRequest:
    """The job's request as it was (model, length, pictures, shots) with its words changed to ``text``.

    Validated as a new request would be, so a form that empties a required prompt is refused by the
    field's name before anything is quoted."""
    data = job.request.model_dump(mode="json")
    data[text_field(job)] = text.strip()
    return parse_request(data)
