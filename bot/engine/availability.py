"""Which models the vendors still serve, as far as the bot has been told.

A vendor answer meaning "this model is not served" (``ProviderError.model_unavailable``) marks the
model gone for a day: it leaves autocomplete and the default choice, a member who names it is told
it is no longer made, jobs already queued for it end at once without another vendor call, and
each server's managers hear about it once a day. The marks are kept in the database so a restart
does not offer the model again; after a day it is tried again, since a vendor may bring it back.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from bot.engine.clock import Clock
from storage import model_status
from storage.db import Database

log = logging.getLogger(__name__)

LAPSE = 24 * 3600.0  # a gone model is offered again after this long


class Availability:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock
        self._gone: dict[tuple[str, str], float] = {}

    async def load(self) -> None:
        """Read the marks that have not lapsed (at start)."""
        outages = await model_status.current(self._db, self._clock.now() - LAPSE)
        self._gone = {(o.profile, o.model): o.since for o in outages}

    def is_gone(self, profile: str, model: str) -> bool:
        since = self._gone.get((profile, model))
        return since is not None and self._clock.now() - since < LAPSE

    def gone(self) -> list[tuple[str, str]]:
        """(profile, model) of every model marked gone now (for ``doctor`` and the logs)."""
        return [pm for pm in self._gone if self.is_gone(*pm)]

    async def mark_gone(self, profile: str, model: str, code: str) -> None:
        if self.is_gone(profile, model):
            return
        now = self._clock.now()
        await model_status.clear(self._db, profile, model)  # a lapsed mark is replaced, not kept
        await model_status.mark(self._db, profile, model, now, code)
        self._gone[(profile, model)] = now
        log.warning("profile %s: the vendor no longer serves model %s (%s)", profile, model, code)

    async def claim_notice(self, guild_id: int, profile: str, model: str) -> bool:
        """True once per server, model and UTC day: the caller tells that server's managers."""
        day = datetime.fromtimestamp(self._clock.now(), UTC).date().isoformat()
        return await model_status.claim_notice(self._db, guild_id, profile, model, day)
