"""Three processes on one PostgreSQL — a gateway (``run``) and two ``worker``s — with 200 jobs, one of
the three SIGKILLed at random every 20 s and started again.

Each process is the real ``python -m bot`` against the fake Discord and the fake nanophoto here.
The members' 200 ``/sora`` commands reach the gateway in waves of 25, a kill after each wave; the
gateway hands each new job to the least busy process (each of the three drives some), and the jobs
of a process that dies are taken over by whoever lives. Counted at the fakes and in the database:

* every job ends in its true state: what the vendor says of its task (or, killed before the vendor
  answered its create, failed as unconfirmed with its credits back);
* no job is created twice at the vendor (each prompt is one member's one job);
* no key takes more than its 100 calls in the hour, across all three processes;
* each result is in the channel exactly once, none missing;
* every balance is exact and the ledger's invariants hold.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections import Counter
from pathlib import Path

import pytest

from storage import ledger
from storage.db import Database
from tests.fakes.bot_process import BotProcess
from tests.fakes.discord import FakeDiscord
from tests.fakes.nanophoto import FakeNanophoto, TaskScript
from tests.ops.process_support import result_counts

JOBS = int(os.environ.get("SORACORD_SCALE_JOBS", "200"))
KEYS = {f"key-{i}": f"np-scale-secret-{i:04d}-0123456789" for i in range(40)}
PER_HOUR = 100
EVERY = 20.0  # seconds between two kills
WAVE = 25  # commands the members send between two kills
WELCOME = 1000
COST = 4  # a 10-second Sora video on nanophoto
SEED = int(os.environ.get("SORACORD_SCALE_SEED", "15"))

pytestmark = pytest.mark.timeout(600)


def providers(vendor: FakeNanophoto) -> str:
    names = ", ".join(f'"K{i}"' for i in range(len(KEYS)))
    return (
        f'[profiles.nano]\nkind = "nanophoto"\nbase_url = "{vendor.base_url}"\nkey_env = [{names}]\n'
        f"requests_per_hour = {PER_HOUR}\nmax_concurrent = 40\n"
        "[profiles.nano.timing]\nexpected = 8\nfirst_poll = 2\npoll_interval = 2\ntimeout = 900\n"
        "backoff_max = 2\n"
    )


class Fleet:
    """The three processes, each with a folder of its own (its saved videos) and the shared URL."""

    def __init__(self, root: Path, fake: FakeDiscord, vendor: FakeNanophoto, url: str) -> None:
        (root / "providers.toml").write_text(providers(vendor), encoding="utf-8")
        env = {
            "DATABASE_URL": url,
            "PROVIDERS_FILE": str(root / "providers.toml"),
            "WELCOME_CREDITS": str(WELCOME),
            "PROGRESS_EDIT_INTERVAL": "1",
            "LEASE_SECONDS": "3",
            "SHUTDOWN_GRACE": "5",
            **{f"K{i}": secret for i, secret in enumerate(KEYS.values())},
        }
        self.fake = fake
        self.procs: dict[str, BotProcess] = {}
        for name in ("gateway", "worker-1", "worker-2"):
            (root / name).mkdir()
            self.procs[name] = BotProcess(root / name, fake, env)
        self.kills: list[str] = []

    async def start(self, name: str) -> None:
        proc = self.procs[name]
        if name == "gateway":
            await proc.start(timeout=60)
            return
        await proc.spawn("worker")
        for _ in range(600):  # bounded: 30 s
            if proc.logged("holding the lease as"):
                return
            assert proc.proc is not None and proc.proc.returncode is None, proc.log()
            await asyncio.sleep(0.05)
        raise AssertionError(f"{name} did not start:\n{proc.log()}")

    async def kill_and_restart(self, name: str) -> None:
        proc = self.procs[name]
        proc.kill()
        await proc.wait(timeout=10)
        self.kills.append(name)
        proc.lines.append(f"---- SIGKILL ({len(self.kills)}) ----")
        await self.start(name)

    def log(self) -> str:
        return "\n\n".join(f"== {name}\n{p.log(80)}" for name, p in self.procs.items())

    async def close(self) -> None:
        for proc in self.procs.values():
            proc.kill()
            if proc.proc is not None:
                await proc.wait(timeout=10)


async def test_three_processes_one_killed_every_20s_keep_every_promise(pg_url: str, tmp_path: Path) -> None:
    rng = random.Random(SEED)
    scripts = [
        TaskScript(
            stages=("queuing", "generating"),
            outcome="failed" if i % 10 == 9 else "completed",
            advance="time",
            stage_seconds=rng.uniform(4, 12),  # two stages: 8-24 s a job, some 13 calls
        )
        for i in range(JOBS)
    ]
    async with FakeDiscord() as fake, FakeNanophoto(KEYS, rate_limit=PER_HOUR) as vendor:
        vendor.script_next(*scripts)
        fleet = Fleet(tmp_path, fake, vendor, pg_url)
        db = await Database.open(pg_url, migrate=False)
        try:
            await fleet.start("gateway")
            await fleet.start("worker-1")
            await fleet.start("worker-2")
            started = time.monotonic()
            # The members keep asking while processes die: a wave of commands, then a kill, and so on.
            for wave, first in enumerate(range(0, JOBS, WAVE)):
                await members_ask(fake, db, first, min(WAVE, JOBS - first))
                if wave == 0:
                    await every_process_drives_new_jobs(db)
                await asyncio.sleep(EVERY)
                await fleet.kill_and_restart(rng.choice(sorted(fleet.procs)))
            while not await all_delivered(db):
                await asyncio.sleep(EVERY)
                if await all_delivered(db):
                    break
                if time.monotonic() - started > 480:
                    raise AssertionError(f"jobs still unfinished: {await unfinished(db, vendor)}")
                await fleet.kill_and_restart(rng.choice(sorted(fleet.procs)))
            await check_every_promise(db, fake, vendor, fleet)
        except BaseException:
            print(fleet.log())
            raise
        finally:
            await fleet.close()
            await db.close()


async def members_ask(fake: FakeDiscord, db: Database, first: int, count: int) -> None:
    """``count`` ``/sora`` commands, 20 at a time, each acknowledged; then every job is in the
    database (so no kill can land between a member's command and its job)."""
    for start in range(first, first + count, 20):
        handles = await asyncio.gather(
            *(
                fake.invoke_slash("sora", {"prompt": f"scene {n}"})
                for n in range(start, min(start + 20, first + count))
            )
        )
        await asyncio.gather(*(fake.wait_for_ack(h, timeout=30) for h in handles))
    for _ in range(600):
        row = await db.fetchone("SELECT COUNT(*) FROM jobs")
        if row is not None and int(row[0]) == first + count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("not every command made its job")


async def every_process_drives_new_jobs(db: Database) -> None:
    """The gateway takes the commands, but the jobs are spread: each of the three drives some."""
    rows = await db.fetchall("SELECT lease_owner, COUNT(*) AS n FROM jobs GROUP BY lease_owner")
    per_role = Counter(str(r["lease_owner"]).split(":")[0] for r in rows)
    counts = sorted(int(r["n"]) for r in rows)
    print(f"the first {sum(counts)} jobs went {counts} to {dict(per_role)}")
    assert per_role == {"run": 1, "worker": 2} and counts[0] >= sum(counts) // 6, rows


async def unfinished(db: Database, vendor: FakeNanophoto) -> str:
    """What the jobs not yet delivered are doing, and how much of each key's hour is spent."""
    rows = await db.fetchall(
        "SELECT state, lease_owner, COUNT(*) AS n FROM jobs WHERE delivered_at IS NULL GROUP BY state, lease_owner"
    )
    alive = await db.fetchall("SELECT owner, until FROM engine_processes")
    calls = Counter(c.key_name for c in vendor.requests if c.route in vendor.KEYED_ROUTES)
    return f"{[dict(r) for r in rows]}; leases {[dict(r) for r in alive]}; calls per key {dict(calls)}"


async def all_delivered(db: Database) -> bool:
    row = await db.fetchone("SELECT COUNT(*) FROM jobs WHERE delivered_at IS NULL")
    return row is not None and int(row[0]) == 0


def most_in_an_hour(times: list[float]) -> int:
    """The most calls any 3,600-second window holds."""
    times, most, first = sorted(times), 0, 0
    for last, at in enumerate(times):
        while at - times[first] >= 3600:
            first += 1
        most = max(most, last - first + 1)
    return most


async def check_every_promise(db: Database, fake: FakeDiscord, vendor: FakeNanophoto, fleet: Fleet) -> None:
    rows = await db.fetchall(
        "SELECT id, state, remote_id, error_code, request_json, cost FROM jobs ORDER BY id"
    )
    tasks = vendor.tasks
    creates = Counter(str(c.json.get("prompt")) for c in vendor.calls("generate") if c.status == 200)
    keyed = [c for c in vendor.requests if c.route in vendor.KEYED_ROUTES]
    per_key = {name: most_in_an_hour([c.at for c in keyed if c.key_name == name]) for name in KEYS}
    unconfirmed = [r for r in rows if r["remote_id"] is None]
    counts = result_counts(fake)
    member = fake.member.user.id
    spent = sum(int(r["cost"]) for r in rows if r["state"] == "succeeded")
    print(
        f"{JOBS} jobs, {len(fleet.kills)} SIGKILLs ({Counter(fleet.kills)}): "
        f"{Counter(r['state'] for r in rows)}; {len(unconfirmed)} unconfirmed; "
        f"most calls of a key in an hour {max(per_key.values())} (limit {PER_HOUR}); "
        f"{sum(counts.values())} results posted; {len(fake.nonces.repeats)} repeats stopped by the nonce"
    )
    assert len(rows) == JOBS
    assert len(fleet.kills) >= JOBS // WAVE, "the run ended before the processes were killed"
    for r in rows:
        if r["remote_id"] is None:  # killed before the vendor's answer to its create came back
            assert (r["state"], r["error_code"]) == ("failed", "UNCONFIRMED"), dict(r)
            continue
        task = tasks[str(r["remote_id"])]
        assert r["state"] == ("succeeded" if task.state == "completed" else "failed"), (dict(r), task.state)
    assert all(n == 1 for n in creates.values()), [p for p, n in creates.items() if n > 1]
    assert max(per_key.values()) <= PER_HOUR, per_key
    assert sorted(counts) == [int(r["id"]) for r in rows], "a result is missing"
    assert all(n == 1 for n in counts.values()), [j for j, n in counts.items() if n > 1]
    assert await ledger.balance(db, fake.guild.id, member) == WELCOME - spent
    assert await ledger.invariant_violations(db) == []
    fake.assert_no_violations()
