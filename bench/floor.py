"""The acknowledgement floor for ``bench.interactions``: a bare discord.py bot whose ``/sora`` only defers.

Why: the fake Discord, the gateway frames, discord.py's own parsing and the callback's HTTP round
trip cost something on this machine whatever the bot does. A bot that does nothing else — no
storage, no checks, no engine — measured against the same fake in the same run is the floor soracord
is compared with: the gap between them is soracord's own pre-deferral work, and the issue's target is
a p99 within 1.5× the floor's.

The command has ``/sora``'s name and a ``prompt`` option, so the fake sends the very same interaction;
the bot has soracord's intents (guilds only) and is logged in the same way.
"""

from __future__ import annotations

import asyncio

import discord
from discord import app_commands
from discord.ext import commands

from tests.fakes.discord import FakeDiscord


@app_commands.command(name="sora", description="Defer, and nothing else.")
async def sora(interaction: discord.Interaction, prompt: str) -> None:
    await interaction.response.defer(thinking=True)


class FloorBot(commands.Bot):
    def __init__(self, guild_id: int) -> None:
        intents = discord.Intents.none()
        intents.guilds = True
        super().__init__(command_prefix=commands.when_mentioned, intents=intents, help_command=None)
        self._guild = discord.Object(id=guild_id)

    async def setup_hook(self) -> None:
        self.tree.add_command(sora, guild=self._guild)
        await self.tree.sync(guild=self._guild)


async def floor_round(burst: int, prompt: str, wait: float) -> tuple[list[float], int, float]:
    """(ack latencies of a burst of ``burst`` members, how many went unanswered, setup seconds)."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with FakeDiscord(ack_deadline=60.0) as fake:
        members = [fake.add_member(fake.guild.id, f"member{i:02d}") for i in range(burst)]
        async with fake.run_bot(FloorBot(fake.guild.id)):
            warm = await fake.invoke_slash("sora", {"prompt": prompt})  # not counted
            await fake.wait_for_ack(warm, timeout=wait)
            await asyncio.sleep(0.2)
            setup = loop.time() - started
            handles = await asyncio.gather(
                *(fake.invoke_slash("sora", {"prompt": prompt}, user=m) for m in members)
            )
            await asyncio.gather(
                *(fake.wait_for_ack(h, timeout=wait) for h in handles), return_exceptions=True
            )
            acks = [h.ack_latency for h in handles if h.ack_latency is not None]
            await asyncio.sleep(0.5)  # as soracord's rounds do after the burst
    return acks, burst - len(acks), setup
