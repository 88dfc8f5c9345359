"""Jobs whose provider profile left the configuration: kept, never failed for it, and cancellable.

An operator who renames or removes a profile (by mistake, or for a while) must not lose the jobs on
it: the vendor may be rendering them, and the credits are held. So the engine does not drive them
(it cannot: no keys, no adapter), keeps them exactly as they are, and resumes them at the first
start where the profile is back. Meanwhile the start-up log and ``doctor`` list them with the two
ways out, and ``/jobs cancel`` (which otherwise refuses a job that has started) ends one cleanly:
cancelled, its credits released, its card updated.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from bot.engine.catalog import Catalog
from bot.engine.clock import Clock
from bot.engine.outcomes import CANCELLED
from bot.i18n import EN
from storage import engine_state, jobs, ledger
from storage.db import Database
from storage.jobs import JobRow
from storage.states import ACTIVE, JobState

log = logging.getLogger(__name__)

WHAT_TO_DO = (
    "put the profile back in PROVIDERS_FILE and restart to resume them, or cancel them with "
    "/jobs cancel (their credits go back)"
)


class Orphans:
    def __init__(
        self,
        db: Database,
        catalog: Catalog,
        emit: Callable[[JobRow], Awaitable[None]],
        clock: Clock,
    ) -> None:
        self._db = db
        self._catalog = catalog
        self._emit = emit
        self._clock = clock

    def is_orphan(self, profile: str, state: JobState) -> bool:
        """True for an unfinished job whose profile is not configured (nothing drives it)."""
        return state in ACTIVE and not self._catalog.has(profile)

    async def find(self) -> list[JobRow]:
        return await engine_state.without_profile(self._db, self._catalog.profile_names)

    async def announce(self) -> list[JobRow]:
        """Log the jobs left waiting for a profile (at start), with what to do; returns them."""
        found = await self.find()
        by_profile: dict[str, list[int]] = {}
        for job in found:
            by_profile.setdefault(job.profile, []).append(job.id)
        for profile, ids in sorted(by_profile.items()):
            shown = ", ".join(f"#{i}" for i in ids[:10]) + (
                f" and {len(ids) - 10} more" if len(ids) > 10 else ""
            )
            log.warning(
                "%d job(s) wait for profile `%s`, which is no longer configured (%s): %s",
                len(ids),
                profile,
                shown,
                WHAT_TO_DO,
            )
        return found

    async def cancel(self, job_id: int) -> bool:
        """Cancel a job whose profile is gone, in whatever unfinished state it was left; True if it was.

        A member is waiting for the answer, so a database fault is not retried here: it reaches the
        command's error handler, and nothing was changed."""
        async with self._db.transaction() as tx:
            moved = await jobs.transition_in(
                tx,
                job_id,
                ACTIVE,
                JobState.CANCELLED,
                finished_at=self._clock.now(),
                error_code="CANCELLED",
                error_message=CANCELLED.render(EN),
                error_i18n=CANCELLED.to_json(),
            )
            if moved:
                await ledger.release(tx, job_id, JobState.CANCELLED.value)
        row = await jobs.get(self._db, job_id) if moved else None
        if row is not None:
            log.info("job %s: cancelled while its profile is not configured; credits released", job_id)
            await self._emit(row)
        return moved
