"""The engine's front door: wires its parts together and starts and stops them.

The parts, one concept each: ``catalog`` (profiles, providers, prices, which profile a request
uses), ``admission`` (quote, checks, hold + enqueue, cancel), ``dispatcher`` (the fair submit line
and key budgets), ``runner`` (one job's state machine and polls), ``availability`` (models a vendor
stopped serving), ``fallbacks`` (where a refused job goes next), ``events`` and ``estimates``.
Callers use the parts directly; this class only builds them and owns their lifetime.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.engine import polling
from bot.engine.admission import Admission
from bot.engine.availability import Availability
from bot.engine.catalog import Catalog
from bot.engine.clock import Clock, SystemClock
from bot.engine.dispatcher import Dispatcher
from bot.engine.estimates import History, eta
from bot.engine.events import Events, JobObserver
from bot.engine.fallback import Fallbacks
from bot.engine.runner import Runner
from bot.engine.views import JobView, view_of
from bot.providers.base import VideoProvider
from bot.providers.profiles import ProviderProfile
from storage import jobs
from storage.db import Database
from storage.jobs import JobRow
from storage.states import JobState


class Engine:
    def __init__(
        self,
        db: Database,
        profiles: Mapping[str, ProviderProfile],
        providers: Mapping[str, VideoProvider],
        *,
        default_profile: str | None = None,
        welcome_credits: int = 0,
        clock: Clock | None = None,
        planner: polling.Planner | None = None,
    ) -> None:
        self.db = db
        self.clock = clock or SystemClock()
        self.availability = Availability(db, self.clock)
        self.catalog = Catalog(profiles, providers, default_profile, is_gone=self.availability.is_gone)
        self.fallbacks = Fallbacks(db, self.catalog, self.availability, self.clock)
        self.history = History()
        self.dispatcher = Dispatcher(profiles, self.clock)
        self.events = Events(self.dispatcher.position, self._eta)
        self.dispatcher.on_moved(self.events.emit)
        self.runner = Runner(
            db,
            self.catalog,
            self.dispatcher,
            self.history,
            self.events.emit,
            clock=self.clock,
            planner=planner or polling.AdaptivePlanner(),
            fallback=self.fallbacks,
        )
        self.admission = Admission(
            db,
            self.catalog,
            self.dispatcher,
            self.runner,
            self.events,
            welcome_credits=welcome_credits,
            clock=self.clock,
        )

    def subscribe(self, observer: JobObserver) -> None:
        self.events.subscribe(observer)

    def _eta(self, job: JobRow, position: int | None) -> float | None:
        if not self.catalog.has(job.profile):
            return None
        profile = self.catalog.profile(job.profile)
        return eta(
            job,
            self.history,
            expected=profile.timing.expected,
            now=self.clock.now(),
            position=position,
            slots=profile.max_concurrent,
        )

    async def job(self, job_id: int) -> JobView | None:
        row = await jobs.get(self.db, job_id)
        return view_of(row) if row is not None else None

    async def attach_message(self, job_id: int, message_id: int) -> None:
        """Remember which Discord message shows this job (a new one if the old was deleted)."""
        await jobs.update(self.db, job_id, message_id=message_id)
        self.dispatcher.remember_message(job_id, message_id)

    async def forget_video_url(self, job_id: int) -> None:
        """Drop a video link the bot refused to fetch (``bot.net``), so no later view shows it."""
        await jobs.update(self.db, job_id, video_url=None)

    async def mark_delivered(self, job_id: int) -> None:
        await jobs.update(self.db, job_id, delivered_at=self.clock.now())

    async def start(self) -> None:
        """Resume every unfinished job, and re-announce finished jobs whose result was never shown."""
        await self.history.seed(self.db)
        await self.availability.load()
        for job in await jobs.active(self.db):
            if self.runner.driving(job.id) or not self.catalog.has(job.profile):
                continue
            if job.state is JobState.QUEUED:
                self.dispatcher.queue_up(job)
            elif job.state is JobState.RUNNING:
                self.dispatcher.pools[job.profile].adopt_task(job.key_name)
            self.runner.spawn(job)
        for job_id in await jobs.undelivered(self.db):
            row = await jobs.get(self.db, job_id)
            if row is not None:
                await self.events.emit(row)

    async def stop(self) -> None:
        """Stop driving jobs; their persisted state lets the next ``start()`` resume them."""
        await self.runner.stop()
        await self.dispatcher.stop()

    async def wait_idle(self) -> None:
        """Wait until no job is being driven (tests and graceful shutdown)."""
        await self.runner.wait_idle()
