"""Prometheus metrics: counters the code bumps as it goes, and an optional ``/metrics`` endpoint.

The counters always count (a dict increment); the endpoint is off unless ``METRICS_PORT`` is set,
and listens on ``METRICS_HOST`` (127.0.0.1 by default: metrics say which vendors the bot uses and
how much, so exposing them is a choice). Everything lives in this module's own ``REGISTRY``, not
prometheus_client's global one, so nothing else registered in the process leaks into the page.

Jobs by state are not counted as they change: ``JobStateCollector`` reads them from the database
when the endpoint is scraped, so the numbers are right after a restart and never drift. So are the
results waiting to be posted (``UnsentCollector``) and, on a database several processes share, the
live engine processes and their leases (``ProcessCollector``): what ``doctor`` shows, for alerting.

Vendor calls are labelled by *profile*. ``bot/providers/http.py`` knows the key and the URL of a
call but not the profile, so ``register_profiles`` maps each key name and each base URL's host to
its profile when the bot starts; a call that matches neither (a video download from a CDN) is
labelled with its host.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlsplit

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from bot.engine.leases import LEASE_SECONDS
from storage import jobs, process_report
from storage.process_report import LiveProcess
from storage.states import JobState

if TYPE_CHECKING:
    from bot.providers.profiles import ProviderProfile
    from storage.db import Database

log = logging.getLogger(__name__)

REGISTRY = CollectorRegistry(auto_describe=True)

VENDOR_CALLS = Counter(
    "soracord_vendor_calls",
    "Vendor API requests by profile and answer (HTTP status, or the transport error's name).",
    ["profile", "code"],
    registry=REGISTRY,
)
VENDOR_ERRORS = Counter(
    "soracord_vendor_errors",
    "Vendor API requests that failed: HTTP status >= 400 or no answer at all.",
    ["profile", "code"],
    registry=REGISTRY,
)
VENDOR_RATE_LIMITED = Counter(
    "soracord_vendor_rate_limited",
    "Vendor API answers with HTTP 429.",
    ["profile"],
    registry=REGISTRY,
)
DISCORD_EDITS = Counter(
    "soracord_discord_edits",
    "Updates of a job's Discord message, by outcome (ok, failed).",
    ["outcome"],
    registry=REGISTRY,
)
POLL_LAG = Histogram(
    "soracord_poll_lag_seconds",
    "How late a status poll ran compared with when it was scheduled.",
    ["profile"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
    registry=REGISTRY,
)

_by_key: dict[str, str] = {}
_by_host: dict[str, str] = {}


def register_profiles(profiles: Iterable[ProviderProfile]) -> None:
    """Remember which key names and hosts belong to which profile (for the ``profile`` label)."""
    hosts: dict[str, set[str]] = {}
    for profile in profiles:
        for key in profile.keys:
            _by_key[key.name] = profile.name
        host = urlsplit(profile.base_url).netloc
        hosts.setdefault(host, set()).add(profile.name)
    for host, names in hosts.items():
        _by_host[host] = "|".join(sorted(names))


class _Named(Protocol):
    @property
    def name(self) -> str: ...


def profile_label(key: _Named | None, url: str) -> str:
    """The profile a call belongs to: by its key, else by its host, else the host itself."""
    if key is not None and key.name in _by_key:
        return _by_key[key.name]
    host = urlsplit(url).netloc
    return _by_host.get(host, host or "-")


def vendor_answer(key: _Named | None, url: str, status: int) -> None:
    """Count one vendor HTTP answer (called by ``VendorHttp`` for every attempt)."""
    profile = profile_label(key, url)
    code = str(status)
    VENDOR_CALLS.labels(profile, code).inc()
    if status >= 400:
        VENDOR_ERRORS.labels(profile, code).inc()
    if status == 429:
        VENDOR_RATE_LIMITED.labels(profile).inc()


def vendor_failure(key: _Named | None, url: str, exc: BaseException) -> None:
    """Count one vendor call that got no HTTP answer (connection refused, timeout, reset)."""
    profile = profile_label(key, url)
    code = type(exc).__name__
    VENDOR_CALLS.labels(profile, code).inc()
    VENDOR_ERRORS.labels(profile, code).inc()


def discord_edit(outcome: str) -> None:
    """Count one update of a job's message in Discord (``ok`` or ``failed``)."""
    DISCORD_EDITS.labels(outcome).inc()


def observe_poll_lag(profile: str, seconds: float) -> None:
    """Record how late a poll ran (actual start − scheduled time); negative values count as 0."""
    POLL_LAG.labels(profile).observe(max(0.0, seconds))


class JobStateCollector(Collector):
    """``soracord_jobs{state}``: the jobs table counted by state, refreshed before each scrape."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._counts: dict[JobState, int] = dict.fromkeys(JobState, 0)

    async def refresh(self) -> None:
        self._counts = await jobs.counts_by_state(self._db)

    def describe(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily("soracord_jobs", "Jobs in the database by state.", labels=["state"])

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily("soracord_jobs", "Jobs in the database by state.", labels=["state"])
        for state, n in self._counts.items():
            family.add_metric([state.value], n)
        yield family


class UnsentCollector(Collector):
    """``soracord_results_unsent`` and ``soracord_results_unsent_oldest_seconds``: the delivery outbox's
    results claimed but not posted yet, and how long the oldest has waited (0 when none waits). A
    running bot posts within seconds, so an oldest age of minutes is worth an alert."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._count = 0
        self._oldest = 0.0

    async def refresh(self) -> None:
        waiting = await process_report.unsent(self._db)
        self._count = waiting.count
        since = waiting.oldest_since
        self._oldest = 0.0 if since is None else max(0.0, time.time() - since)

    def _families(self) -> tuple[GaugeMetricFamily, GaugeMetricFamily]:
        return (
            GaugeMetricFamily("soracord_results_unsent", "Results claimed for posting but not posted yet."),
            GaugeMetricFamily(
                "soracord_results_unsent_oldest_seconds",
                "How long the oldest unsent result has waited to be posted (0: none waits).",
            ),
        )

    def describe(self) -> Iterator[GaugeMetricFamily]:
        yield from self._families()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        count, oldest = self._families()
        count.add_metric([], self._count)
        oldest.add_metric([], self._oldest)
        yield count
        yield oldest


ROLES = ("run", "worker")  # always reported, so that "no worker is live" reads 0 rather than nothing


class ProcessCollector(Collector):
    """``soracord_engine_processes{role}`` and ``soracord_engine_process_renewed_seconds{role,owner}``:
    on a shared database, the live engine processes per role and how long ago each renewed its lease
    (it renews every third of ``LEASE_SECONDS``; near ``LEASE_SECONDS`` it is about to lose its jobs).
    The owner label is the process's name, ``role:host:pid:random``: new at every start."""

    def __init__(self, db: Database, lease_seconds: float = LEASE_SECONDS) -> None:
        self._db = db
        self._lease_seconds = lease_seconds
        self._live: list[LiveProcess] = []
        self._now = 0.0

    async def refresh(self) -> None:
        self._now = time.time()
        self._live = await process_report.live_processes(self._db, now=self._now)

    def _families(self) -> tuple[GaugeMetricFamily, GaugeMetricFamily]:
        return (
            GaugeMetricFamily(
                "soracord_engine_processes", "Engine processes with a live lease, by role.", labels=["role"]
            ),
            GaugeMetricFamily(
                "soracord_engine_process_renewed_seconds",
                "Seconds since each live engine process last renewed its lease.",
                labels=["role", "owner"],
            ),
        )

    def describe(self) -> Iterator[GaugeMetricFamily]:
        yield from self._families()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        counts, renewed = self._families()
        per_role = dict.fromkeys(ROLES, 0)
        for process in self._live:
            per_role[process.role] = per_role.get(process.role, 0) + 1
            renewed.add_metric(
                [process.role, process.owner], process.renewed_ago(self._now, self._lease_seconds)
            )
        for role, n in sorted(per_role.items()):
            counts.add_metric([role], n)
        yield counts
        yield renewed


class MetricsServer:
    """``GET /metrics`` on ``host:port``, served by aiohttp on the bot's own event loop.

    Serving on the loop (not prometheus_client's thread server) lets a scrape read the database
    through the bot's one connection, under the same lock as every other read.
    """

    def __init__(self, db: Database, host: str, port: int, *, lease_seconds: float = LEASE_SECONDS) -> None:
        self.host = host
        self.port = port
        self.jobs = JobStateCollector(db)
        self.unsent = UnsentCollector(db)
        # Alone on SQLite, the process's lease is not renewed (nobody reads it): nothing to show.
        self.processes = ProcessCollector(db, lease_seconds) if db.shared else None
        self._collectors: list[JobStateCollector | UnsentCollector | ProcessCollector] = [
            c for c in (self.jobs, self.unsent, self.processes) if c is not None
        ]
        self._runner: web.AppRunner | None = None
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        if self.port == 0:  # tests ask for any free port
            server = site._server
            sockets = getattr(server, "sockets", None) or []
            if sockets:
                self.port = int(sockets[0].getsockname()[1])
        for collector in self._collectors:
            REGISTRY.register(collector)
        log.info("metrics on http://%s:%d/metrics", self.host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            for collector in self._collectors:
                REGISTRY.unregister(collector)
            await self._runner.cleanup()
            self._runner = None

    async def _metrics(self, request: web.Request) -> web.Response:
        async with self._lock:
            for collector in self._collectors:
                try:
                    await collector.refresh()
                except Exception:  # a busy or closed database must not take the other metrics down
                    log.warning("metrics: could not read %s", type(collector).__name__, exc_info=True)
            body = generate_latest(REGISTRY)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
