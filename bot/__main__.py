"""``python -m bot [run|worker|sync|migrate|doctor|generate|backup]``: build the settings once, then
hand them to what runs.

- ``run`` (the default) runs the bot until SIGTERM/SIGINT, then shuts down cleanly: the bot is
  closed (which stops the engine — creates in flight get up to ``SHUTDOWN_GRACE`` seconds to come
  back with their remote ids; unfinished jobs stay in the database and resume at the next start),
  the database is closed, and the exit status is 0. It holds the database's lock file for its
  lifetime (``bot.instance``): a second process on the same file exits 2 naming the first.
  On PostgreSQL several ``run`` processes may share the database, each connecting its own shards
  (``SHARD_COUNT``, ``SHARD_IDS``); one that names a shard another connects exits 2.
- ``worker`` (PostgreSQL only) runs the engine and delivery without a gateway: it takes over the jobs
  of a process that stopped or died, and posts their results over the REST API.
- ``sync`` syncs the slash commands and exits (``run`` does so itself in the process with shard 0).
- ``migrate`` applies database migrations (the bot also does so at start).
- ``migrate --to postgresql://…`` copies the SQLite database (``DATABASE_PATH``, the bot stopped) into
  an empty PostgreSQL database, in one transaction, then checks every balance and row count there
  (``bot.ops.migrate_to``); the URL's password is never printed.
- ``doctor [--online] [--quick]`` checks the installation and prints a table; non-zero on a FAIL.
- ``generate --kind text|image|tvc|storyboard …`` runs one job from the terminal (no Discord), on a
  database of its own (``--database`` to name another).
- ``backup PATH [--force]`` copies the database safely while the bot runs.

Configuration problems end with exit status 2 and one line that names the setting — never a
traceback. Logging is set up once, here, with every known secret scrubbed from every line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from dotenv import dotenv_values

from bot import metrics
from bot.config import Settings, SettingsError, load_settings
from bot.instance import AlreadyRunning, InstanceLock
from bot.logs import add_secrets, configure_logging
from bot.providers.profiles import ProfileError, ProviderProfile, load_profiles
from storage.db import Database

if TYPE_CHECKING:
    from bot.app import Role
    from bot.engine.db_retry import DbStatus

log = logging.getLogger("bot")
CONFIG_EXIT = 2
FAILURE_EXIT = 1
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Runnable(Protocol):
    """What ``serve`` needs of a bot: discord.py's ``Client`` has exactly this."""

    async def start(self, token: str, *, reconnect: bool = ...) -> None: ...
    async def close(self) -> None: ...
    def is_closed(self) -> bool: ...


def environment(env_file: Path = Path(".env")) -> dict[str, str]:
    """The variables profiles read their keys from: ``.env`` (as the settings do), then the real
    environment, which wins. Without this, a key put in ``.env`` as the README says would be unseen."""
    merged = {k: v for k, v in dotenv_values(env_file).items() if v is not None} if env_file.is_file() else {}
    merged.update(os.environ)
    return merged


def _profiles(settings: Settings) -> dict[str, ProviderProfile]:
    try:
        profiles = load_profiles(settings.providers_file, environment())
    except OSError as exc:  # e.g. a directory or an unreadable file; not-found is a ProfileError already
        raise ProfileError(f"{settings.providers_file}: cannot be read ({exc.strerror or exc})") from None
    if settings.default_profile and settings.default_profile not in profiles:
        raise ProfileError(
            f"DEFAULT_PROFILE is `{settings.default_profile}`, which {settings.providers_file} "
            f"does not define (profiles: {', '.join(sorted(profiles))})"
        )
    add_secrets(k.secret.get_secret_value() for p in profiles.values() for k in p.keys)
    metrics.register_profiles(profiles.values())
    return profiles


async def serve(
    bot: Runnable,
    token: str,
    *,
    stop: asyncio.Event | None = None,
    signals: Sequence[signal.Signals] = STOP_SIGNALS,
) -> None:
    """Run ``bot`` until it ends by itself or ``stop`` is set (SIGTERM/SIGINT set it), then close it.

    Closing the bot disconnects the gateway (no new commands arrive) and stops the engine; a job
    in flight is left in its persisted state and resumed by the next start. Errors from the bot
    (e.g. ``discord.LoginFailure``) propagate.
    """
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    previous: dict[signal.Signals, Any] = {}  # Python-level handlers to put back afterwards

    def on_signal(sig: signal.Signals) -> None:
        if stop.is_set():
            log.info("%s again: already shutting down", sig.name)
        else:
            log.info(
                "%s: shutting down (creates in flight may finish; jobs resume at the next start)", sig.name
            )
        stop.set()

    for sig in signals:
        before = signal.getsignal(sig)
        try:
            loop.add_signal_handler(sig, on_signal, sig)
        except (NotImplementedError, RuntimeError, ValueError):  # Windows, or not the main thread
            continue
        previous[sig] = before
    runner = asyncio.create_task(bot.start(token), name="discord-bot")
    stopper = asyncio.create_task(stop.wait(), name="stop-signal")
    try:
        await asyncio.wait({runner, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if runner.done():
            runner.result()  # ended by itself: surface its error, if any
            return
        await bot.close()
        try:
            await asyncio.wait_for(runner, timeout=10.0)
        except Exception as exc:  # the gateway task may end with a "connection closed" error
            log.debug("bot task ended with %s during shutdown", type(exc).__name__)
    finally:
        stopper.cancel()
        if not runner.done():
            runner.cancel()
            with contextlib.suppress(BaseException):
                await runner
        if not bot.is_closed():
            await bot.close()
        for sig, before in previous.items():
            loop.remove_signal_handler(sig)
            if before is not None:
                signal.signal(sig, before)


async def run(settings: Settings, *, role: Role = "run", stop: asyncio.Event | None = None) -> None:
    # Imported here so that doctor, migrate and backup start without loading discord.py.
    from bot.app import bot_for
    from bot.decoding import DecodePool
    from bot.engine.engine import Engine
    from bot.net import Fetcher
    from bot.providers.http import VendorHttp
    from bot.providers.registry import build_provider

    profiles = _profiles(settings)
    # One process per database: a lock file beside SQLite's; on PostgreSQL a lock the server holds.
    embedded = settings.database_url is None and str(settings.database_path) != ":memory:"
    lock = InstanceLock.acquire(settings.database_path, command="run") if embedded else None
    try:
        db = await Database.open(settings.database, folder=settings.database_path.parent)
    except BaseException:
        if lock is not None:
            lock.release()
        raise
    refusal = await _refusal(db, settings, role)
    if refusal is not None:
        await db.close()
        if lock is not None:
            lock.release()
        raise SettingsError(refusal)
    server: metrics.MetricsServer | None = None
    fetcher = Fetcher(allow_private=settings.fetch_allow_private)  # one for the vendors and the bot
    try:
        if settings.metrics_port is not None:
            server = metrics.MetricsServer(
                db, settings.metrics_host, settings.metrics_port, lease_seconds=settings.lease_seconds
            )
            await server.start()
        async with VendorHttp(fetcher=fetcher) as http, DecodePool() as decoder:
            providers = {name: build_provider(p, http, decoder) for name, p in profiles.items()}
            engine = Engine(
                db,
                profiles,
                providers,
                default_profile=settings.default_profile,
                welcome_credits=settings.welcome_credits,
                confirm_above=settings.confirm_above,
                role=role,
                lease_seconds=settings.lease_seconds,
            )
            if lock is not None:
                engine.db_health.watch(functools.partial(_report, lock))
            bot = bot_for(role, settings, engine, fetcher=fetcher)
            await serve(bot, settings.discord_token.get_secret_value(), stop=stop)
    finally:
        await fetcher.close()
        if server is not None:
            await server.stop()
        await db.close()
        if lock is not None:
            lock.release()
        log.info("stopped")


async def _refusal(db: Database, settings: Settings, role: Role) -> str | None:
    """Why this process may not start in ``role`` on ``db`` (None: it may)."""
    if role == "worker" and not db.shared:
        return "`worker` needs DATABASE_URL (PostgreSQL): SQLite serves one process, which `run` is"
    if role == "run" and not await db.claim_gateway(settings.shards):
        which = "every shard" if settings.shards is None else f"shard(s) {settings.shard_ids}"
        return (
            f"another soracord process already connects {which} on DATABASE_URL's database; give each "
            "`run` process its own SHARD_IDS (with SHARD_COUNT), or run more engines as `worker`"
        )
    return None


def _report(lock: InstanceLock, status: DbStatus) -> None:
    """Tell ``doctor`` (through the lock file) whether the database's writes are failing, and why."""
    lock.publish(
        db_failing_since=status.failing_since,
        db_errors=status.errors or None,
        db_error=status.last_error,
        db_advice=status.advice,
    )


async def migrate(settings: Settings) -> None:
    db = await Database.open(settings.database, migrate=False)
    try:
        applied = await db.migrate()
        version = await db.schema_version()
    finally:
        await db.close()
    print(f"schema version {version}" + (f" (applied {', '.join(applied)})" if applied else " (up to date)"))


async def doctor(settings: Settings, *, online: bool, quick: bool) -> int:
    from bot.ops.doctor import exit_code, render, run_checks

    results = await run_checks(settings, env=environment(), online=online, quick=quick)
    print(render(results))
    return exit_code(results)


async def backup(settings: Settings, dest: Path, *, force: bool) -> int:
    from bot.ops.backup import BackupError
    from bot.ops.backup import backup as take_backup

    if settings.database_url is not None:
        print("soracord: backup: copies an SQLite file; for PostgreSQL use pg_dump", file=sys.stderr)
        return FAILURE_EXIT
    try:
        result = await take_backup(settings.database_path, dest, force=force)
    except BackupError as exc:
        print(f"soracord: backup: {exc}", file=sys.stderr)
        return FAILURE_EXIT
    print(f"backup written to {result.path}: {result.size:,} bytes, schema version {result.schema_version}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot", description="soracord: Sora 2 videos from Discord."
    )
    commands = parser.add_subparsers(
        dest="command", metavar="{run,worker,sync,migrate,doctor,generate,backup}"
    )
    commands.add_parser("run", help="run the bot (the default): gateway, commands, engine, delivery")
    commands.add_parser("worker", help="run the engine and delivery only (PostgreSQL: beside `run`)")
    commands.add_parser("sync", help="sync the slash commands with Discord, then exit")
    mig = commands.add_parser("migrate", help="apply database migrations")
    mig.add_argument(
        "--to", metavar="URL", help="copy the SQLite database into this empty PostgreSQL database, checked"
    )
    doc = commands.add_parser("doctor", help="check the installation; non-zero exit on a failure")
    doc.add_argument("--online", action="store_true", help="also make one authenticated call per vendor key")
    doc.add_argument("--quick", action="store_true", help="only the cheap local checks (container health)")
    gen = commands.add_parser("generate", help="run one job from the terminal against a configured profile")
    from bot.ops.generate import add_arguments

    add_arguments(gen)
    bak = commands.add_parser("backup", help="copy the database to PATH, safely while the bot runs")
    bak.add_argument("path", type=Path, metavar="PATH")
    bak.add_argument("--force", action="store_true", help="replace PATH if it exists")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    command = args.command or "run"
    try:
        settings = load_settings(need_token=command != "generate")
    except SettingsError as exc:
        if command == "doctor":
            from bot.ops.doctor import render, settings_failure

            print(render(settings_failure(str(exc))))
            return FAILURE_EXIT
        print(f"soracord: {exc}", file=sys.stderr)
        return CONFIG_EXIT
    configure_logging(
        level=settings.log_level, fmt=settings.log_format, secrets=[settings.discord_token.get_secret_value()]
    )
    try:
        if command == "migrate" and args.to is not None:
            from bot.ops import migrate_to

            return asyncio.run(migrate_to.main(settings, args.to))
        if command == "migrate":
            asyncio.run(migrate(settings))
        elif command == "doctor":
            return asyncio.run(doctor(settings, online=args.online, quick=args.quick))
        elif command == "generate":
            from bot.ops import generate

            path = args.database or generate.own_database(settings.database_path)
            profiles = _profiles(settings)
            memory = str(path) == ":memory:"
            with contextlib.nullcontext() if memory else InstanceLock.acquire(path, command="generate"):
                return asyncio.run(
                    generate.main(
                        path,
                        profiles,
                        args,
                        settings.default_profile,
                        allow_private=settings.fetch_allow_private,
                    )
                )
        elif command == "backup":
            return asyncio.run(backup(settings, args.path, force=args.force))
        elif command == "worker":
            asyncio.run(run(settings, role="worker"))
        elif command == "sync":
            asyncio.run(run(settings, role="sync"))
        else:
            asyncio.run(run(settings))
    except (ProfileError, SettingsError, AlreadyRunning) as exc:
        print(f"soracord: {exc}", file=sys.stderr)
        return CONFIG_EXIT
    except KeyboardInterrupt:  # a signal before the handlers were installed
        pass
    except Exception as exc:
        from bot.app import is_login_failure  # only after the bot ran, so the other commands skip discord.py

        if is_login_failure(exc):
            print(
                'soracord: Discord refused DISCORD_TOKEN; check it (README.md, section "Configuration").',
                file=sys.stderr,
            )
            return CONFIG_EXIT
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
