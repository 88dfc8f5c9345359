"""``python -m bot doctor``: all OK on a healthy installation; each problem is a named FAIL and exit 1."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.ops import doctor
from bot.ops.doctor import CheckResult, Context, Status, exit_code, run_checks
from bot.providers.base import ApiKey, ProviderError
from bot.providers.http import RetryPolicy, VendorHttp
from bot.providers.registry import build_provider
from storage import ledger
from tests.backend import open_database
from tests.fakes.nanophoto import DEFAULT_KEYS, FakeNanophoto
from tests.ops.conftest import KEY, KEY_ENV, TOKEN, Install

ROOT = Path(__file__).resolve().parents[2]


def failed(results: list[CheckResult]) -> dict[str, str]:
    return {r.check: r.detail for r in results if r.status is Status.FAIL}


async def test_healthy_install_is_all_ok(install: Install) -> None:
    results = await run_checks(install.settings, env=install.env)
    assert results, "no checks ran"
    assert [r for r in results if r.status is not Status.OK] == []
    assert {"discord token", "settings", "profile alpha", "database", "ledger"} <= {r.check for r in results}
    assert exit_code(results) == 0
    text = doctor.render(results)
    assert TOKEN not in text and KEY not in text


async def test_bad_token_form_fails_without_printing_it(install: Install) -> None:
    install.values["DISCORD_TOKEN"] = "not-a-token-at-all"
    results = await run_checks(install.settings, env=install.env)
    assert "discord token" in failed(results)
    assert "3" in failed(results)["discord token"]
    assert "not-a-token-at-all" not in doctor.render(results)
    assert exit_code(results) == 1


async def test_missing_key_variable_fails_naming_it(install: Install) -> None:
    results = await run_checks(install.settings, env={})
    assert KEY_ENV in failed(results)["profile alpha"]
    assert exit_code(results) == 1


async def test_unmigrated_database_fails_and_says_migrate(install: Install) -> None:
    install.use_database(install.root / "fresh.db", migrated=False)
    db = await open_database(install.root / "fresh.db", migrate=False)
    await db.close()
    results = await run_checks(install.settings, env=install.env)
    assert "python -m bot migrate" in failed(results)["database"]
    assert exit_code(results) == 1
    # The ledger is not checked against a schema that is not there.
    assert next(r for r in results if r.check == "ledger").status is Status.WARN


@pytest.mark.sqlite_only("a database file that is not there, in a folder doctor must not create")
async def test_absent_database_fails(install: Install) -> None:
    install.values["DATABASE_PATH"] = str(install.root / "nowhere" / "x.db")
    results = await run_checks(install.settings, env=install.env)
    assert "does not exist" in failed(results)["database"]
    assert not (install.root / "nowhere").exists()  # the doctor does not create it


async def test_tampered_balance_fails_the_ledger_check(install: Install) -> None:
    db = await open_database(install.db_path)
    try:
        async with db.transaction() as tx:
            await ledger.grant(tx, 1, 2, 10, actor_id=None, reason="test")
            await tx.execute("UPDATE balances SET balance = balance + 5 WHERE guild_id = 1 AND user_id = 2")
    finally:
        await db.close()
    results = await run_checks(install.settings, env=install.env)
    detail = failed(results)["ledger"]
    assert "guild 1 member 2" in detail and "15" in detail
    assert exit_code(results) == 1


async def test_absent_providers_file_fails(install: Install) -> None:
    install.providers.unlink()
    results = await run_checks(install.settings, env=install.env)
    assert "not found" in failed(results)["providers"]
    assert exit_code(results) == 1


async def test_unreadable_providers_file_fails(install: Install) -> None:
    install.providers.unlink()
    install.providers.mkdir()  # reading a directory fails even for root
    results = await run_checks(install.settings, env=install.env)
    assert "cannot be read" in failed(results)["providers"]


async def test_invalid_profile_and_unknown_kind_fail(install: Install) -> None:
    install.providers.write_text(
        f'[profiles.alpha]\nkind = "nanophoto"\nbase_url = "ftp://x"\nkey_env = ["{KEY_ENV}"]\n', "utf-8"
    )
    assert "base_url" in failed(await run_checks(install.settings, env=install.env))["providers"]
    install.providers.write_text(
        f'[profiles.alpha]\nkind = "nope"\nbase_url = "http://x"\nkey_env = ["{KEY_ENV}"]\n', "utf-8"
    )
    assert "unknown" in failed(await run_checks(install.settings, env=install.env))["profile alpha"]


async def test_quick_checks_skip_the_ledger(install: Install) -> None:
    results = await run_checks(install.settings, env=install.env, quick=True)
    assert exit_code(results) == 0
    assert "ledger" not in {r.check for r in results}


async def test_online_asks_each_key_and_names_a_refused_one(install: Install) -> None:
    async with FakeNanophoto(keys={"good": DEFAULT_KEYS["key-a"]}) as vendor:
        install.write_providers(vendor.base_url)
        install.providers.write_text(
            install.providers.read_text().replace(f'["{KEY_ENV}"]', f'["{KEY_ENV}", "OTHER_KEY"]')
        )
        env = {KEY_ENV: DEFAULT_KEYS["key-a"], "OTHER_KEY": "sk-refused-by-vendor-000"}
        results = await run_checks(install.settings, env=env, online=True)
        assert vendor.count(route="status") == 2
    rows = {r.check: r for r in results}
    assert rows[f"vendor alpha/{KEY_ENV}"].status is Status.OK
    assert rows["vendor alpha/OTHER_KEY"].status is Status.FAIL
    assert "OTHER_KEY" in rows["vendor alpha/OTHER_KEY"].detail
    assert exit_code(results) == 1


async def test_online_unreachable_vendor_fails(install: Install) -> None:
    results = await run_checks(install.settings, env=install.env, online=True)  # port 9: nothing there
    assert "no answer" in failed(results)[f"vendor alpha/{KEY_ENV}"]


class AccountProvider:
    """A provider with the freesora-style ``account(key)``: the doctor shows credits and VIP."""

    def __init__(self, answer: tuple[int, bool] | ProviderError) -> None:
        self.answer = answer

    async def account(self, key: ApiKey) -> tuple[int, bool]:
        if isinstance(self.answer, ProviderError):
            raise self.answer
        return self.answer


async def test_account_endpoint_shows_credits_and_vip() -> None:
    key = ApiKey(name="FSG_KEY", secret=SecretStr("x" * 10))
    result = await doctor._probe("fsg", AccountProvider((120, True)), key)  # type: ignore[arg-type]
    assert result.status is Status.OK and "left_credits 120" in result.detail and "VIP yes" in result.detail
    refused = ProviderError(
        code="UNAUTHORIZED",
        detail="bad key",
        user_message="",
        blame="operator",
        retryable=False,
        http_status=401,
    )
    result = await doctor._probe("fsg", AccountProvider(refused), key)  # type: ignore[arg-type]
    assert result.status is Status.FAIL and "FSG_KEY" in result.detail


async def test_a_crashing_check_is_a_fail_row(install: Install) -> None:
    async def check_boom(ctx: Context) -> list[CheckResult]:
        raise RuntimeError("kaput")

    results = await run_checks(install.settings, env=install.env, checks=[check_boom])
    assert failed(results) == {"boom": "the check itself failed: RuntimeError: kaput"}


async def test_registry_providers_build_for_online_checks(install: Install) -> None:
    async with VendorHttp(retry=RetryPolicy(attempts=1)) as http:
        ctx = Context(install.settings, env=install.env)
        await doctor.check_profiles(ctx)
        assert ctx.profiles is not None
        for profile in ctx.profiles.values():
            build_provider(profile, http)


def _cli(install: Install, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "DATABASE_", "PROVIDERS_"))}
    env.update(install.env, **install.values, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=install.root,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_cli_exit_status_and_table(install: Install) -> None:
    done = _cli(install, "doctor")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "CHECK" in done.stdout and "0 failed" in done.stdout
    assert TOKEN not in done.stdout + done.stderr and KEY not in done.stdout + done.stderr
    install.values["DISCORD_TOKEN"] = "abc"
    done = _cli(install, "doctor", "--quick")
    assert done.returncode == 1
    assert "FAIL" in done.stdout


def test_cli_reads_keys_from_dot_env(install: Install) -> None:
    """The README says to put the keys in .env; the doctor (and the bot) must see them there."""
    (install.root / ".env").write_text(f"{KEY_ENV}={KEY}\n", encoding="utf-8")
    install.env.clear()
    done = _cli(install, "doctor", "--quick")
    assert done.returncode == 0, done.stdout + done.stderr


async def test_online_freesora_shows_left_credits_and_vip(install: Install) -> None:
    """The real freesora adapter's ``account`` (POST /api/get-user-credits) through the registry."""
    from tests.fakes.freesora import FakeFreeSora

    async with FakeFreeSora(credits=1234, is_vip=True) as vendor:
        profile = vendor.profile()
        key = profile.keys[0]
        install.providers.write_text(
            f'[profiles.fsg]\nkind = "{profile.kind}"\nbase_url = "{vendor.base_url}"\nkey_env = ["FSG_KEY"]\n',
            encoding="utf-8",
        )
        env = {"FSG_KEY": key.secret.get_secret_value()}
        results = await run_checks(install.settings, env=env, online=True)
    row = next(r for r in results if r.check == "vendor fsg/FSG_KEY")
    assert row.status is Status.OK, row.detail
    assert "left_credits 1234" in row.detail and "VIP yes" in row.detail
