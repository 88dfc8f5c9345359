"""The optional Prometheus endpoint: on 127.0.0.1 when enabled; jobs by state, unsent results and
(on a shared database) the live engine processes, read at scrape time."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot import metrics
from bot.engine.admission import JobOrigin
from bot.engine.engine import Engine
from bot.providers.base import TextToVideo
from bot.providers.http import RetryPolicy, VendorHttp
from bot.providers.registry import build_provider
from storage import jobs, leases, ledger, outbox
from storage.db import Database
from storage.tx import Tx
from tests.backend import open_database
from tests.fakes.nanophoto import FakeNanophoto, TaskScript


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await open_database(tmp_path / "m.db")
    try:
        yield database
    finally:
        await database.close()


async def insert_job(tx: Tx) -> int:
    """A queued job of profile ``nano``, the one the metrics here are labelled with."""
    return await jobs.insert(
        tx,
        guild_id=1,
        channel_id=2,
        user_id=3,
        profile="nano",
        kind="text",
        model="sora2",
        duration=10,
        request_json="{}",
        cost=1,
    )


def sample(name: str, **labels: str) -> float:
    return metrics.REGISTRY.get_sample_value(name, labels) or 0.0


async def test_endpoint_serves_counters_and_job_states(db: Database) -> None:
    async with db.transaction() as tx:
        for _ in range(2):
            await insert_job(tx)
    async with FakeNanophoto() as vendor:
        profile = vendor.profile("nano")
        metrics.register_profiles([profile])
        before_calls = sample("soracord_vendor_calls_total", profile="nano", code="404")
        before_429 = sample("soracord_vendor_rate_limited_total", profile="nano")
        async with VendorHttp(retry=RetryPolicy(attempts=1)) as http:
            # Through the real hook in VendorHttp: one 404 (unknown task), one forced 429.
            await http.request_json(
                "POST",
                vendor.base_url + "/api/sora-2/check-status",
                key=profile.keys[0],
                json_body={"taskId": "x"},
                timeout_s=2,
                idempotent=True,
            )
            vendor.fail_next("status", status=429)
            await http.request_json(
                "POST",
                vendor.base_url + "/api/sora-2/check-status",
                key=profile.keys[0],
                json_body={"taskId": "x"},
                timeout_s=2,
                idempotent=True,
            )
    assert sample("soracord_vendor_calls_total", profile="nano", code="404") == before_calls + 1
    assert sample("soracord_vendor_rate_limited_total", profile="nano") == before_429 + 1
    metrics.discord_edit("ok")

    server = metrics.MetricsServer(db, "127.0.0.1", 0)
    await server.start()
    try:
        assert server.port > 0
        url = f"http://127.0.0.1:{server.port}/metrics"
        async with aiohttp.ClientSession() as session, session.get(url) as resp:
            assert resp.status == 200
            assert resp.headers["Content-Type"].startswith("text/plain")
            body = await resp.text()
    finally:
        await server.stop()
    assert 'soracord_jobs{state="queued"} 2.0' in body
    assert 'soracord_jobs{state="running"} 0.0' in body
    assert 'soracord_vendor_calls_total{code="404",profile="nano"}' in body
    assert 'soracord_vendor_errors_total{code="429",profile="nano"}' in body
    assert 'soracord_vendor_rate_limited_total{profile="nano"}' in body
    assert 'soracord_discord_edits_total{outcome="ok"}' in body


async def test_transport_failures_count_by_host(db: Database) -> None:
    before = sample("soracord_vendor_errors_total", profile="127.0.0.1:9", code="ClientConnectorError")
    async with VendorHttp(retry=RetryPolicy(attempts=1)) as http:
        with pytest.raises(Exception):  # noqa: B017 - TransportError; the count is what matters
            await http.request_json("GET", "http://127.0.0.1:9/x", key=None, timeout_s=1, idempotent=True)
    after = sample("soracord_vendor_errors_total", profile="127.0.0.1:9", code="ClientConnectorError")
    assert after == before + 1


async def test_server_stops_and_can_start_again(db: Database) -> None:
    for _ in range(2):
        server = metrics.MetricsServer(db, "127.0.0.1", 0)
        await server.start()
        await server.stop()


async def test_every_status_poll_records_its_lag(db: Database) -> None:
    """The engine observes ``soracord_poll_lag_seconds`` for each poll it makes: a real job, polled."""
    async with FakeNanophoto() as vendor, VendorHttp(retry=RetryPolicy(attempts=1)) as http:
        profile = vendor.profile("lagged")
        before = sample("soracord_poll_lag_seconds_count", profile="lagged")
        engine = Engine(db, {"lagged": profile}, {"lagged": build_provider(profile, http)})
        async with db.transaction() as tx:
            await ledger.grant(tx, 1, 3, 10, actor_id=None, reason="test")
        vendor.script_next(TaskScript(stages=("queued", "processing")))
        job = await engine.admission.enqueue(
            JobOrigin(guild_id=1, channel_id=2, user_id=3), TextToVideo(prompt="x")
        )
        await engine.wait_idle()
        await engine.stop()
        polls = (await jobs.get(db, job.id)).polls  # type: ignore[union-attr]
    assert polls >= 2
    assert sample("soracord_poll_lag_seconds_count", profile="lagged") == before + polls


async def _scrape(db: Database, **options: float) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """One real scrape of ``/metrics``: every sample by name and labels."""
    server = metrics.MetricsServer(db, "127.0.0.1", 0, **options)
    await server.start()
    try:
        url = f"http://127.0.0.1:{server.port}/metrics"
        async with aiohttp.ClientSession() as session, session.get(url) as resp:
            body = await resp.text()
    finally:
        await server.stop()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body)
        for s in family.samples
    }


async def _claimed(db: Database, *, ago: float) -> int:
    async with db.transaction() as tx:
        job_id = await insert_job(tx)
    await outbox.claim(db, job_id, nonce=lambda: f"r{job_id}-m", now=time.time() - ago)
    return job_id


async def test_endpoint_shows_unsent_results_and_how_long_the_oldest_waited(db: Database) -> None:
    seen = await _scrape(db)
    assert seen[("soracord_results_unsent", ())] == 0
    assert seen[("soracord_results_unsent_oldest_seconds", ())] == 0
    await _claimed(db, ago=600)  # cut off mid-post ten minutes ago
    await _claimed(db, ago=5)
    sent = await _claimed(db, ago=3600)
    await outbox.mark_sent(db, sent, 999, now=time.time() - 3590)  # out: not counted, however old
    seen = await _scrape(db)
    assert seen[("soracord_results_unsent", ())] == 2
    assert 600 <= seen[("soracord_results_unsent_oldest_seconds", ())] < 660
    if not db.shared:  # alone on SQLite: no lease is renewed, so none is reported
        assert not any(name.startswith("soracord_engine_process") for name, _ in seen)


async def test_endpoint_shows_live_engine_processes_on_a_shared_database(pg_url: str, tmp_path: Path) -> None:
    db = await Database.open(pg_url, folder=tmp_path)
    now = time.time()
    try:
        await leases.renew(db, "worker:box-a:4242:0a1b2c3d", "worker", now=now - 4, until=now + 16)
        await leases.renew(db, "worker:box-b:77:ffee0011", "worker", now=now - 300, until=now + 20)
        await leases.renew(db, "worker:gone:1:deadbeef", "worker", now=now - 60, until=now - 1)  # lapsed
        seen = await _scrape(db, lease_seconds=20)
    finally:
        await db.close()
    assert seen[("soracord_engine_processes", (("role", "worker"),))] == 2
    assert seen[("soracord_engine_processes", (("role", "run"),))] == 0  # reported, so an alert can see it
    renewed = {
        dict(labels)["owner"]: value
        for (name, labels), value in seen.items()
        if name == "soracord_engine_process_renewed_seconds"
    }
    assert set(renewed) == {"worker:box-a:4242:0a1b2c3d", "worker:box-b:77:ffee0011"}
    assert 4 <= renewed["worker:box-a:4242:0a1b2c3d"] < 10  # renewed 4 s ago (20 s lease ending in 16)
    assert 0 <= renewed["worker:box-b:77:ffee0011"] < 5
