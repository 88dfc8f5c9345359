"""The engine's front door: wires its parts together and starts and stops them.

The parts, one concept each: ``catalog`` (profiles, providers, prices, which profile a request
uses), ``admission`` (quote, checks, hold + enqueue, cancel), ``dispatcher`` (the fair submit line
and key budgets), ``runner`` (one job's state machine and polls), ``leases`` (which jobs this process drives, and
taking over those of a process that died), ``availability`` (models a vendor
stopped serving), ``fallbacks`` (where a refused job goes next), ``outbox`` (results to post,
claimed and marked), ``uptime`` (deadlines count the time the bot was up), ``orphans`` (jobs whose
profile left the configuration), ``db_health`` (database faults, retried and reported), ``events``
and ``estimates``.
Callers use the parts directly; this class only builds them and owns their lifetime.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.engine import polling
from bot.engine.admission import Admission
from bot.engine.availability import Availability
from bot.engine.catalog import Catalog
from bot.engine.clock import Clock, SystemClock
from bot.engine.confirm import DEFAULT_CONFIRM_ABOVE
from bot.engine.db_retry import DbHealth
from bot.engine.dispatcher import Dispatcher
from bot.engine.estimates import History, eta
from bot.engine.events import Events, JobEvent, JobObserver
from bot.engine.fallback import Fallbacks
from bot.engine.leases import LEASE_SECONDS, TAKE_PAGE, Leases, owner_name
from bot.engine.orphans import Orphans
from bot.engine.outbox import Outbox
from bot.engine.posts import Posts
from bot.engine.runner import Runner
from bot.engine.slices import Slicer, settle_heap
from bot.engine.uptime import Uptime
from bot.engine.views import JobView, view_of
from bot.providers.base import VideoProvider
from bot.providers.profiles import ProviderProfile
from storage import jobs, leases
from storage.db import Database
from storage.jobs import JobRow
from storage.states import JobState

RESUME_BATCH = 50  # drivers started per turn of the loop: their first steps run in the next turn


class Engine:
    def __init__(
        self,
        db: Database,
        profiles: Mapping[str, ProviderProfile],
        providers: Mapping[str, VideoProvider],
        *,
        default_profile: str | None = None,
        welcome_credits: int = 0,
        confirm_above: int = DEFAULT_CONFIRM_ABOVE,
        clock: Clock | None = None,
        planner: polling.Planner | None = None,
        role: str = "run",
        lease_seconds: float = LEASE_SECONDS,
    ) -> None:
        self.db = db
        self.clock = clock or SystemClock()
        self.db_health = DbHealth(self.clock)  # what doctor and the logs say while the database fails
        self.uptime = Uptime(db, self.clock, self.db_health)
        self.availability = Availability(db, self.clock)
        self.catalog = Catalog(profiles, providers, default_profile, is_gone=self.availability.is_gone)
        self.fallbacks = Fallbacks(db, self.catalog, self.availability, self.clock)
        self.history = History()
        self.outbox = Outbox(db, self.clock)  # results to post, each exactly once
        self.posts = Posts(db, self.clock)  # gallery copies, each exactly once; how results go out
        self.owner = owner_name(role)  # this process, in its lease and its keys' holds
        self.dispatcher = Dispatcher(profiles, self.clock, db=db, owner=self.owner)
        self.events = Events(
            self.dispatcher.tell_position,
            self._eta,
            peek=self.dispatcher.position,
            line=self.dispatcher.line_length,
            clock=self.clock,
            reload=lambda job_id: jobs.get(db, job_id),
        )
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
            health=self.db_health,
        )
        self.orphans = Orphans(db, self.catalog, self.events.emit, self.clock)
        self.leases = Leases(
            db,
            self.clock,
            self._adopt,
            self._ended,
            owner=self.owner,
            role=role,
            seconds=lease_seconds,
            load=self.runner.load,
            live=self.dispatcher.share_slots,
        )
        self.admission = Admission(
            db,
            self.catalog,
            self.dispatcher,
            self.runner,
            self.events,
            leases=self.leases,
            welcome_credits=welcome_credits,
            confirm_above=confirm_above,
            clock=self.clock,
        )

    def subscribe(self, observer: JobObserver) -> None:
        self.events.subscribe(observer)

    def _eta(self, job: JobRow, position: int | None) -> float | None:
        if not self.catalog.has(job.profile):
            return None
        profile = self.catalog.profile(job.profile)
        timing = self.runner.timing(job)  # a many-shot job's own, not one clip's
        return eta(
            job,
            self.history,
            expected=timing.expected,
            now=self.clock.now(),
            position=position,
            slots=profile.max_concurrent,
        )

    async def job(self, job_id: int) -> JobView | None:
        row = await jobs.get(self.db, job_id)
        return view_of(row) if row is not None else None

    async def event(self, job_id: int) -> JobEvent | None:
        """The job as its card would show it now (a view a member asked for: ``/jobs show``)."""
        row = await jobs.get(self.db, job_id)
        return self.events.describe(row, tell=False) if row is not None else None

    async def attach_message(self, job_id: int, message_id: int) -> None:
        """Remember which Discord message shows this job (a new one if the old was deleted)."""
        await jobs.update(self.db, job_id, message_id=message_id)
        self.dispatcher.remember_message(job_id, message_id)

    async def forget_video_url(self, job_id: int) -> None:
        """Drop a video link the bot refused to fetch (``bot.net``), so no later view shows it — and
        the links of a video left in parts, one of which it refused."""
        await jobs.update(self.db, job_id, video_url=None, video_parts=None)

    async def start(self) -> None:
        """Take and resume every free unfinished job, and re-announce finished jobs whose result (or
        gallery post) was never shown.

        Free jobs — on SQLite every one; on PostgreSQL those no live process holds — are taken a
        page at a time (``leases``) and resumed a slice at a time (``slices``), so the event loop
        keeps answering commands while tens of thousands resume; each driver starts from the row
        the take returned. Queued jobs are put back in line without an event each: the line's first
        jobs are told their places in one round (``positions``).
        """
        await self.uptime.resume()  # first: the deadlines read below already count the outage out
        await self.history.seed(self.db)
        await self.availability.load()
        await self.dispatcher.budgets.load()  # the calls of the last hour still count
        await self.leases.start()
        pending = await self.posts.unsent_jobs()  # gallery copies: each claimed before it is sent
        for row in (await jobs.get_many(self.db, pending)).values():
            if not self.runner.driving(row.id) and await self._nobody_else_has(row):
                await self.events.emit(row)
        await self.orphans.announce()

    async def _nobody_else_has(self, job: JobRow) -> bool:
        """Whether no other live process holds ``job`` (SQLite: there is no other process)."""
        owner = job.lease_owner
        if not self.db.shared or owner is None or owner == self.owner:
            return True
        return not await leases.alive(self.db, owner, now=self.clock.now())

    def _ended(self, job_id: int) -> None:
        """Another process ended a job this one may drive (a member cancelled it there): let it go."""
        row = self.dispatcher.row(job_id)
        self.runner.abandon(job_id)
        if row is not None:
            self.dispatcher.let_go(row)

    async def _adopt(self, page: list[JobRow]) -> None:
        """Drive the jobs just taken: the unfinished ones resume, the finished ones are re-announced,
        and those handed here new (``Admission.enqueue`` in another process; driven by nobody before)
        are shown as queued, as their admission would have.

        A page as large as a take returns is kept out of the garbage collector's full passes while
        its jobs live (``settle_heap``): a restart at scale loads tens of thousands of rows.
        """
        slicer = Slicer(every=RESUME_BATCH)
        finished: list[JobRow] = []
        for job in page:
            await slicer.tick()
            if self.runner.driving(job.id) or not self.catalog.has(job.profile):
                continue  # an orphan (its profile is gone) is kept as it is: ``orphans``
            if not job.active:
                finished.append(job)
                continue
            if job.state is JobState.QUEUED:
                self.dispatcher.queue_up(job)
            elif job.state is JobState.RUNNING:
                self.dispatcher.pools[job.profile].adopt_task(job.id, job.key_name, polls=job.polls)
            self.runner.spawn(job)
            if leases.first_drive(job) and job.state is JobState.QUEUED:
                await self.events.emit(job)  # before its driver's first step, as admission does
        if len(page) >= TAKE_PAGE:  # a large restart: what is loaded lives as long as its jobs
            settle_heap()
        for job in finished:
            await self.events.emit(job)

    async def stop(self, *, grace: float = 0.0) -> None:
        """Stop driving jobs; their persisted state lets the next ``start()`` resume them.

        Creates in flight get up to ``grace`` seconds (``SHUTDOWN_GRACE``) to come back and have
        their remote ids stored, so a job the vendor accepted is never refunded as unconfirmed.
        """
        await self.runner.stop(grace)
        await self.leases.stop()  # after the drivers: what they stored is what the next owner reads
        await self.events.stop()
        await self.dispatcher.stop()
        await self.uptime.stop()

    async def wait_idle(self) -> None:
        """Wait until no job is being driven (tests and graceful shutdown)."""
        await self.runner.wait_idle()
