"""A batch that deadlocks with another process's transaction on PostgreSQL: each body goes again on
its own, so no member's operation fails because it shared a transaction with another's.

Process A batches two grants (Alice, then Bob); process B, in one transaction of its own, takes
Bob's balance and then Alice's. A waits for Bob first, so PostgreSQL's deadlock check runs in A and
ends A's batch; A's bodies are then written one by one, after B, and all three grants land.
"""

from __future__ import annotations

import asyncio

import asyncpg

from storage import ledger
from storage.db import Database
from storage.tx import Tx

GUILD, ALICE, BOB, ADMIN = 1, 11, 12, 99


async def test_a_deadlocked_batch_writes_each_body_on_its_own(pg_url: str) -> None:
    a, b = await Database.open(pg_url), await Database.open(pg_url)
    try:
        for who in (ALICE, BOB):
            async with a.transaction() as tx:
                await ledger.grant(tx, GUILD, who, 10, actor_id=ADMIN, reason="start")
        alice_locked, bob_waited = asyncio.Event(), asyncio.Event()

        async def alice(tx: Tx) -> int:
            await ledger.grant(tx, GUILD, ALICE, 1, actor_id=ADMIN, reason="batched")
            alice_locked.set()
            return 1

        async def bob(tx: Tx) -> int:
            bob_waited.set()  # about to wait for B's lock on Bob's row (the first run)
            await ledger.grant(tx, GUILD, BOB, 1, actor_id=ADMIN, reason="batched")
            return 2

        async def other_process() -> None:
            conn = await asyncpg.connect(pg_url)
            try:
                async with conn.transaction():
                    await conn.execute(
                        "UPDATE balances SET balance = balance + 5 WHERE guild_id = $1 AND user_id = $2",
                        GUILD,
                        BOB,
                    )
                    await asyncio.wait_for(bob_waited.wait(), 10)
                    await asyncio.sleep(0.3)  # A is waiting for Bob's row by now: its check runs first
                    await conn.execute(
                        "UPDATE balances SET balance = balance + 5 WHERE guild_id = $1 AND user_id = $2",
                        GUILD,
                        ALICE,
                    )
            finally:
                await conn.close()

        b_done = asyncio.create_task(other_process())
        await asyncio.sleep(0.2)  # B holds Bob's row
        results = await asyncio.gather(a.group_write(alice), a.group_write(bob))
        await b_done
        assert results == [1, 2]
        assert alice_locked.is_set()
        assert await ledger.balance(a, GUILD, ALICE) == 10 + 1 + 5
        assert await ledger.balance(a, GUILD, BOB) == 10 + 1 + 5
    finally:
        await a.close()
        await b.close()
