"""Telling queued jobs their place in line: the first few, only when it changed, in coalesced rounds.

Why: every hand-out moves everyone behind up one place, and a restart puts thousands of jobs back
in line at once. Telling every job of every move is quadratic (the issue measured 440 s of stalled
loop for 10,000 jobs) and floods Discord with edits nobody reads. So a line that moved is announced
in *rounds*: a round runs one loop turn after the first move, so a burst of moves (a restart, many
free slots at once) costs one round, and it tells the first ``SHOWN`` jobs whose place differs from
the place their card last showed. After a round that told anyone, the next waits ``gap`` (at most
``ROUND_GAP``, less for a profile that polls more often — the line cannot move faster than its jobs
are looked at): hand-outs spread over many turns of the loop (each waiting for its key's budget,
say) are told together, a few times a second at most — a card is edited only every few seconds
anyway. A job
further back keeps the place its card showed when it queued until it comes within ``SHOWN`` — the
jobs near the front are the ones whose members watch.

``told`` is kept by whoever builds the events (``Dispatcher.tell_position``), so a place shown by
any event — an enqueue, a requeue, a round — is never announced again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from bot.engine.clock import Clock
from bot.engine.fair_queue import FairQueue
from storage.jobs import JobRow

SHOWN = 20  # queued jobs (per line) whose card follows each move
ROUND_GAP = 0.25  # most seconds (on the engine's clock) after a round that told anyone

log = logging.getLogger(__name__)
Announce = Callable[[JobRow], Awaitable[None]]


class Board:
    """The announcements of one line (one profile's ``FairQueue``)."""

    def __init__(
        self, queue: FairQueue, row: Callable[[int], JobRow | None], clock: Clock, *, gap: float = ROUND_GAP
    ) -> None:
        self._queue = queue
        self._row = row
        self._clock = clock
        self._gap = min(gap, ROUND_GAP)
        self.told: dict[int, int] = {}  # queued job -> the place its last event showed
        self.announce: Announce | None = None
        self._pending = False
        self._task: asyncio.Task[None] | None = None

    def moved(self) -> None:
        """The line changed: a round will tell the first jobs their new places."""
        if self.announce is None:
            return
        self._pending = True
        if self._task is None:
            self._task = asyncio.create_task(self._rounds(), name="positions")

    def left(self, job_id: int) -> None:
        """``job_id`` is out of the line (its turn came, or it was cancelled)."""
        self.told.pop(job_id, None)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.told.clear()

    async def _rounds(self) -> None:
        try:
            while self._pending and self.announce is not None:
                self._pending = False
                await asyncio.sleep(0)  # the rest of a burst of moves lands first: one round for all
                told_any = False
                for place, job_id in enumerate(self._queue.order(SHOWN), 1):
                    row = self._row(job_id)
                    if row is not None and self.told.get(job_id) != place:
                        told_any = True
                        await self.announce(row)  # the event's position is recorded in ``told``
                if told_any:
                    await self._clock.sleep(self._gap)  # moves meanwhile are told in the next round
        except Exception:
            log.exception("telling queued jobs their places failed")
        finally:
            self._task = None
