"""Interactions benchmark: how fast 50 ``/sora`` commands sent at once are acknowledged.

Why: Discord drops an interaction that is not acknowledged within 3 seconds, and the member sees
"The application did not respond". ``cogs.launch.launch`` runs only the cheap checks before the
deferral — channel permissions and server access, the quote, and the credit precheck (one read on a
read-only connection, which never waits for the write lock) — and the rest after it: the provider's
``preflight`` and ``engine.admission.enqueue`` (the job row and the credit hold in one ``BEGIN
IMMEDIATE`` transaction). Targets: an acknowledgement p99 under 100 ms, and within 1.5× the **floor**.

Three sides, each round on a fresh stack, the order rotated every round:

* **ours**: the real ``SoraBot`` (discord.py 2.7 client, cogs, engine, delivery) on a fresh SQLite
  file, logged in over 127.0.0.1 to ``tests.fakes.discord.FakeDiscord``, with
  ``tests.fakes.nanophoto.FakeNanophoto`` as the vendor running its normal script with production
  timing (first status check 60 s after submit) and no hourly budget, so the vendor work in a round
  is what production does right after an enqueue — one ``generate`` call per job. Production settings
  but ``welcome_credits`` = 0: each of the 50 members is granted credits with ``storage.ledger.grant``;
* **floor** (``bench/floor.py``): a bare discord.py bot whose ``/sora`` only defers, against the same
  fake — what the fake, the gateway and discord.py cost on this machine whatever the bot does;
* **naive**: ``SoraBot`` with ``/sora`` written the straightforward way — check, quote, precheck,
  preflight, enqueue, *then* defer (``NaiveSoraCog``). Its delivery does not follow jobs, so it does
  less REST work during the burst than ours does.

A round: one warm-up ``/sora`` (not counted), then 50 distinct members invoke ``/sora prompt:…`` at
once. **Acknowledgement latency** = the fake's clock when it received the interaction callback (the
deferral) − its clock when it sent the INTERACTION_CREATE frame. The fake's acknowledgement deadline
is raised to 60 s so that a late acknowledgement is measured instead of refused. Also recorded:
dispatch → ``enqueue`` returned, to show the work is moved after the acknowledgement, not skipped.
Latencies are pooled per side (12 rounds × 50; ``--quick``: 1 round) and the median and worst of the
per-round p99s show the spread; the 1.5× target is judged on the median round, as the issue quotes.

Caveat: the fakes and the bot share one event loop and one process, so the fakes' CPU time is inside
every side's latencies; on a real deployment the bot's loop does less.

Run: ``python -m bench.interactions [--quick]`` from the repository root (or ``python -m bench``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import math
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bench.floor import floor_round
from bot.app import SoraBot
from bot.config import Settings
from bot.engine.engine import Engine
from bot.providers.base import MAX_PROMPT_CHARS, Kind, Orientation, parse_request
from bot.providers.http import VendorHttp
from bot.providers.profiles import Timing
from bot.providers.registry import build_provider
from cogs import model_options as opts
from cogs.launch import origin_from, require_allowed
from cogs.sora import FAMILY, ORIENTATIONS, SoraCog
from cogs.translator import L
from storage import ledger
from storage.db import Database
from tests.fakes.discord import FakeDiscord, FakeInteraction
from tests.fakes.nanophoto import FakeNanophoto

BURST = 50
ROUNDS = 12  # the issue quotes the median of 12 rounds
TARGET_P99 = 0.100  # seconds
DISCORD_WINDOW = 3.0  # seconds Discord gives an interaction to be acknowledged
WAIT = 30.0  # bound on every wait in a round
PROMPT = "a paper boat on a rainy street"
CREDITS = 1000
NANO_TIMING = Timing(first_poll=60, poll_interval=15, timeout=1200)  # providers.example.toml


# ---- the naive bot ---------------------------------------------------------------------------------


class NaiveSoraCog(commands.Cog):
    """``/sora`` with the same options as ``cogs.sora.SoraCog``, enqueueing *before* it defers."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @app_commands.command(name=L("cmd.sora.name"), description=L("cmd.sora.description"))
    @app_commands.guild_only()
    @app_commands.rename(
        prompt=L("opt.prompt.name"),
        image=L("opt.image.name"),
        duration=L("opt.duration.name"),
        orientation=L("opt.orientation.name"),
        model=L("opt.model.name"),
        high_quality=L("opt.high_quality.name"),
        watermark=L("opt.watermark.name"),
        private=L("opt.private.name"),
    )
    @app_commands.describe(
        prompt=L("cmd.sora.opt.prompt"),
        image=L("cmd.sora.opt.image"),
        duration=L("cmd.sora.opt.duration"),
        orientation=L("cmd.sora.opt.orientation"),
        model=L("cmd.sora.opt.model"),
        high_quality=L("cmd.sora.opt.high_quality"),
        watermark=L("cmd.sora.opt.watermark"),
        private=L("cmd.sora.opt.private"),
    )
    @app_commands.choices(orientation=ORIENTATIONS)
    async def sora(
        self,
        interaction: discord.Interaction,
        prompt: app_commands.Range[str, 1, MAX_PROMPT_CHARS],
        image: discord.Attachment | None = None,
        duration: int | None = None,
        orientation: str = Orientation.PORTRAIT.value,
        model: str | None = None,
        high_quality: bool | None = None,
        watermark: bool | None = None,
        private: bool | None = None,
    ) -> None:
        assert interaction.guild_id is not None and image is None  # the bench sends text only
        where = await self.engine.admission.pick(Kind.TEXT, interaction.guild_id, model, family=FAMILY)
        options = {"high_quality": high_quality, "watermark": watermark, "private": private}
        fields = opts.request_fields(
            where,
            Kind.TEXT,
            prompt=prompt,
            duration=duration,
            aspect=orientation,
            resolution=None,
            options=options,
        )
        request = parse_request(fields)
        await require_allowed(self.engine, interaction)
        quote = await self.engine.admission.quote(request, interaction.guild_id, where.profile)
        await self.engine.admission.precheck(interaction.guild_id, interaction.user.id, quote)
        await self.engine.admission.preflight(request, quote)
        job = await self.engine.admission.enqueue(origin_from(interaction, None), request, quote.profile)
        callback = await interaction.response.defer(thinking=True)
        if callback.message_id is not None:
            await self.engine.attach_message(job.id, callback.message_id)


class NaiveBot(SoraBot):
    """``SoraBot`` with ``NaiveSoraCog`` in place of ``SoraCog``; its delivery does not follow jobs."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        super().__init__(settings, engine)
        engine.events.unsubscribe(self.delivery)  # the naive side does not follow jobs

    async def add_cog(self, cog: commands.Cog, /, **kwargs: Any) -> None:
        await super().add_cog(NaiveSoraCog(self.engine) if isinstance(cog, SoraCog) else cog, **kwargs)


# ---- one round ---------------------------------------------------------------------------------------


@dataclass
class Round:
    ack: list[float] = field(default_factory=list)  # seconds, one per acknowledged command
    enqueued: list[float] = field(default_factory=list)  # dispatch → enqueue returned, seconds
    unacked: int = 0
    jobs: int = 0  # jobs the burst created
    violations: int = 0  # Discord API rules the bot broke, as the fake judges them
    setup: float = 0.0

    def p99(self) -> float:
        return pct(self.ack, 99)


@contextlib.asynccontextmanager
async def running_bot(
    tmp: Path, fake: FakeDiscord, vendor: FakeNanophoto, bot_class: type[SoraBot]
) -> AsyncIterator[SoraBot]:
    """``tests.e2e.conftest.make_stack`` with production settings and timing, and a choice of bot class."""
    path = tmp / f"bot-{time.monotonic_ns()}.db"
    db = await Database.open(path)
    profile = vendor.profile(timing=NANO_TIMING)
    config = Settings.model_validate(
        {
            "discord_token": fake.token,
            "database_path": path,
            "dev_guild_id": fake.guild.id,
            "welcome_credits": 0,
            "fetch_allow_private": True,  # the fakes are on 127.0.0.1
        }
    )
    try:
        async with VendorHttp() as http:
            engine = Engine(
                db,
                {profile.name: profile},
                {profile.name: build_provider(profile, http)},
                welcome_credits=config.welcome_credits,
            )
            async with fake.run_bot(bot_class(config, engine)) as bot:
                assert isinstance(bot, SoraBot)
                yield bot
    finally:
        await db.close()


class Enqueued:
    """When ``engine.admission.enqueue`` returned, per interaction token (an instance-level wrapper on the engine)."""

    def __init__(self, engine: Engine) -> None:
        self.at: dict[str, float] = {}
        self._changed = asyncio.Event()
        enqueue = engine.admission.enqueue

        async def timed(origin: Any, *args: Any, **kwargs: Any) -> Any:
            job = await enqueue(origin, *args, **kwargs)
            if origin.interaction_token:
                self.at[origin.interaction_token] = time.monotonic()
                self._changed.set()
            return job

        engine.admission.enqueue = timed  # type: ignore[method-assign]

    async def wait_for(self, tokens: Sequence[str]) -> None:
        while not all(t in self.at for t in tokens):
            self._changed.clear()
            await self._changed.wait()


async def settled(fake: FakeDiscord, handles: Sequence[FakeInteraction], enqueued: Enqueued) -> None:
    """Every handle acknowledged and its job enqueued (or ``WAIT`` s passed)."""
    await asyncio.gather(*(fake.wait_for_ack(h, timeout=WAIT) for h in handles), return_exceptions=True)
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(WAIT):
            await enqueued.wait_for([h.token for h in handles])


async def one_round(tmp: Path, *, naive: bool) -> Round:
    result = Round()
    started = time.perf_counter()
    async with FakeDiscord(ack_deadline=60.0) as fake, FakeNanophoto(rate_limit=None) as vendor:
        assert fake.clock is time.monotonic  # ack latencies and enqueue times share one clock
        members = [fake.add_member(fake.guild.id, f"member{i:02d}") for i in range(BURST)]
        async with running_bot(tmp, fake, vendor, NaiveBot if naive else SoraBot) as bot:
            async with bot.engine.db.transaction() as tx:
                for who in (fake.member, *members):
                    await ledger.grant(tx, fake.guild.id, who.user.id, CREDITS, actor_id=None, reason="bench")
            enqueued = Enqueued(bot.engine)
            warm = await fake.invoke_slash("sora", {"prompt": PROMPT})  # alice; not counted
            await settled(fake, [warm], enqueued)
            await asyncio.sleep(0.2)  # its vendor submit and first message edit
            result.setup = time.perf_counter() - started

            handles = await asyncio.gather(
                *(fake.invoke_slash("sora", {"prompt": PROMPT}, user=m) for m in members)
            )
            await settled(fake, handles, enqueued)
            for h in handles:
                if h.ack_latency is None:
                    result.unacked += 1
                else:
                    result.ack.append(h.ack_latency)
                if h.token in enqueued.at:
                    result.enqueued.append(enqueued.at[h.token] - h.dispatched_at)
            row = await bot.engine.db.fetchone("SELECT COUNT(*) AS n FROM jobs")
            result.jobs = int(row["n"]) - 1 if row else 0
            # The burst's vendor submits and first message edits; later edits wait out the 3 s
            # progress interval and are cancelled when the bot closes.
            await asyncio.sleep(0.5)
        result.violations = len(fake.violations)
    return result


# ---- reporting -------------------------------------------------------------------------------------


def pct(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (NaN for no values)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def ratio(ours: float, naive: float) -> str:
    if math.isnan(ours) or math.isnan(naive):
        return "—"
    if naive == 0:
        return "—" if ours == 0 else "∞"
    return f"{ours / naive:.2f}×"


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT MET"


Row = tuple[
    str, str, str, str, str, str, str, str
]  # metric, ours, floor, naive, ÷floor, ÷naive, target, verdict
TARGET_OVER_FLOOR = 1.5  # ours' p99 within 1.5× the bare-defer floor's


def table(title: str, rows: Sequence[Row]) -> str:
    heads = ("metric", "ours", "floor", "naive", "ours÷floor", "ours÷naive", "target", "")
    widths = [max(len(c[i]) for c in [heads, *rows]) for i in range(len(heads))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    return "\n".join([title, line(heads), "-" * (sum(widths) + 2 * (len(widths) - 1)), *map(line, rows)])


def report(ours: list[Round], floor: list[Round], naive: list[Round]) -> str:
    def pooled(rounds: list[Round], attr: str) -> list[float]:
        return [x for r in rounds for x in getattr(r, attr)]

    def per_round(rounds: list[Round], how: Callable[[Sequence[float]], float]) -> float:
        return how([r.p99() for r in rounds]) if rounds else math.nan

    ack = {side: pooled(rounds, "ack") for side, rounds in (("o", ours), ("f", floor), ("n", naive))}
    enq_o, enq_n = pooled(ours, "enqueued"), pooled(naive, "enqueued")
    total = lambda rounds, attr: sum(getattr(r, attr) for r in rounds)  # noqa: E731
    late = lambda acks, unacked: sum(1 for x in acks if x > DISCORD_WINDOW) + unacked  # noqa: E731
    ms = lambda x: "—" if math.isnan(x) else f"{1000 * x:.1f}"  # noqa: E731
    med = {k: per_round(r, statistics.median) for k, r in (("o", ours), ("f", floor), ("n", naive))}
    worst = {k: per_round(r, max) for k, r in (("o", ours), ("f", floor), ("n", naive))}
    late_o, late_n = late(ack["o"], total(ours, "unacked")), late(ack["n"], total(naive, "unacked"))
    sent = BURST * len(ours)

    def acks(name: str, o: float, f: float, n: float, target: str = "", ok: str = "") -> Row:
        return (name, ms(o), ms(f), ms(n), ratio(o, f), ratio(o, n), target, ok)

    p = lambda side, q: pct(ack[side], q)  # noqa: E731
    over_floor = med["o"] <= TARGET_OVER_FLOOR * med["f"]
    rows: list[Row] = [
        acks("ack latency p50 (ms)", p("o", 50), p("f", 50), p("n", 50)),
        acks("ack latency p99, pooled (ms)", p("o", 99), p("f", 99), p("n", 99), "< 100", verdict(p("o", 99) < TARGET_P99)),
        acks("ack latency p99, median round (ms)", med["o"], med["f"], med["n"], f"≤ {TARGET_OVER_FLOOR}× floor", verdict(over_floor)),
        acks("ack latency p99, worst round (ms)", worst["o"], worst["f"], worst["n"]),
        acks("ack latency max (ms)", p("o", 100), p("f", 100), p("n", 100)),
        (f"acks later than 3 s or missing (of {sent})", str(late_o), str(late(ack["f"], total(floor, "unacked"))), str(late_n), "", "", "0", verdict(late_o == 0)),
        ("dispatch → job enqueued p50 (ms)", ms(pct(enq_o, 50)), "", ms(pct(enq_n, 50)), "", ratio(pct(enq_o, 50), pct(enq_n, 50)), "", ""),
        ("dispatch → job enqueued p99 (ms)", ms(pct(enq_o, 99)), "", ms(pct(enq_n, 99)), "", ratio(pct(enq_o, 99), pct(enq_n, 99)), "", ""),
        ("jobs enqueued (of commands sent)", f"{total(ours, 'jobs')}/{sent}", "", f"{total(naive, 'jobs')}/{sent}", "", "", "all", verdict(total(ours, "jobs") == sent)),
        ("Discord API violations (fake's judgement)", str(total(ours, "violations")), "", str(total(naive, "violations")), "", "", "0", verdict(total(ours, "violations") == 0)),
    ]  # fmt: skip
    return table(
        f"interactions: {BURST} /sora from {BURST} members at once through the fake gateway, {len(ours)} round(s)"
        f" per side on fresh stacks (ours: real SoraBot + engine + SQLite; floor: a bare discord.py bot that"
        f" only defers; fake Discord and nanophoto on 127.0.0.1); ack = dispatch → deferral callback received",
        rows,
    )


# ---- main ------------------------------------------------------------------------------------------


async def measure(rounds: int, say: Callable[[str], None]) -> None:
    sides: dict[str, list[Round]] = {"ours": [], "floor": [], "naive": []}
    with tempfile.TemporaryDirectory(prefix="bench-interactions-") as name:
        tmp = Path(name)
        for i in range(rounds):
            order = ("ours", "floor", "naive")[i % 3 :] + ("ours", "floor", "naive")[
                : i % 3
            ]  # rotate who goes first
            for side in order:
                if side == "floor":
                    acks, unacked, setup = await floor_round(BURST, PROMPT, WAIT)
                    r = Round(ack=acks, unacked=unacked, setup=setup)
                else:
                    r = await one_round(tmp, naive=side == "naive")
                sides[side].append(r)
                say(
                    f"  round {i + 1} {side:5s}: p50 {1000 * pct(r.ack, 50):.1f} ms,"
                    f" p99 {1000 * r.p99():.1f} ms, max {1000 * pct(r.ack, 100):.1f} ms,"
                    f" unacked {r.unacked}, jobs {r.jobs} (stack up in {r.setup:.1f} s)"
                )
    say(report(sides["ours"], sides["floor"], sides["naive"]))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.interactions", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"one round per side instead of {ROUNDS}")
    args = parser.parse_args(argv)
    logging.getLogger("discord").setLevel(logging.ERROR)  # login / gateway chatter, once per stack
    started = time.perf_counter()
    asyncio.run(measure(1 if args.quick else ROUNDS, lambda text: print(text, flush=True)))
    print(f"(total {time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()
