"""Credits as members and managers use them: balances, history, prices, grants and exports.

Discord-free: the cog passes plain ids and flags (``is_manager``, ``target_is_bot``) and renders
what comes back. Every refusal is an ``InvalidRequest``/``UserError`` that names what was wrong;
nothing is written when one is raised.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from bot.engine import export, member_limits, pricing
from bot.engine.catalog import PriceRow
from bot.engine.engine import Engine
from bot.engine.member_limits import MemberLimits
from bot.engine.views import JobView, view_of
from bot.errors import InvalidRequest, UserError
from bot.i18n import msg
from bot.providers.capabilities import PricePoint
from storage import grant_notices, guilds, jobs, ledger
from storage.db import Database, Tx
from storage.grant_notices import GrantNotice
from storage.ledger import Entry

MAX_AMOUNT = 1_000_000
MAX_REASON = 200
PAGE_SIZE = 10
AMOUNT_RULE = msg("allowed.amount", max=MAX_AMOUNT)


@dataclass(frozen=True)
class Balance:
    available: int
    held: int
    limits: MemberLimits  # what else decides whether their next video goes ahead


@dataclass(frozen=True)
class HistoryPage:
    entries: list[Entry]
    page: int  # 0-based
    pages: int
    jobs: dict[int, JobView]  # the jobs the entries name, to label them


def check_amount(amount: object) -> int:
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise InvalidRequest("amount", "invalid.not_whole_number", AMOUNT_RULE, value=repr(amount))
    if amount < 1:
        raise InvalidRequest("amount", "invalid.is_value", AMOUNT_RULE, value=amount)
    if amount > MAX_AMOUNT:
        raise InvalidRequest("amount", "invalid.over_maximum", AMOUNT_RULE, value=amount)
    return amount


def check_reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise InvalidRequest("reason", "invalid.empty", msg("allowed.reason", max=MAX_REASON))
    if len(reason) > MAX_REASON:
        raise InvalidRequest(
            "reason", "invalid.chars_long", msg("allowed.at_most_chars", max=MAX_REASON), length=len(reason)
        )
    return reason


def require_manager(is_manager: bool) -> None:
    if not is_manager:
        raise UserError("errors.managers_only")


def _check_change(amount: object, reason: str, *, is_manager: bool, target_is_bot: bool) -> tuple[int, str]:
    """A manager's grant or take: who may, how much, why, and never to a bot."""
    require_manager(is_manager)
    value = check_amount(amount)
    why = check_reason(reason)
    if target_is_bot:
        raise InvalidRequest("member", "invalid.is_bot", msg("allowed.person"))
    return value, why


class Credits:
    def __init__(self, db: Database, engine: Engine) -> None:
        self._db = db
        self._engine = engine

    async def balance(self, guild_id: int, user_id: int, *, actor_id: int, is_manager: bool) -> Balance:
        if user_id != actor_id:
            require_manager(is_manager)
        admission = self._engine.admission
        available = await admission.balance(guild_id, user_id)
        limits = await member_limits.limits_of(
            self._db,
            await guilds.get(self._db, guild_id),
            user_id,
            now=self._engine.clock.now(),
            confirm_default=admission.confirm_default,
        )
        return Balance(available, await ledger.held(self._db, guild_id, user_id), limits)

    async def history(
        self,
        guild_id: int,
        user_id: int,
        page: int,
        *,
        actor_id: int,
        is_manager: bool,
        beside: HistoryPage | None = None,
    ) -> HistoryPage:
        """Page ``page`` (0: the newest) of the member's entries. Turning from the page shown
        (``beside``) reads from its edge, so every page costs one short index range however deep."""
        if user_id != actor_id:
            require_manager(is_manager)
        page = max(page, 0)
        older = newer = None
        if beside is not None and beside.entries and page > 0:
            if page == beside.page + 1:
                older = beside.entries[-1].id
            elif page == beside.page - 1:
                newer = beside.entries[0].id
        total, entries = await ledger.page(
            self._db,
            guild_id,
            user_id,
            offset=page * PAGE_SIZE,
            limit=PAGE_SIZE,
            older_than=older,
            newer_than=newer,
        )
        pages = max(1, math.ceil(total / PAGE_SIZE))
        if page > pages - 1 or (not entries and page > 0):  # past the end: show the last page
            page = pages - 1
            total, entries = await ledger.page(
                self._db, guild_id, user_id, offset=page * PAGE_SIZE, limit=PAGE_SIZE
            )
        found = await jobs.get_many(self._db, (e.job_id for e in entries if e.job_id is not None))
        return HistoryPage(entries, page, pages, {job_id: view_of(job) for job_id, job in found.items()})

    async def prices(self, guild_id: int) -> list[PriceRow]:
        """Every model and duration this server's commands can make, with what each costs here."""
        return self._engine.catalog.price_rows(await guilds.get(self._db, guild_id))

    async def grant(
        self,
        guild_id: int,
        user_id: int,
        amount: object,
        reason: str,
        *,
        actor_id: int,
        is_manager: bool,
        target_is_bot: bool,
    ) -> int:
        """Give credits; returns the new balance. The member is told with their next command
        (``grant_notices``), in the same transaction as the grant: never told of one that did not land."""
        value, why = _check_change(amount, reason, is_manager=is_manager, target_is_bot=target_is_bot)
        await self._engine.admission.top_up(guild_id, user_id)  # any welcome grant lands before this one
        notice = GrantNotice(guild_id, user_id, actor_id, value, why, self._engine.clock.now())

        async def body(tx: Tx) -> int:
            await ledger.grant(tx, guild_id, user_id, value, actor_id=actor_id, reason=why)
            if actor_id != user_id:  # a manager who gives themselves credits needs no notice
                await grant_notices.add_in(tx, notice)
            return await ledger.balance_in(tx, guild_id, user_id)

        return await self._db.group_write(body)  # one trip, shared with the writes waiting now

    async def has_unseen_grants(self, guild_id: int, user_id: int) -> bool:
        """A grant the member has not been told about waits (every command asks: one index read)."""
        return await grant_notices.any_for(self._db, guild_id, user_id)

    async def take_unseen_grants(self, guild_id: int, user_id: int) -> list[GrantNotice]:
        """The grants to tell the member about now, taken so no other answer tells them again."""
        return await grant_notices.take(self._db, guild_id, user_id)

    async def put_back_grants(self, notices: list[GrantNotice]) -> None:
        """Grants taken but not told (Discord refused the message): the next command tells them."""
        await grant_notices.put_back(self._db, notices)

    async def take(
        self,
        guild_id: int,
        user_id: int,
        amount: object,
        reason: str,
        *,
        actor_id: int,
        is_manager: bool,
        target_is_bot: bool,
    ) -> int:
        """Take credits back (never below zero); returns the new balance."""
        value, why = _check_change(amount, reason, is_manager=is_manager, target_is_bot=target_is_bot)

        async def body(tx: Tx) -> int:
            try:
                await ledger.adjust(tx, guild_id, user_id, -value, actor_id=actor_id, reason=why)
            except ledger.NotEnoughCredits as exc:
                raise InvalidRequest(
                    "amount",
                    "invalid.more_than_balance",
                    msg("allowed.at_most", max=exc.balance),
                    value=value,
                    balance=exc.balance,
                ) from None
            return await ledger.balance_in(tx, guild_id, user_id)

        return await self._db.group_write(body)  # one trip, shared with the writes waiting now

    async def set_allowance(
        self, guild_id: int, amount: int, period: str, *, is_manager: bool
    ) -> guilds.GuildSettings:
        require_manager(is_manager)
        if period not in ("week", "month"):
            raise InvalidRequest("period", "invalid.value_not_known", "week, month", value=period)
        if amount == 0:
            return await guilds.update(self._db, guild_id, allowance_amount=None, allowance_period=None)
        return await guilds.update(
            self._db, guild_id, allowance_amount=check_amount(amount), allowance_period=period
        )

    async def set_multiplier(
        self, guild_id: int, multiplier: float, *, is_manager: bool
    ) -> guilds.GuildSettings:
        require_manager(is_manager)
        if not 0.1 <= multiplier <= 100:
            raise InvalidRequest(
                "multiplier", "invalid.is_value", msg("allowed.multiplier"), value=multiplier
            )
        return await guilds.update(self._db, guild_id, price_multiplier=multiplier)

    async def set_price(
        self, guild_id: int, point: PricePoint, credits: int, *, is_manager: bool
    ) -> guilds.GuildSettings:
        """This server's price for a combination its commands offer (0 removes it)."""
        require_manager(is_manager)
        settings = await guilds.get(self._db, guild_id)
        profile = self._engine.catalog.price_target(point, settings)
        if credits < 0 or credits > MAX_AMOUNT:
            raise InvalidRequest(
                "credits", "invalid.is_value", msg("allowed.price", max=MAX_AMOUNT), value=credits
            )
        prices = dict(settings.prices)
        key = pricing.guild_price_key(profile, point)
        if credits == 0:
            prices.pop(key, None)
        else:
            prices[key] = credits
        return await guilds.update(self._db, guild_id, prices=prices)

    async def export_span(
        self,
        guild_id: int,
        start: str | None,
        end: str | None,
        *,
        is_manager: bool,
        today: date | None = None,
    ) -> ExportSpan:
        """Check an export of the server's entries from ``start`` to ``end`` (inclusive dates, UTC):
        who may, which days, and that there is something to export. Quick: the cog asks before deferring."""
        require_manager(is_manager)
        today = today or datetime.now(UTC).date()
        first = _parse_day("from", start) if start else date(2000, 1, 1)
        last = _parse_day("to", end) if end else today
        if first > last:
            raise InvalidRequest(
                "from", "invalid.after_to", msg("allowed.date_range"), first=str(first), last=str(last)
            )
        begin = datetime(first.year, first.month, first.day, tzinfo=UTC).timestamp()
        stop = (
            datetime(last.year, last.month, last.day, tzinfo=UTC).timestamp()
            + timedelta(days=1).total_seconds()
        )
        if not await ledger.any_in(self._db, guild_id, begin, stop):
            raise UserError("errors.no_entries", first=str(first), last=str(last))
        return ExportSpan(guild_id, begin, stop, f"credits-{guild_id}-{first}-to-{last}.csv")

    async def export(self, span: ExportSpan, *, upload_limit: int) -> export.Export:
        """The CSV of ``span`` in a temporary file (gzip-compressed if it would not fit ``upload_limit``)."""
        return await export.write(
            self._db,
            span.guild_id,
            span.start,
            span.end,
            name=span.name,
            upload_limit=upload_limit,
            inert=inert,
        )


@dataclass(frozen=True)
class ExportSpan:
    """An export that passed its checks: the server, ``[start, end)`` in epoch seconds, the file name."""

    guild_id: int
    start: float
    end: float
    name: str


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def inert(cell: str) -> str:
    """A cell a spreadsheet shows as text: one starting like a formula gets a leading apostrophe
    (OWASP's advice for CSV injection), so a reason such as ``=HYPERLINK(…)`` is never run."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def _parse_day(field: str, text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidRequest(field, "invalid.not_a_date", msg("allowed.date"), value=text) from None
