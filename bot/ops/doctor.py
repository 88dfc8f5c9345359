"""``python -m bot doctor [--online] [--quick]``: is this installation ready to run, and if not, why?

The doctor is a list of small check functions. Each takes the shared ``Context`` (settings, the
environment, what earlier checks found) and returns ``CheckResult`` rows: a check name, OK / WARN /
FAIL, and a detail that says what to do. ``run_checks`` runs them in order and ``render`` prints
the table; tests call either, or a single check, directly.

Local checks touch nothing outside this machine. ``--online`` adds one cheap authenticated call
per provider key. ``--quick`` (the container HEALTHCHECK) keeps the checks that cost a few
milliseconds and never write: token form, settings, profiles, database version.

Secrets never appear in the output: the token is described by its shape only, keys by the name of
the variable that holds them.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import sqlite3
import tomllib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from bot.config import README_SECTION, Settings
from bot.ops.checks import CheckResult, Context, Status, fail, ok, warn
from bot.ops.doctor_delivery import check_engines, check_unsent
from bot.ops.doctor_models import check_models, check_models_online
from bot.ops.doctor_runtime import check_orphans, check_process
from bot.ops.doctor_videos import check_ffmpeg, check_videos
from bot.providers.base import ApiKey, ProviderError, RemoteTask, VideoProvider
from bot.providers.http import RetryPolicy, TransportError, VendorHttp
from bot.providers.profiles import ProfileError, load_profiles
from bot.providers.registry import PROVIDER_KINDS, build_provider
from storage import jobs, ledger
from storage.db import Database, latest_version
from storage.faults import advice

ONLINE_TIMEOUT = 15.0
PROBE_TASK_ID = "soracord-doctor-probe"  # a task id no vendor knows: an authenticated, harmless status call
AUTH_CODES = frozenset({"LOGIN_REQUIRED", "UNAUTHORIZED", "INVALID_API_KEY", "INVALID_KEY", "FORBIDDEN"})


Check = Callable[[Context], Awaitable[list[CheckResult]]]


# ---- checks ---------------------------------------------------------------------------------


async def check_token(ctx: Context) -> list[CheckResult]:
    """A bot token is three dot-separated base64url parts; the first encodes the bot's user id."""
    token = ctx.settings.discord_token.get_secret_value().strip()
    parts = token.split(".")
    redo = "copy it again: Discord developer portal → your application → Bot → Reset Token, into .env"
    if token.lower().startswith(("bot ", "bearer ")):
        return [
            fail("discord token", f"DISCORD_TOKEN starts with a prefix; put only the token itself ({redo})")
        ]
    if len(parts) != 3 or not all(parts):
        return [
            fail(
                "discord token",
                f"DISCORD_TOKEN does not look like a bot token ({len(parts)} dot-separated part(s), "
                f"expected 3); {redo}",
            )
        ]
    alphabet = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    if not all(set(p) <= alphabet for p in parts):
        return [fail("discord token", f"DISCORD_TOKEN contains characters a token never has; {redo}")]
    try:
        user_id = base64.urlsafe_b64decode(parts[0] + "=" * (-len(parts[0]) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError):
        user_id = ""
    if not user_id.isdigit():
        return [
            warn("discord token", "three parts, but the first does not encode a user id; check the token")
        ]
    return [ok("discord token", f"well-formed, for bot user {user_id} (validity is checked at login)")]


def _database_setting(url: str | None, path: Path) -> str:
    if url is None:
        return f"DATABASE_PATH={path}"
    from bot.ops.doctor_pg import shown

    return f"DATABASE_URL={shown(url)}"


async def check_settings(ctx: Context) -> list[CheckResult]:
    s = ctx.settings
    out = [
        ok(
            "settings",
            f"{_database_setting(s.database_url, s.database_path)} PROVIDERS_FILE={s.providers_file} "
            f"LOG_LEVEL={s.log_level} LOG_FORMAT={s.log_format}",
        )
    ]
    if s.dev_guild_id is not None:
        out.append(
            warn(
                "settings",
                f"DEV_GUILD_ID={s.dev_guild_id}: commands appear in that server only; "
                "leave it empty in production",
            )
        )
    if s.metrics_port is not None:
        where = f"{s.metrics_host}:{s.metrics_port}"
        if s.metrics_host not in ("127.0.0.1", "localhost", "::1"):
            out.append(warn("metrics", f"served on {where}, reachable from other machines; firewall it"))
        else:
            out.append(ok("metrics", f"served on http://{where}/metrics"))
    return out


def _raw_profiles(path: Path) -> dict[str, Any]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    section = data.get("profiles")
    return section if isinstance(section, dict) else {}


async def check_profiles(ctx: Context) -> list[CheckResult]:
    """The providers file reads, every profile validates, every key variable is set, every kind is known."""
    path = ctx.settings.providers_file
    try:
        raw = _raw_profiles(path)
    except FileNotFoundError:
        return [
            fail(
                "providers", f"{path} not found: create it (see providers.example.toml) or set PROVIDERS_FILE"
            )
        ]
    except OSError as exc:
        return [fail("providers", f"{path} cannot be read ({exc.strerror or exc}); make it a readable file")]
    except tomllib.TOMLDecodeError as exc:
        return [fail("providers", f"{path} is not valid TOML ({exc}); fix that line")]
    out: list[CheckResult] = []
    # Every missing key variable, not just the first one load_profiles would stop at.
    for name, table in raw.items():
        if not isinstance(table, dict):
            continue
        names = table.get("key_env", [])
        names = [names] if isinstance(names, str) else names
        if isinstance(names, list):
            missing = [str(v) for v in names if not ctx.env.get(str(v), "")]
            if missing:
                out.append(
                    fail(
                        f"profile {name}",
                        f"key variable(s) {', '.join(missing)} not set: put the API key(s) in .env",
                    )
                )
    try:
        profiles = load_profiles(path, ctx.env)
    except ProfileError as exc:
        return out or [fail("providers", f'{exc}; see README.md, section "Provider profiles"')]
    except OSError as exc:
        return [fail("providers", f"{path} cannot be read ({exc.strerror or exc})")]
    ctx.profiles = profiles
    for name, profile in profiles.items():
        if profile.kind not in PROVIDER_KINDS:
            out.append(
                fail(
                    f"profile {name}",
                    f"kind `{profile.kind}` is unknown (known: {', '.join(sorted(PROVIDER_KINDS))})",
                )
            )
            continue
        keys = ", ".join(k.name for k in profile.keys)
        out.append(ok(f"profile {name}", f"kind {profile.kind}, {profile.base_url}, keys from {keys}"))
    default = ctx.settings.default_profile
    if default is not None and default not in profiles:
        out.append(
            fail("providers", f"DEFAULT_PROFILE={default} is not in {path} (profiles: {', '.join(profiles)})")
        )
    return out


def _latest_version() -> int:
    return latest_version()


async def check_database(ctx: Context) -> list[CheckResult]:
    """The file exists (or can be created), is writable, passes a quick integrity check, is migrated."""
    if ctx.settings.database_url is not None:
        from bot.ops.doctor_pg import check_postgres

        return await check_postgres(ctx, ctx.settings.database_url)
    path = ctx.settings.database_path
    if not path.exists():
        parent = next((p for p in path.absolute().parents if p.exists()), Path("/"))
        if not os.access(parent, os.W_OK):
            return [fail("database", f"{path} does not exist and {parent} is not writable by this user")]
        return [
            fail(
                "database",
                f"{path} does not exist yet: run `python -m bot migrate` (the bot also creates it at start)",
            )
        ]
    if not path.is_file():
        return [fail("database", f"{path} is not a file; point DATABASE_PATH at a file")]
    try:
        if ctx.db is None:
            ctx.db = await Database.open(path, migrate=False)
        db = ctx.db
        version = await db.schema_version()
    except (sqlite3.Error, OSError) as exc:
        return [
            fail("database", f"{path} cannot be opened ({exc}); is it an SQLite file this user may write?")
        ]
    out: list[CheckResult] = []
    latest = _latest_version()
    if version < latest:
        out.append(
            fail("database", f"schema version {version}, latest {latest}: run `python -m bot migrate`")
        )
    elif version > latest:
        out.append(
            fail("database", f"schema version {version} is newer than this code ({latest}): upgrade the bot")
        )
    else:
        ctx.db_current = True
        out.append(ok("database", f"{path}, schema version {version} (latest)"))
    if ctx.quick:
        return out
    try:
        await _probe_write(db)
    except sqlite3.Error as exc:
        out.append(fail("database", f"{path} is not writable ({exc}); {advice(exc)}"))
    rows = await db.fetchall("PRAGMA quick_check")
    verdict = str(rows[0][0]) if rows else "?"
    if verdict != "ok":
        out.append(fail("database", f"integrity check: {verdict}; restore the latest backup"))
    return out


class _Rollback(Exception):
    pass


async def _probe_write(db: Database) -> None:
    """Take the write lock and write, then roll back: proves the file and its folder are writable."""
    with contextlib.suppress(_Rollback):
        async with db.transaction() as tx:
            await tx.execute("CREATE TABLE doctor_write_probe (x INTEGER)")
            raise _Rollback


async def check_ledger(ctx: Context) -> list[CheckResult]:
    """Every balance equals the sum of its entries; also says how many jobs are in flight."""
    if ctx.db is None or not ctx.db_current:
        return [warn("ledger", "not checked: the database is missing or not migrated")]
    problems = await ledger.invariant_violations(ctx.db)
    if problems:
        shown = "; ".join(problems[:3]) + (f"; and {len(problems) - 3} more" if len(problems) > 3 else "")
        return [
            fail(
                "ledger",
                f"{len(problems)} balance(s) disagree with their entries ({shown}). Balances must only "
                "change through ledger entries: restore the latest backup, or stop the bot and set each "
                "balance to the sum of its entries",
            )
        ]
    active = await jobs.count_active(ctx.db)
    return [ok("ledger", f"balances match their entries; {active} job(s) in flight (resumed at start)")]


async def _probe(profile: str, provider: VideoProvider, key: ApiKey) -> CheckResult:
    """One cheap authenticated call: the vendor's account endpoint if the adapter has one, else a
    status check of a task id nobody has (the vendor answers "not found" only to a key it accepts)."""
    name = f"vendor {profile}/{key.name}"
    account = getattr(provider, "account", None)
    try:
        if account is not None:
            left, vip = await account(key)
            return ok(name, f"answered: left_credits {left}, VIP {'yes' if vip else 'no'}")
        await provider.poll(RemoteTask(remote_id=PROBE_TASK_ID), key)
        return ok(name, "answered and accepted the key")
    except ProviderError as exc:
        if exc.http_status in (401, 403) or exc.code in AUTH_CODES:
            return fail(name, f"the vendor refused the key in {key.name} ({exc.code}); replace it in .env")
        if exc.http_status == 429:
            return warn(name, "answered 429: the key's request budget is used up for now; try later")
        if exc.http_status is None:
            return fail(name, f"no answer ({exc.code}): check base_url and this machine's network")
        if exc.http_status >= 500:
            return warn(name, f"answered HTTP {exc.http_status} ({exc.code}): the vendor has trouble")
        note = "" if account is not None else " (this vendor has no balance endpoint)"
        return ok(name, f"answered and accepted the key{note}")
    except TransportError as exc:
        return fail(name, f"no answer: {exc}; check base_url and this machine's network")


async def check_vendors(ctx: Context) -> list[CheckResult]:
    """With ``--online``: each key of each profile makes one authenticated call."""
    if not ctx.online:
        return []
    if not ctx.profiles:
        return [warn("vendors", "not checked: the provider profiles did not load")]
    out: list[CheckResult] = []
    async with VendorHttp(retry=RetryPolicy(attempts=1)) as http:
        for profile in ctx.profiles.values():
            try:
                provider = build_provider(profile, http)
            except ProfileError as exc:
                out.append(fail(f"vendor {profile.name}", str(exc)))
                continue
            for key in profile.keys:
                out.append(await _probe(profile.name, provider, key))
    return out


CHECKS: tuple[Check, ...] = (
    check_token,
    check_settings,
    check_profiles,
    check_database,
    check_process,
    check_engines,
    check_ledger,
    check_orphans,
    check_unsent,
    check_videos,
    check_ffmpeg,
    check_models,
    check_vendors,
    check_models_online,
)
QUICK_CHECKS: tuple[Check, ...] = (check_token, check_settings, check_profiles, check_database, check_process)


async def run_checks(
    settings: Settings,
    *,
    env: Mapping[str, str] | None = None,
    online: bool = False,
    quick: bool = False,
    checks: Sequence[Check] | None = None,
) -> list[CheckResult]:
    """Run the checks in order; a check that crashes becomes a FAIL row, never a traceback."""
    ctx = Context(settings, env=dict(os.environ) if env is None else env, online=online, quick=quick)
    results: list[CheckResult] = []
    try:
        for check in checks or (QUICK_CHECKS if quick else CHECKS):
            try:
                results.extend(await check(ctx))
            except Exception as exc:
                label = check.__name__.removeprefix("check_")
                results.append(fail(label, f"the check itself failed: {type(exc).__name__}: {exc}"))
    finally:
        if ctx.db is not None:
            await ctx.db.close()
    return results


def settings_failure(message: str) -> list[CheckResult]:
    """The row shown when the settings themselves do not load (nothing else can be checked)."""
    return [fail("settings", f"{message.removeprefix('soracord: ')} ({README_SECTION})")]


def exit_code(results: Sequence[CheckResult]) -> int:
    return 1 if any(r.status is Status.FAIL for r in results) else 0


def render(results: Sequence[CheckResult]) -> str:
    """A plain-text table: check | status | detail."""
    rows = [("CHECK", "STATUS", "DETAIL"), *((r.check, r.status.value, r.detail) for r in results)]
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    lines = [f"{a:<{w0}}  {b:<{w1}}  {c}" for a, b, c in rows]
    fails = sum(r.status is Status.FAIL for r in results)
    warns = sum(r.status is Status.WARN for r in results)
    lines.append("")
    lines.append(f"{fails} failed, {warns} warning(s), {len(results) - fails - warns} ok")
    return "\n".join(lines)
