"""Issue 13: decompression bombs, many at once, through the real bot.

The bomb is the issue's: a 190 KB PNG that says 7000x7000 and would decode to 196 MB. Before the
fix, 40 of them sent at once by a member with 4 credits took the bot from 68 MB to 1.23 GB resident,
and it stayed there. Now each is refused from its header, before a pixel is decoded and before any
credit is held, with the same message every time.

Memory is measured in this process (the bot, the fake Discord and pytest share it) as the growth of
resident memory across the 40 commands, sampled every few milliseconds for the peak; a warm-up
command runs first so that what is loaded once (code, caches, connections) is not counted.
"""

from __future__ import annotations

import asyncio
import gc
import threading
from pathlib import Path
from types import TracebackType

import pytest

from storage import jobs
from tests.e2e.conftest import Stack
from tests.fakes.discord import FakeDiscord, FakeInteraction, StoredMessage
from tests.fakes.pictures import png_bomb

PROMPT = "The cat slowly turns its head and blinks"
BOMBS = 40
MB = 1024 * 1024
REFUSAL = (
    "`bomb.png` is too large: 7000x7000 pixels, and a reference image can have at most 16 megapixels. "
    "Attach a smaller picture; the video needs far fewer pixels."
)

pytestmark = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc/self/status")


def rss() -> int:
    """This process's resident memory, in bytes (``VmRSS``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise LookupError("no VmRSS")


class PeakRss:
    """The highest resident memory seen while the block runs (a thread samples every 2 ms)."""

    def __init__(self) -> None:
        self.peak = rss()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._done.wait(0.002):
            self.peak = max(self.peak, rss())

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._done.set()
        self._thread.join()
        self.peak = max(self.peak, rss())


async def reply_to(fake: FakeDiscord, handle: FakeInteraction) -> StoredMessage:
    """The refusal only the member sees (the reply, or the followup after "thinking…")."""
    return await fake.wait_for_message(
        lambda m: m.interaction_id == handle.id and m.ephemeral and not m.deleted and bool(m.content),
        timeout=10,
    )


def cdn_reads(fake: FakeDiscord) -> int:
    return sum(1 for q in fake.requests if q.route and q.route.startswith("/cdn/attachments"))


async def test_forty_bombs_at_once_are_refused_alike_and_memory_stays_flat(stack: Stack) -> None:
    await stack.grant(4)
    fake = stack.discord
    bomb = png_bomb(7000, 7000)
    assert len(bomb) < 200_000
    # No size from Discord (its metadata may be missing, or lie): the bot must fetch each file and
    # find the size in its bytes — the path that used to decode.
    warm_up = await fake.invoke_slash(
        "sora", {"prompt": PROMPT, "image": fake.make_attachment(bomb, "bomb.png")}
    )
    assert (await reply_to(fake, warm_up)).content == REFUSAL
    attachments = [fake.make_attachment(bomb, "bomb.png") for _ in range(BOMBS)]
    reads = cdn_reads(fake)
    gc.collect()
    before = rss()

    with PeakRss() as sampled:
        async with asyncio.timeout(20):
            handles = await asyncio.gather(
                *(fake.invoke_slash("sora", {"prompt": PROMPT, "image": a}) for a in attachments)
            )
            replies = await asyncio.gather(*(reply_to(fake, h) for h in handles))
    after = rss()

    print(  # shown with -s; the report quotes these
        f"\nRSS before {before / MB:.0f} MB, peak {sampled.peak / MB:.0f} MB (+{(sampled.peak - before) / MB:.1f}), "
        f"after {after / MB:.0f} MB (+{(after - before) / MB:.1f})"
    )
    assert sampled.peak - before < 100 * MB
    assert after - before < 100 * MB
    assert {r.content for r in replies} == {REFUSAL}  # every one, the same clear words
    assert all(r.ephemeral for r in replies)
    assert cdn_reads(fake) - reads == BOMBS  # each was fetched and read, not waved through by metadata
    assert await jobs.count(stack.db) == 0  # nothing enqueued, so nothing held or charged
    assert await stack.balance() == 4
    assert stack.vendor.requests == []


async def test_bombs_whose_size_discord_reports_are_refused_before_any_download(stack: Stack) -> None:
    await stack.grant(4)
    fake = stack.discord
    bomb = png_bomb(7000, 7000)
    reads = cdn_reads(fake)
    handles = await asyncio.gather(
        *(
            fake.invoke_slash(
                "sora",
                {"prompt": PROMPT, "image": fake.make_attachment(bomb, "bomb.png", width=7000, height=7000)},
            )
            for _ in range(5)
        )
    )
    replies = await asyncio.gather(*(reply_to(fake, h) for h in handles))
    assert {r.content for r in replies} == {REFUSAL}  # the same words as when the bytes tell
    assert all(not fake.original_message(h).loading for h in handles)  # refused before deferring
    assert cdn_reads(fake) == reads
    assert await jobs.count(stack.db) == 0 and await stack.balance() == 4
