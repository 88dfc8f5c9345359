"""The measured side of ``bench.restart``: one process builds a database, another restarts on it.

Why a file of its own: ``bench.restart`` runs this module twice per size — once in today's tree and
once in a copy of the baseline commit, with that tree's ``bot`` and ``storage`` on ``sys.path`` — so
the very same measuring code drives both engines. It therefore uses only what both trees have:
``Engine(db, profiles, providers)``, ``start()``, ``admission.balance()``, ``storage.jobs.insert`` and
the real provider registry (the OpenAI-compatible adapter, with its two network calls replaced).

``build``: a fresh SQLite file with ``--jobs`` active jobs — half running (remote id stored) and half
queued — spread over 50 servers and 2,000 members, each with a card (``message_id``); plus 2,000
finished jobs for the estimates to read and 1 % finished but never delivered, which a start
re-announces. The four keys have task slots for the running half and half the queued ones: at start
a quarter of the jobs are submitted at once (the line moves, and everyone behind is told), the last
quarter stays in line.

``run``: open that file as a restarted bot would and call ``engine.start()``. The vendor is in
process and never answers quickly: a status call is recorded, then hangs for an hour, so each running
job makes exactly one status call, each submitted job one create, and the engine's own work is all
that is measured. Beside it:

* a loop-lag probe sleeps 10 ms again and again and keeps the worst overshoot (a stall);
* a command probe does what a ``/sora`` does before it defers — ``admission.balance``, a settings
  read and a ledger read — every 100 ms, and keeps its worst latency counted from when it was due;
* a watchdog *thread* stops the run at ``--cap`` seconds even when the event loop is stalled, and
  counts the stall and the command still in progress at that moment.

It prints one JSON line: seconds to the first poll, to every running job's first poll, to every
free slot's create, to the rest being back in line (all three: "resumed"), for ``start()`` to return, the worst stall and command latency, the
events observers were handed, and peak RSS. Then it exits at once (no teardown is measured).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import sys
import threading
import time
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from bot.engine.engine import Engine
from bot.providers.base import ApiKey, RemoteTask, TaskSnapshot, TextToVideo
from bot.providers.http import VendorHttp
from bot.providers.profiles import ProviderProfile, Timing
from bot.providers.registry import build_provider
from storage import jobs
from storage.db import Database

PROFILE = "bench"
KEYS = 4
GUILDS, MEMBERS = 50, 2000
FINISHED = 2000  # what History.seed reads
PROBE_SLEEP = 0.010
COMMAND_EVERY = 0.100
HANG = 3600.0
SETTLE = 1.0  # seconds the probes keep running after everything resumed
PROBE_GUILD, PROBE_USER = 999_999, 999_999


def profile(jobs_total: int) -> ProviderProfile:
    """One profile, four keys, slots for the running half and half of the queued half."""
    keys = tuple(ApiKey(name=f"k{i}", secret=SecretStr(f"sk-bench-{i:04d}")) for i in range(KEYS))
    per_key = max(1, (running(jobs_total) + free(jobs_total)) // KEYS)
    timing = Timing(expected=120, first_poll=5, poll_interval=10, timeout=3600)
    return ProviderProfile(
        name=PROFILE,
        kind="openai_videos",
        base_url="http://127.0.0.1:9",  # never contacted: submit and poll are replaced below
        keys=keys,
        max_concurrent=per_key,
        timing=timing,
    )


def running(total: int) -> int:
    return total // 2


def free(total: int) -> int:
    """Queued jobs with a slot waiting for them (a multiple of ``KEYS``, so slots split evenly)."""
    return (total - running(total)) // 2 // KEYS * KEYS


class HangingVendor:
    """The real adapter (capabilities, timing) whose vendor takes an hour to answer anything."""

    def __init__(self, real: Any) -> None:
        self._real = real
        self.polls = self.submits = 0
        self.first_poll: float | None = None
        self.all_polled: float | None = None
        self.all_submitted: float | None = None
        self.expect_polls = self.expect_submits = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    async def submit(self, req: Any, key: ApiKey) -> RemoteTask:
        self.submits += 1
        if self.submits == self.expect_submits:
            self.all_submitted = time.perf_counter()
        await asyncio.sleep(HANG)
        raise AssertionError("unreachable")

    async def poll(self, task: RemoteTask, key: ApiKey) -> TaskSnapshot:
        now = time.perf_counter()
        self.polls += 1
        if self.first_poll is None:
            self.first_poll = now
        if self.polls == self.expect_polls:
            self.all_polled = now
        await asyncio.sleep(HANG)
        raise AssertionError("unreachable")


# ---- build ---------------------------------------------------------------------------------------


async def build(path: Path, total: int) -> None:
    db = await Database.open(path)
    async with VendorHttp() as http:
        caps = build_provider(profile(total), http).capabilities
    model = caps.default_model
    request = TextToVideo(prompt="a lighthouse in a storm, slow push in", model=model)
    body = request.model_dump_json()
    rng = random.Random(12)
    now = time.time()
    first_queued = running(total)
    common = {"channel_id": 7, "profile": PROFILE, "kind": "text", "model": model}
    common |= {"duration": request.duration, "request_json": body, "cost": 4}
    async with db.transaction() as tx:
        for i in range(FINISHED + total // 100):  # finished: estimates, then never delivered
            done = {"state": "succeeded", "submitted_at": now - 9000 + i, "finished_at": now - 8800 + i}
            delivered = {"delivered_at": now - 8700} if i < FINISHED else {}
            await jobs.insert(tx, guild_id=1, user_id=1, message_id=10**6 + i, **common, **done, **delivered)
        for i in range(total):
            where = {"guild_id": 1 + rng.randrange(GUILDS), "user_id": 1 + rng.randrange(MEMBERS)}
            state: dict[str, Any] = {"state": "queued"}
            if i < first_queued:
                state = {"state": "running", "key_name": f"k{i % KEYS}", "remote_id": f"video_{i}"}
                state |= {"submitted_at": now - 60, "deadline_at": now + 3600, "polls": 1}
            await jobs.insert(
                tx, message_id=2 * 10**6 + i, created_at=now - total + i, **where, **common, **state
            )
    await db.close()


# ---- run -----------------------------------------------------------------------------------------


class Probe:
    """Everything the run records; written by the loop, read by the watchdog thread."""

    def __init__(self) -> None:
        self.t0 = 0.0
        self.last_tick = 0.0
        self.max_stall = 0.0
        self.command_max = 0.0
        self.command_due: float | None = None  # the next command was (or will be) due then
        self.commands = 0
        self.events = self.placed = 0
        self.start_returned: float | None = None
        self.in_line: float | None = None

    def report(self, vendor: HangingVendor, finished: bool) -> dict[str, Any]:
        def since(t: float | None) -> float | None:
            return None if t is None else t - self.t0

        now = time.perf_counter()
        ongoing = now - self.last_tick - PROBE_SLEEP if not finished else 0.0
        due = self.command_due
        waiting = max(0.0, now - due) if due is not None and not finished else 0.0
        return {
            "finished": finished,
            "first_poll": since(vendor.first_poll),
            "all_polled": since(vendor.all_polled),
            "all_submitted": since(vendor.all_submitted),
            "in_line": since(self.in_line),
            "start_returned": since(self.start_returned),
            "elapsed": time.perf_counter() - self.t0,
            "polls": vendor.polls,
            "submits": vendor.submits,
            "max_stall": max(self.max_stall, ongoing),
            "command_max": max(self.command_max, waiting),
            "commands": self.commands,
            "events": self.events,
            "placed": self.placed,
            "rss_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }


def emit(result: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()
    os._exit(0)


async def lag_probe(probe: Probe) -> None:
    while True:
        before = time.perf_counter()
        await asyncio.sleep(PROBE_SLEEP)
        probe.last_tick = time.perf_counter()
        probe.max_stall = max(probe.max_stall, probe.last_tick - before - PROBE_SLEEP)


async def command_probe(engine: Engine, probe: Probe) -> None:
    """A command every 100 ms on a fixed timetable: its latency counts from when it was due, as a
    member's command waits from when it arrived, however long the loop was stalled meanwhile."""
    due = probe.t0
    while True:
        due += COMMAND_EVERY
        probe.command_due = due
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        await engine.admission.balance(PROBE_GUILD, PROBE_USER)
        probe.command_due = None
        probe.commands += 1
        probe.command_max = max(probe.command_max, time.perf_counter() - due)
        due = max(due, time.perf_counter() - COMMAND_EVERY)  # after a stall: one command, not a burst


def queued_in_line(engine: Engine) -> int:
    """Queued jobs the dispatcher holds (an internal both trees share, read for the bench only)."""
    return len(engine.dispatcher._queues[PROFILE])


class Counter:
    def __init__(self, probe: Probe) -> None:
        self._probe = probe

    async def on_job_event(self, event: Any) -> None:
        self._probe.events += 1
        self._probe.placed += event.queue_position is not None


async def run(path: Path, cap: float) -> None:
    db = await Database.open(path)
    total = await jobs.count_active(db)
    http = VendorHttp()
    prof = profile(total)
    vendor = HangingVendor(build_provider(prof, http))
    vendor.expect_polls, vendor.expect_submits = running(total), free(total)
    engine = Engine(db, {PROFILE: prof}, {PROFILE: vendor})
    probe = Probe()
    engine.subscribe(Counter(probe))
    await engine.admission.balance(PROBE_GUILD, PROBE_USER)  # warm, as a running bot would be

    def watchdog() -> None:
        time.sleep(cap)
        emit(probe.report(vendor, finished=False))

    probe.t0 = probe.last_tick = time.perf_counter()
    threading.Thread(target=watchdog, daemon=True).start()
    probes = [asyncio.create_task(lag_probe(probe)), asyncio.create_task(command_probe(engine, probe))]
    await asyncio.sleep(0)
    await engine.start()
    probe.start_returned = time.perf_counter()
    waiting = total - running(total) - free(total)
    while vendor.all_polled is None or vendor.all_submitted is None or probe.in_line is None:
        if probe.in_line is None and vendor.all_submitted and queued_in_line(engine) == waiting:
            probe.in_line = time.perf_counter()
        await asyncio.sleep(0.005)
    await asyncio.sleep(SETTLE)
    del probes
    emit(probe.report(vendor, finished=True))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.restart_worker")
    parser.add_argument("mode", choices=("build", "run"))
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--cap", type=float, default=120.0)
    args = parser.parse_args(argv)
    if args.mode == "build":
        asyncio.run(build(args.db, args.jobs))
    else:
        asyncio.run(run(args.db, args.cap))


if __name__ == "__main__":
    main()
