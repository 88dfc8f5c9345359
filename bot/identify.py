"""Identify turns: the gateway's ``before_identify_hook`` when several processes share the gateway.

discord.py spaces the identifies of one process's shards (it launches them one after another, each
but the first 5 s after the last), which is all Discord's rule needs when one process connects every
shard. Several ``run`` processes on one PostgreSQL database, each with its own ``SHARD_IDS``, would
not know of each other's identifies: started at once, they would identify at once and Discord would
refuse all but one per bucket. ``IdentifyTurns.wait`` gives each identify its bucket's next slot from
the database (``storage.identify_slots``) and sleeps until it, so across every process a bucket
identifies once per ``interval``, and shards in different buckets never wait on each other.

The bucket of a shard is ``shard_id % max_concurrency``; ``max_concurrency`` is Discord's
(``GET /gateway/bot`` → ``session_start_limit.max_concurrency``), asked once per process. If it
cannot be had, every shard is taken to be in one bucket (1): slower, never refused.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from storage import identify_slots
from storage.db import Database

log = logging.getLogger(__name__)

# Discord's 5 s, plus a little for the time from a slot's reservation to its IDENTIFY leaving (the
# commit's reply, a busy event loop): slots exactly 5 s apart on the database's clock reached the
# gateway up to ~10 ms closer than that when measured; 100 ms keeps them 5 s apart at Discord's end.
INTERVAL = identify_slots.INTERVAL + 0.1


class IdentifyTurns:
    """Waits for a shard's turn to identify, queued in ``db`` with every process sharing it.

    ``concurrency`` fetches Discord's ``max_concurrency`` (the bot's ``fetch_session_start_limits``);
    ``interval`` is Discord's 5 seconds and a margin (``INTERVAL``), shorter in tests.
    """

    def __init__(
        self,
        db: Database,
        concurrency: Callable[[], Awaitable[int]],
        *,
        interval: float = INTERVAL,
    ) -> None:
        self.db = db
        self.interval = interval
        self._concurrency = concurrency
        self._max_concurrency: int | None = None

    async def max_concurrency(self) -> int:
        """Discord's ``max_concurrency``, fetched on first use and kept (1 while it cannot be had)."""
        if self._max_concurrency is None:
            try:
                value = int(await self._concurrency())
            except Exception:
                log.warning("no session start limit from Discord: max_concurrency 1", exc_info=True)
                return 1  # asked again next time
            self._max_concurrency = max(1, value)
        return self._max_concurrency

    async def wait(self, shard_id: int) -> float:
        """Reserve ``shard_id``'s identify slot and sleep until it; the seconds slept."""
        bucket = shard_id % await self.max_concurrency()
        slot = await identify_slots.reserve(self.db, bucket, interval=self.interval)
        if slot.wait > 0:
            log.info("shard %d identifies in %.1fs (bucket %d's next turn)", shard_id, slot.wait, bucket)
        await asyncio.sleep(slot.wait)  # after the reservation committed: nothing is locked meanwhile
        return slot.wait
