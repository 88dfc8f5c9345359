"""SoraBot: the one place where settings, storage, providers, the engine and the cogs meet.

Three roles (``python -m bot run|worker|sync``) build it three ways (``bot_for``):

* ``run``: the gateway (its shards: ``SHARD_COUNT``/``SHARD_IDS``), the commands, the engine and
  delivery. The process that connects shard 0 syncs the commands, so several never race to;
* ``worker``: the engine and delivery, no gateway — it logs in for the REST API only, and posts
  with the bot token and the jobs' interaction webhooks (PostgreSQL: it takes over jobs by lease);
* ``sync``: logs in, syncs the commands and stops (for deployments that sync once, by hand).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot import identify
from bot.config import Settings
from bot.engine.credits import Credits
from bot.engine.engine import Engine
from bot.engine.server_settings import ServerSettings
from bot.logs import tag_interaction
from bot.net import Fetcher
from bot.retention import Retention
from cogs.animate import AnimateCog
from cogs.buttons import JobButton
from cogs.credits import CreditsAdminGroup, CreditsGroup
from cogs.delivery import Delivery
from cogs.errors import on_tree_error
from cogs.follow import Followers
from cogs.grant_notices import GrantNoticesCog
from cogs.jobs import JobsGroup
from cogs.notices import ModelNotices
from cogs.settings import SettingsGroup
from cogs.sora import SoraCog
from cogs.storyboard import StoryboardCog
from cogs.translator import SoraTranslator
from cogs.tvc import TvcCog
from cogs.video import VideoCog

log = logging.getLogger(__name__)

Role = Literal["run", "worker", "sync"]


def is_login_failure(exc: BaseException) -> bool:
    """Discord refused the token (the one start-up failure the operator fixes in settings)."""
    return isinstance(exc, discord.LoginFailure)


class SoraTree(app_commands.CommandTree[discord.Client]):
    """The command tree; tags every log line of a command with its interaction id."""

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        tag_interaction(interaction.id)
        return True


class SoraBot(commands.Bot):
    """A slash-command bot; it needs no privileged intents and pings nobody unless told to.

    ``fetcher`` downloads every URL no operator configured (members' images, vendors' videos): pass
    the one the vendors' client shares, or let the bot build its own from the settings.
    """

    role: Role = "run"

    def __init__(self, settings: Settings, engine: Engine, *, fetcher: Fetcher | None = None) -> None:
        intents = discord.Intents.none()
        intents.guilds = True
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            allowed_mentions=discord.AllowedMentions.none(),
            help_command=None,
            tree_cls=SoraTree,
            # Installed to servers and run in their channels only: a user install could otherwise run
            # the commands in servers the bot is not in, where nothing it relies on exists.
            allowed_contexts=app_commands.AppCommandContext(
                guild=True, dm_channel=False, private_channel=False
            ),
            allowed_installs=app_commands.AppInstallationType(guild=True, user=False),
            **self._shard_options(settings),
        )
        self.settings = settings
        self.engine = engine
        self.fetcher = fetcher or Fetcher(allow_private=settings.fetch_allow_private)
        self._owns_fetcher = fetcher is None
        self.delivery = Delivery(
            self, engine, edit_interval=settings.progress_edit_interval, fetcher=self.fetcher
        )
        engine.subscribe(self.delivery)
        self.retention = Retention(engine.db, days=settings.video_retention_days)  # videos/ beside the data
        self.followers = Followers(self, engine, edit_interval=settings.progress_edit_interval)
        engine.subscribe(self.followers)  # cards /jobs show posts keep following their job
        self.notices = ModelNotices(self, engine)
        engine.subscribe(self.notices)

    @staticmethod
    def _shard_options(settings: Settings) -> dict[str, Any]:
        return {}

    @property
    def syncs_commands(self) -> bool:
        """Whether this process syncs the commands: one process only, the one with shard 0."""
        shards = self.settings.shards
        return self.role == "sync" or (self.role == "run" and (shards is None or 0 in shards))

    async def setup_hook(self) -> None:
        self.tree.on_error = on_tree_error  # type: ignore[method-assign]
        await self.tree.set_translator(SoraTranslator())  # zh-CN names and descriptions, before the sync
        await self.add_cog(VideoCog(self.engine))
        await self.add_cog(SoraCog(self.engine))
        await self.add_cog(TvcCog(self.engine))
        await self.add_cog(StoryboardCog(self.engine))
        await self.add_cog(AnimateCog(self, self.engine))
        credits = Credits(self.engine.db, self.engine)
        self.tree.add_command(CreditsGroup(credits))
        self.tree.add_command(CreditsAdminGroup(credits))
        await self.add_cog(GrantNoticesCog(credits))  # a member hears of a grant with their next command
        self.tree.add_command(SettingsGroup(ServerSettings(self.engine.db, self.engine), self.engine))
        self.add_dynamic_items(JobButton)  # job buttons keep working across restarts
        self.tree.add_command(JobsGroup(self.engine, self.followers))
        if self.syncs_commands:
            await self._sync()
        if self.role != "sync":
            await self.engine.start()
            self.retention.start()

    async def _sync(self) -> None:
        guild_id = self.settings.dev_guild_id
        if guild_id is not None:
            guild = discord.Object(guild_id)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
        else:
            synced = await self.tree.sync()
        log.info("synced %d commands%s", len(synced), f" to guild {guild_id}" if guild_id else " globally")

    async def close(self) -> None:
        await self.engine.stop(grace=self.settings.shutdown_grace)  # creates in flight finish first
        await self.delivery.close()
        await self.retention.stop()
        await self.followers.close()
        if self._owns_fetcher:
            await self.fetcher.close()
        await super().close()


class ShardedSoraBot(SoraBot, commands.AutoShardedBot):
    """The gateway of ``SHARD_COUNT`` shards, this process connecting ``SHARD_IDS`` of them.

    discord.py spaces the identifies of this process's shards. On a shared database (PostgreSQL,
    where other ``run`` processes connect the other shards) each identify instead waits for its
    bucket's turn across every process (``bot.identify``), as Discord's session start limit asks;
    ``identify_interval`` is Discord's 5 seconds and a margin, shorter in tests. (A plain ``SoraBot``
    is the bot's one gateway — it holds every shard's lock — so discord.py's spacing is all it needs.)
    """

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        *,
        fetcher: Fetcher | None = None,
        identify_interval: float = identify.INTERVAL,
    ) -> None:
        super().__init__(settings, engine, fetcher=fetcher)
        self.identify_turns: identify.IdentifyTurns | None = None
        if engine.db.shared:
            self.identify_turns = identify.IdentifyTurns(
                engine.db, self._max_concurrency, interval=identify_interval
            )

    @staticmethod
    def _shard_options(settings: Settings) -> dict[str, Any]:
        return {"shard_count": settings.shard_count, "shard_ids": settings.shards}

    async def _max_concurrency(self) -> int:
        """Discord's ``session_start_limit.max_concurrency`` (``GET /gateway/bot``): discord.py asks
        for it only when it is not told ``shard_count``, and then does not use it."""
        return (await self.fetch_session_start_limits()).max_concurrency

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        if self.identify_turns is None or shard_id is None:
            await super().before_identify_hook(shard_id, initial=initial)  # one process: discord.py's
            return
        try:
            await self.identify_turns.wait(shard_id)
        except Exception:
            # Never fail the connect over it (a reidentify that raises stops the bot): space this
            # process's own identifies, as discord.py would, until the database answers again.
            log.warning("shard %d: no identify slot from the database", shard_id, exc_info=True)
            await super().before_identify_hook(shard_id, initial=initial)


class RestOnlyBot(SoraBot):
    """A bot that logs in for the REST API and never opens a gateway: ``worker`` and ``sync``.

    ``start`` logs in (which runs ``setup_hook``: the engine starts) and then waits until ``close``.
    """

    def __init__(self, settings: Settings, engine: Engine, *, fetcher: Fetcher | None = None) -> None:
        super().__init__(settings, engine, fetcher=fetcher)
        self._closed_event = asyncio.Event()

    async def setup_hook(self) -> None:
        if self.role == "sync":
            await super().setup_hook()
            return
        await self.engine.start()  # no commands arrive here: no cogs, no tree
        self.retention.start()

    async def start(self, token: str, *, reconnect: bool = True) -> None:
        await self.login(token)
        if self.role != "sync":
            await self._closed_event.wait()

    async def close(self) -> None:
        try:
            await super().close()
        finally:
            self._closed_event.set()


def bot_for(role: Role, settings: Settings, engine: Engine, *, fetcher: Fetcher | None = None) -> SoraBot:
    """The bot for ``role`` (see the module's docstring)."""
    if role == "run":
        kind: type[SoraBot] = ShardedSoraBot if settings.shard_count is not None else SoraBot
        return kind(settings, engine, fetcher=fetcher)
    bot = RestOnlyBot(settings, engine, fetcher=fetcher)
    bot.role = role
    return bot
