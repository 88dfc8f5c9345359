"""``python -m bot [run|migrate]``: build the settings once, then hand them to what runs.

Configuration problems end with exit status 2 and one line that names the setting — never a
traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

import discord

from bot.app import SoraBot
from bot.config import Settings, SettingsError, load_settings
from bot.engine.engine import Engine
from bot.providers.http import VendorHttp
from bot.providers.profiles import ProfileError, load_profiles
from bot.providers.registry import build_provider
from storage.db import Database

log = logging.getLogger("bot")
CONFIG_EXIT = 2


async def run(settings: Settings) -> None:
    profiles = load_profiles(settings.providers_file)
    if settings.default_profile and settings.default_profile not in profiles:
        raise ProfileError(
            f"DEFAULT_PROFILE is `{settings.default_profile}`, which {settings.providers_file} "
            f"does not define (profiles: {', '.join(sorted(profiles))})"
        )
    db = await Database.open(settings.database_path)
    try:
        async with VendorHttp() as http:
            providers = {name: build_provider(p, http) for name, p in profiles.items()}
            engine = Engine(
                db,
                profiles,
                providers,
                default_profile=settings.default_profile,
                welcome_credits=settings.welcome_credits,
            )
            async with SoraBot(settings, engine) as bot:
                await bot.start(settings.discord_token.get_secret_value())
    finally:
        await db.close()


async def migrate(settings: Settings) -> None:
    db = await Database.open(settings.database_path, migrate=False)
    try:
        applied = await db.migrate()
        version = await db.schema_version()
    finally:
        await db.close()
    print(f"schema version {version}" + (f" (applied {', '.join(applied)})" if applied else " (up to date)"))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bot", description="soracord: Sora 2 videos from Discord."
    )
    parser.add_argument("command", nargs="?", default="run", choices=["run", "migrate"])
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"soracord: {exc}", file=sys.stderr)
        return CONFIG_EXIT
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        asyncio.run(migrate(settings) if args.command == "migrate" else run(settings))
    except (ProfileError, SettingsError) as exc:
        print(f"soracord: {exc}", file=sys.stderr)
        return CONFIG_EXIT
    except discord.LoginFailure:
        print(
            'soracord: Discord refused DISCORD_TOKEN; check it (README.md, section "Configuration").',
            file=sys.stderr,
        )
        return CONFIG_EXIT
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
