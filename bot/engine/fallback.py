"""When a vendor refuses a job for its own reasons, the server's next fallback profile makes it.

A server may name, per kind of video, the profiles to fall back on (``/settings fallback``). A job
refused at submit because of the vendor — the model is not served, the vendor account is out of
credits, or the vendor is down (a 5xx answer, a vendor that cannot be reached, or a profile whose
circuit is open) — moves to the first profile after its own in that list that can make the same
request for no more than the job holds: its hold is trimmed to the new price, never raised, and the
card names the model that makes it. A refusal caused by the request itself never moves, and neither
does a create that may have reached the vendor (no answer): that could make, and bill, two videos.

``Circuits`` is the per-profile breaker: several vendor-down answers in a row open it for a while,
and jobs for that profile then move (or fail) without calling the vendor.
"""

from __future__ import annotations

import logging

from bot.engine.availability import Availability
from bot.engine.catalog import Catalog, Resolved
from bot.engine.clock import Clock
from bot.errors import UserError
from bot.providers.base import REQUEST_ADAPTER, AnyRequest, ProviderError
from storage import guilds, jobs, ledger
from storage.db import Database
from storage.jobs import JobRow
from storage.states import JobState

log = logging.getLogger(__name__)

CIRCUIT_THRESHOLD = 3  # vendor-down answers in a row that open a profile's circuit
CIRCUIT_OPEN_FOR = 300.0  # seconds a circuit stays open

VENDOR_DOWN = ProviderError(
    code="CIRCUIT_OPEN",
    detail="the profile's circuit is open after repeated vendor errors",
    user_key="provider.vendor_down",
    blame="vendor",
    retryable=False,
)
MODEL_GONE = ProviderError(
    code="MODEL_UNAVAILABLE",
    detail="the vendor said it no longer serves this model",
    user_key="provider.model_not_served",
    blame="vendor",
    retryable=False,
    model_unavailable=True,
)


def failure_code(exc: ProviderError) -> str:
    """The code a failed job keeps: one word for "model not served" whatever the vendor called it,
    so the managers' notice and ``doctor`` find it; the vendor's own code is in the log line."""
    return MODEL_GONE.code if exc.model_unavailable else exc.code


def vendor_down(exc: ProviderError) -> bool:
    """The vendor answered 5xx, could not be reached (nothing was sent), or its circuit is open."""
    return exc.code in {"UNREACHABLE", VENDOR_DOWN.code} or (exc.http_status or 0) >= 500


def movable(exc: ProviderError) -> bool:
    """A refusal for the vendor's reasons, after which another profile may make the job."""
    return exc.model_unavailable or exc.user_key == "provider.out_of_credits" or vendor_down(exc)


class Circuits:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._failures: dict[str, int] = {}
        self._open_until: dict[str, float] = {}

    def is_open(self, profile: str) -> bool:
        return self._open_until.get(profile, 0.0) > self._clock.now()

    def record(self, profile: str, error: ProviderError | None) -> None:
        """One submit's outcome: ``None`` for an accepted create."""
        if error is None or not vendor_down(error):
            self._failures[profile] = 0
            return
        count = self._failures.get(profile, 0) + 1
        self._failures[profile] = count
        if count >= CIRCUIT_THRESHOLD:
            self._failures[profile] = 0
            self._open_until[profile] = self._clock.now() + CIRCUIT_OPEN_FOR
            log.warning(
                "profile %s: %d vendor errors in a row; its circuit is open for %.0fs",
                profile,
                count,
                CIRCUIT_OPEN_FOR,
            )


class Fallbacks:
    def __init__(self, db: Database, catalog: Catalog, availability: Availability, clock: Clock) -> None:
        self._db = db
        self._catalog = catalog
        self._availability = availability
        self.circuits = Circuits(clock)

    def blocked(self, job: JobRow) -> ProviderError | None:
        """Why ``job`` must not be sent to its profile now: its model is gone, or the circuit is open."""
        if self._availability.is_gone(job.profile, job.model):
            return MODEL_GONE
        if self.circuits.is_open(job.profile):
            return VENDOR_DOWN
        return None

    async def note_gone(self, job: JobRow, error: ProviderError) -> None:
        """The vendor said ``job``'s model is not served (at submit or while polling)."""
        if error.model_unavailable:
            await self._availability.mark_gone(job.profile, job.model, error.code)

    async def refused(self, job: JobRow, error: ProviderError) -> JobRow | None:
        """Note a refusal at submit; the job moved to a fallback (requeued there), or ``None``."""
        await self.note_gone(job, error)
        if error is not VENDOR_DOWN and error is not MODEL_GONE:
            self.circuits.record(job.profile, error)
        if not movable(error):
            return None
        return await self._move(job)

    async def _move(self, job: JobRow) -> JobRow | None:
        settings = await guilds.get(self._db, job.guild_id)
        chain = settings.fallbacks.get(job.kind, ())
        after = chain[chain.index(job.profile) + 1 :] if job.profile in chain else chain
        request = REQUEST_ADAPTER.validate_json(job.request_json)
        for name in after:
            if name == job.profile or not self._catalog.has(name) or self.circuits.is_open(name):
                continue
            fit = self._fit(name, request, job.cost, settings)
            if fit is None:
                continue
            where, moved_request, cost = fit
            label = where.provider.capabilities.spec(where.model).label
            async with self._db.transaction() as tx:
                ok = await jobs.transition_in(
                    tx,
                    job.id,
                    (JobState.SUBMITTING, JobState.QUEUED),
                    JobState.QUEUED,
                    profile=name,
                    model=where.model,
                    model_label=label,
                    request_json=moved_request.model_dump_json(),
                    key_name=None,
                )
                if not ok:  # cancelled meanwhile
                    return None
                # One trim a job: after an earlier one the job keeps what it already holds.
                trimmed = await ledger.trim_hold(tx, job.id, cost, reason=f"moved to {label}")
                if trimmed or cost == job.cost:
                    await jobs.update_in(tx, job.id, cost=cost)
            log.info(
                "job %s: moved from %s to fallback %s (%s, %d credits)",
                job.id,
                job.profile,
                name,
                where.model,
                cost,
            )
            return await jobs.get(self._db, job.id)
        return None

    def _fit(
        self, name: str, request: AnyRequest, held: int, settings: guilds.GuildSettings
    ) -> tuple[Resolved, AnyRequest, int] | None:
        """The first live model of profile ``name`` that makes ``request`` for at most ``held``."""
        provider = self._catalog.provider(name)
        caps = provider.capabilities
        live = [m for m in caps.models_for(request.kind) if not self._availability.is_gone(name, m)]
        default = caps.default_for(request.kind)
        for model in sorted(live, key=lambda m: m != default):
            candidate = request.model_copy(update={"model": model})
            where = Resolved(name, provider, model)
            try:
                caps.validate_request(candidate)
                cost = self._catalog.price_of(where, candidate, settings)
            except UserError:
                continue
            if cost <= held:
                return where, candidate, cost
        return None
