"""The smaller repositories on both backends: each once-only claim is once only, settings round-trip,
the key call log and the delivery outbox keep what they promise."""

from __future__ import annotations

import itertools

from storage import allowances, call_log, guilds, model_status, outbox
from storage.db import Database
from storage.guilds import GuildSettings
from storage.tx import Tx
from tests.storage.conftest import insert_job

GUILD, ALICE = 10, 501


async def test_an_account_and_an_allowance_are_claimed_once(db: Database) -> None:
    assert await allowances.standing(db, GUILD, ALICE, "2026-W01") == allowances.Standing(None, False)

    async def claim(tx: Tx) -> tuple[bool, bool]:
        return await allowances.open_account_in(tx, GUILD, ALICE), await allowances.claim_in(
            tx, GUILD, ALICE, "2026-W01", 5.0
        )

    assert await db.write(claim) == (True, True)
    assert await db.write(claim) == (False, False)
    assert await allowances.standing(db, GUILD, ALICE, "2026-W01") == allowances.Standing(0, True)
    assert await allowances.standing(db, GUILD, ALICE, "2026-W02") == allowances.Standing(0, False)


async def test_server_settings_round_trip(db: Database) -> None:
    assert await guilds.get(db, GUILD) == GuildSettings(GUILD)
    wanted = GuildSettings(
        GUILD,
        price_multiplier=1.5,
        prices={"p:m:4": 12},
        allowance_amount=30,
        allowance_period="week",
        max_active_per_member=2,
        allowed_channels=(2**62 + 1,),
        allowed_roles=(7, 8),
        fallbacks={"text": ("a", "b")},
        default_profile="p",
        default_model="m",
        admin_channel_id=2**62 + 3,
    )
    await guilds.save(db, wanted)
    db.memo.clear()  # read it back from the table, not the memo
    assert await guilds.get(db, GUILD) == wanted
    changed = await guilds.update(db, GUILD, max_active_per_member=None)
    db.memo.clear()
    assert await guilds.get(db, GUILD) == changed
    assert await guilds.default_models(db) == [(GUILD, "p", "m")]


async def test_the_call_log_keeps_the_last_hour(db: Database) -> None:
    window = 7.5  # a booking forgets its key's calls from before the window before last: <= at - 15
    for at in (10.0, 20.0, 30.0):
        assert (await call_log.reserve(db, "k1", at, 100, window))[0]
    assert (await call_log.reserve(db, "k2", 35.0, 100, window))[0]
    assert (await call_log.reserve(db, "k1", 40.0, 100, window))[0]
    assert await call_log.since(db, 0.0) == {"k1": [30.0, 40.0], "k2": [35.0]}
    assert await call_log.since(db, 36.0) == {"k1": [40.0]}


async def test_a_model_outage_and_its_notice_are_told_once(db: Database) -> None:
    assert await model_status.mark(db, "p", "m", 100.0, "gone") is True
    assert await model_status.mark(db, "p", "m", 101.0, "gone") is False
    assert [o.model for o in await model_status.current(db, 50.0)] == ["m"]
    assert await model_status.current(db, 150.0) == [], "an old outage lapses"
    assert await model_status.claim_notice(db, GUILD, "p", "m", "2026-01-01") is True
    assert await model_status.claim_notice(db, GUILD, "p", "m", "2026-01-01") is False
    await model_status.mark(db, "p", "m", 200.0, "gone")
    await model_status.clear(db, "p", "m")
    assert await model_status.current(db, 0.0) == []


async def test_a_result_is_claimed_sent_once_and_claimed_again_after_a_refusal(db: Database) -> None:
    job_id = await db.write(lambda tx: insert_job(tx, guild_id=GUILD, user_id=ALICE, cost=0))
    nonces = (f"n{i}" for i in itertools.count())
    first = await outbox.claim(db, job_id, nonce=lambda: next(nonces), now=1.0)
    assert (first.nonce, first.attempts, first.sent, first.interrupted_at) == ("n0", 1, False, None)
    again = await outbox.claim(db, job_id, nonce=lambda: next(nonces), now=2.0)
    assert (again.nonce, again.attempts, again.interrupted_at) == ("n0", 2, 1.0), "same nonce on a retry"
    await outbox.release(db, job_id, "HTTP 400")
    assert await outbox.unsent_count(db) == 1
    entry = await outbox.get(db, job_id)
    assert entry is not None and (entry.state, entry.last_error) == (outbox.PENDING, "HTTP 400")
    await outbox.mark_sent(db, job_id, 2**62 + 9, now=3.0)
    done = await outbox.claim(db, job_id, nonce=lambda: next(nonces), now=4.0)
    assert done.sent and done.sent_message_id == 2**62 + 9
    assert await outbox.unsent_count(db) == 0
    row = await db.fetchone("SELECT delivered_at FROM jobs WHERE id = $1", (job_id,))
    assert row is not None and row["delivered_at"] == 3.0


async def test_a_grant_notice_is_shown_once(db: Database) -> None:
    from storage import grant_notices
    from storage.grant_notices import GrantNotice

    notes = [GrantNotice(GUILD, ALICE, 2**62 + 1, amount, "thanks", float(amount)) for amount in (5, 7)]

    async def add(tx: Tx) -> None:
        for note in notes:
            await grant_notices.add_in(tx, note)

    assert await grant_notices.any_for(db, GUILD, ALICE) is False
    await db.write(add)
    assert await grant_notices.any_for(db, GUILD, ALICE) is True
    assert await grant_notices.take(db, GUILD, ALICE) == notes
    assert await grant_notices.take(db, GUILD, ALICE) == []
    await grant_notices.put_back(db, notes[:1])
    assert await grant_notices.take(db, GUILD, ALICE) == notes[:1]
