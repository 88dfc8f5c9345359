"""Which models the vendors still serve, as far as the bot has been told.

A vendor answer meaning "this model is not served" (``ProviderError.model_unavailable``) marks the
model gone for a day: it leaves autocomplete and the default choice, a member who names it is told
it is no longer made, jobs already queued for it end at once without another vendor call, and
each server's managers hear about it once a day. The marks are kept in the database so a restart
does not offer the model again; after a day it is tried again, since a vendor may bring it back.

The marks are also kept in memory (``is_gone`` is asked on every autocomplete), so with several
processes on one PostgreSQL database a mark one process makes is announced on the ``models``
channel and every process adds it to its own copy; a ``"*"`` (its listener reconnected, so it may
have missed one) reads the marks again. Marks are only ever added (they lapse by time), so what is
heard and what is read are merged, never replaced: nothing heard meanwhile is lost.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime

from bot.engine.clock import Clock
from storage import model_status
from storage.db import Database

log = logging.getLogger(__name__)

LAPSE = 24 * 3600.0  # a gone model is offered again after this long
CHANNEL = "models"  # payload: {"profile": …, "model": …, "since": …}, or "*"


class Availability:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock
        self._gone: dict[tuple[str, str], float] = {}
        self._listening = False
        self._reloads: set[asyncio.Task[None]] = set()

    async def load(self) -> None:
        """Read the marks that have not lapsed (at start), listening first so none made meanwhile is
        missed (on PostgreSQL the ``"*"`` that follows the channel's ``LISTEN`` reads them again)."""
        if not self._listening:
            self._listening = True
            self._db.listen(CHANNEL, self._heard)
        outages = await model_status.current(self._db, self._clock.now() - LAPSE)
        for o in outages:
            self._add(o.profile, o.model, o.since)

    def _add(self, profile: str, model: str, since: float) -> None:
        key = (profile, model)
        self._gone[key] = max(since, self._gone.get(key, since))

    def _heard(self, payload: str) -> None:
        """Another process (or this one) marked a model gone; ``"*"``: we may have missed some."""
        if payload != "*":
            try:
                mark = json.loads(payload)
                self._add(str(mark["profile"]), str(mark["model"]), float(mark["since"]))
                return
            except (ValueError, KeyError, TypeError):
                log.warning("models: cannot read payload %.80r; reading the marks again", payload)
        task = asyncio.get_running_loop().create_task(self._reload(), name="availability-reload")
        self._reloads.add(task)
        task.add_done_callback(self._reloads.discard)

    async def _reload(self) -> None:
        try:
            await self.load()
        except Exception as exc:  # the database is closing or down: the next "*" or restart reads them
            log.warning("models: could not read the gone models again: %s", exc)

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
        try:
            await self._db.notify(CHANNEL, json.dumps({"profile": profile, "model": model, "since": now}))
        except Exception as exc:  # marked all the same; other processes read it at their next start
            log.warning("models: other processes were not told that %s/%s is gone: %s", profile, model, exc)

    async def claim_notice(self, guild_id: int, profile: str, model: str) -> bool:
        """True once per server, model and UTC day: the caller tells that server's managers."""
        day = datetime.fromtimestamp(self._clock.now(), UTC).date().isoformat()
        return await model_status.claim_notice(self._db, guild_id, profile, model, day)
