"""Letting a job in: its quote, the server's rules, the member's credits, then hold + enqueue.

The one path every way of asking for a video takes — slash commands, buttons, Animate and
``generate`` — so a request is validated, priced and charged the same way wherever it came from.
The checks before a command defers (``quote``, ``check_access``, ``precheck``) only read; the
hold happens in ``enqueue``, in the same transaction as the job row, after the welcome grant or
allowance that is due and the server's caps.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from typing import Any

from bot.engine import access, allowance, caps, confirm
from bot.engine.catalog import Catalog, ModelChoice, Resolved
from bot.engine.clock import Clock
from bot.engine.dispatcher import Dispatcher
from bot.engine.events import Events
from bot.engine.leases import Leases
from bot.engine.outcomes import CANCELLED
from bot.engine.runner import Runner
from bot.engine.scrub import Scrubber
from bot.engine.views import JobView, Riff, view_of
from bot.errors import AlreadyMade, InsufficientCredits, UserError
from bot.i18n import EN
from bot.providers import attempts
from bot.providers.base import AnyRequest, Kind, ProviderError
from storage import allowances, guilds, jobs, leases, ledger
from storage.db import Database, Tx
from storage.faults import is_storage_fault
from storage.jobs import JobRow
from storage.states import JobState

log = logging.getLogger(__name__)

INTERACTION_TOKEN_LIFETIME = 15 * 60.0
PREFLIGHT_WAIT = 10.0  # seconds a preflight check waits for room on its key before submit decides
# A member's job whose insert meets a database fault (locked, full, a dropped connection) is tried
# again this often, after 0.25, 0.5 then 1 s: a blip costs the member a second, not a refusal.
ENQUEUE_TRIES = 4
ENQUEUE_BACKOFF = 0.25


@dataclass(frozen=True)
class JobOrigin:
    """Where a job came from: plain ids, no discord objects."""

    guild_id: int
    channel_id: int
    user_id: int
    application_id: int | None = None
    interaction_token: str | None = None
    interaction_created_at: float | None = None
    message_id: int | None = None  # the message that shows the job (the interaction's original)
    upload_limit: int | None = None  # bytes the channel accepts as an upload (None: Discord's default)
    locale: str | None = None
    riff: Riff | None = None  # the finished job this one was made from (Again, Remix, Variation)


@dataclass(frozen=True)
class Quote:
    profile: str
    model: str
    cost: int
    label: str = ""  # the model as members read it


class Admission:
    def __init__(
        self,
        db: Database,
        catalog: Catalog,
        dispatcher: Dispatcher,
        runner: Runner,
        events: Events,
        *,
        leases: Leases,
        welcome_credits: int,
        confirm_above: int = confirm.DEFAULT_CONFIRM_ABOVE,
        clock: Clock,
    ) -> None:
        self._db = db
        self._catalog = catalog
        self._dispatcher = dispatcher
        self._runner = runner
        self._events = events
        self._leases = leases  # who drives a job queued here: this process, or a less busy one
        self._welcome = welcome_credits
        self.confirm_default = confirm_above  # for servers that set no threshold of their own
        self._clock = clock
        self._scrub = Scrubber.of(catalog.profiles())

    async def quote(self, req: AnyRequest, guild_id: int, profile: str | None = None) -> Quote:
        """Validate ``req`` where it would go and price it for this server. Raises ``UserError``."""
        settings = await guilds.get(self._db, guild_id)
        where = self._catalog.resolve(req.kind, settings, profile=profile, request=req)
        where.provider.capabilities.validate_request(req.model_copy(update={"model": where.model}))
        cost = self._catalog.price_of(where, req, settings)
        label = where.provider.capabilities.spec(where.model).label
        return Quote(where.profile, where.model, cost, label)

    async def where(self, kind: Kind, guild_id: int, *, profile: str | None = None) -> Resolved:
        """Where this server's request of ``kind`` would go (``Catalog.resolve`` with its settings)."""
        settings = await guilds.get(self._db, guild_id)
        return self._catalog.resolve(kind, settings, profile=profile)

    async def model_choices(
        self, kind: Kind, guild_id: int, *, family: str | None = None
    ) -> list[ModelChoice]:
        """The models this server's members may pick for ``kind`` (autocomplete)."""
        return self._catalog.model_choices(kind, await guilds.get(self._db, guild_id), family=family)

    async def pick(
        self, kind: Kind, guild_id: int, choice: str | None = None, *, family: str | None = None
    ) -> Resolved:
        """Where a member's model choice goes for this server (``Catalog.pick``)."""
        return self._catalog.pick(kind, await guilds.get(self._db, guild_id), choice, family=family)

    async def check_access(
        self, guild_id: int, channel_id: int, role_ids: Iterable[int], *, is_manager: bool
    ) -> None:
        """Refuse (``UserError``) when the server does not let this member generate in this channel."""
        access.check_access(await guilds.get(self._db, guild_id), channel_id, role_ids, is_manager=is_manager)

    async def balance(self, guild_id: int, user_id: int) -> int:
        """The member's spendable credits, counting a welcome grant or allowance that is due but not
        yet written (it lands with their next job or grant). Reads only."""
        settings = await guilds.get(self._db, guild_id)
        standing = await allowances.standing(
            self._db, guild_id, user_id, allowance.current_period(settings, self._clock.now())
        )
        due = 0
        if standing.balance is None:
            due += self._welcome
        if settings.allowance_amount and settings.allowance_period and not standing.claimed:
            due += settings.allowance_amount
        return (standing.balance or 0) + due

    async def top_up(self, guild_id: int, user_id: int) -> None:
        """Write the welcome grant or allowance that is due (before a manager's grant, say)."""
        settings = await guilds.get(self._db, guild_id)
        now = self._clock.now()
        await self._db.group_write(
            lambda tx: allowance.top_up_in(tx, settings, user_id, welcome=self._welcome, now=now)
        )

    async def precheck(self, guild_id: int, user_id: int, quote: Quote) -> None:
        """Everything ``enqueue`` would refuse for credits or caps, checked before a command defers.

        Lets the refusal be an ephemeral reply; ``enqueue`` checks again atomically with the hold.
        One read on the common path; the caps' counts only when the server set caps — all of them in
        one trip to a read connection, so a burst of commands never queues behind the write lock.
        """
        settings = await guilds.get(self._db, guild_id)
        now = self._clock.now()
        if caps.any_set(settings):
            await self._db.read(lambda tx: caps.check_in(tx, settings, user_id, quote.cost, now=now))
        balance = await self.balance(guild_id, user_id)
        if balance < quote.cost:
            raise InsufficientCredits(balance, quote.cost)

    async def confirm_above(self, guild_id: int) -> int:
        """The price above which this server's jobs ask their member first (0: never)."""
        return confirm.threshold(await guilds.get(self._db, guild_id), self.confirm_default)

    async def asks_first(self, guild_id: int, quote: Quote, *, agreed: int = 0) -> bool:
        """The quoted job must be confirmed before it is charged (``bot.engine.confirm``)."""
        return confirm.asks_first(await self.confirm_above(guild_id), quote.cost, agreed=agreed)

    async def preflight(self, req: AnyRequest, quote: Quote) -> None:
        """The provider's own checks that need a network call (after the command deferred, before any
        charge). A refusal becomes a ``UserError`` in the provider's plain words."""
        provider = self._catalog.provider(quote.profile)
        pool = self._dispatcher.pools[quote.profile]
        key = pool.key(None)
        # Its calls count against the key like any other; a member is not kept waiting for room.
        gate = pool.gate(0, key.name, prepaid=0, floor=0.0, until=self._clock.now() + PREFLIGHT_WAIT)
        try:
            with attempts.gated(gate):
                await provider.preflight(req, key)
        except ProviderError as exc:
            if exc.retryable:
                return  # the provider is slow or down right now: let submit find out and retry
            params = self._scrub.fields(exc.user_params)  # the vendor's words, shown to the member
            raise UserError(exc.user_key or "provider.generic", **params) from None

    async def enqueue(
        self, origin: JobOrigin, req: AnyRequest, profile: str | None = None, *, once_key: str | None = None
    ) -> JobView:
        """Insert the job and hold its cost in one transaction, then start driving it — here, or, where
        several processes share the database, in the live one driving the fewest jobs, which hears
        of it at once and shows the job's card from then on (``Leases.hand_out``).

        ``once_key`` names the confirmation that asks for the job (a button press may arrive twice):
        a key that already made a job makes no other, and ``AlreadyMade`` names the first one.
        Without one the job gets a key of its own, so an insert tried again after a database fault
        (``ENQUEUE_TRIES``) whose first commit did land finds that job rather than making a second.
        """
        quote = await self.quote(req, origin.guild_id, profile)
        settings = await guilds.get(self._db, origin.guild_id)
        now = self._clock.now()
        expires = (origin.interaction_created_at or now) + INTERACTION_TOKEN_LIFETIME
        here = self._leases.owner
        once_key = once_key or f"enqueue:{uuid.uuid4().hex}"
        owner = self._leases.hand_out(now) if self._db.shared else here

        async def body(tx: Tx) -> JobRow | None:  # the whole transaction in one trip to the write connection
            made = await jobs.made_by_in(tx, once_key)
            if made is not None:
                raise AlreadyMade(made)
            await allowance.top_up_in(tx, settings, origin.user_id, welcome=self._welcome, now=now)
            await caps.check_in(tx, settings, origin.user_id, quote.cost, now=now)
            insert = jobs.insert(
                tx,
                guild_id=origin.guild_id,
                channel_id=origin.channel_id,
                user_id=origin.user_id,
                application_id=origin.application_id,
                interaction_token=origin.interaction_token,
                interaction_expires_at=expires if origin.interaction_token else None,
                message_id=origin.message_id,
                upload_limit=origin.upload_limit,
                locale=origin.locale,
                profile=quote.profile,
                kind=req.kind.value,
                model=quote.model,
                model_label=quote.label or quote.model,
                duration=req.duration,
                request_json=req.model_copy(update={"model": quote.model}).model_dump_json(),
                cost=quote.cost,
                created_at=now,
                updated_at=now,
                once_key=once_key,
                lease_owner=owner,
                lease_epoch=1 if owner == here else leases.HANDED,
                **_riff_columns(origin.riff),
            )
            try:
                job_id = await insert
            except jobs.OnceTaken as taken:  # pressed twice at once (PostgreSQL): the first press won
                raise AlreadyMade(taken.job_id) from None
            try:
                await ledger.hold(tx, origin.guild_id, origin.user_id, job_id, quote.cost)
            except ledger.NotEnoughCredits as exc:
                raise InsufficientCredits(exc.balance, exc.cost) from None
            return await jobs.get_in(tx, job_id)

        try:
            job = await self._insert(body, once_key)
        except BaseException:
            self._leases.took_back(owner)
            raise
        if job.lease_owner != here:
            await self._leases.hand_over(job.lease_owner or "")
            return view_of(job)
        self._dispatcher.queue_up(job)
        self._runner.spawn(job)  # before the event's await: from here ``wait_idle`` sees the job
        await self._events.emit(job)
        return view_of(job)

    async def _insert(
        self, body: Callable[[Tx], Coroutine[Any, Any, JobRow | None]], once_key: str
    ) -> JobRow:
        """Run the job's transaction (the row comes back with it: no read before it is driven),
        again after a database fault. A try that finds the job made already (``AlreadyMade``) after
        a fault found the one the faulted try committed — or a second press's, which the driver
        guards below keep to one driver — and carries on with it."""
        for attempt in range(ENQUEUE_TRIES):
            try:
                job: JobRow | None = await self._db.group_write(body)
            except AlreadyMade as made:
                if attempt == 0:
                    raise
                job = await jobs.get(self._db, made.job_id)
            except Exception as exc:
                if not is_storage_fault(exc) or attempt == ENQUEUE_TRIES - 1:
                    raise
                log.warning("queueing a job met a database fault (%s); trying again", type(exc).__name__)
                await asyncio.sleep(ENQUEUE_BACKOFF * 2**attempt)
                continue
            assert job is not None and job.once_key == once_key
            return job
        raise AssertionError("unreachable: the last try returns or raises")

    async def made_by(self, once_key: str) -> int | None:
        """The job a confirmation already made (``enqueue(..., once_key=...)``), if any."""
        return await jobs.made_by(self._db, once_key)

    async def cancel(self, job_id: int) -> bool:
        """Cancel a job still waiting in the queue; its credits come back at once."""

        async def body(tx: Tx) -> bool:  # one trip
            moved = await jobs.transition_in(
                tx,
                job_id,
                (JobState.QUEUED,),
                JobState.CANCELLED,
                finished_at=self._clock.now(),
                error_code="CANCELLED",
                error_message=CANCELLED.render(EN),
                error_i18n=CANCELLED.to_json(),
            )
            if moved:
                await ledger.release(tx, job_id, JobState.CANCELLED.value)
            return moved

        if not await self._db.group_write(body):
            return False
        await self._leases.ended(job_id)  # its driver may be in another process
        self._runner.abandon(job_id)
        job = await jobs.get(self._db, job_id)
        assert job is not None
        self._dispatcher.dequeue(job)
        await self._events.emit(job)
        return True


def _riff_columns(riff: Riff | None) -> dict[str, int | None]:
    if riff is None:
        return {}
    return {
        "riff_of": riff.job_id,
        "riff_owner_id": riff.owner_id,
        "riff_channel_id": riff.channel_id,
        "riff_message_id": riff.message_id,
    }
