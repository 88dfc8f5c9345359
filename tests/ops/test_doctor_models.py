"""``doctor`` on models that come and go: retired defaults, every model retired, and ``--online``
asking an OpenAI-compatible reseller which of the configured models it still serves."""

from __future__ import annotations

from bot.ops.doctor import CheckResult, Status, check_profiles, exit_code, run_checks
from bot.ops.doctor_models import check_models_online
from storage import guilds
from tests.backend import open_database
from tests.fakes.openai_videos import FakeOpenAIVideos
from tests.ops.conftest import KEY, KEY_ENV, Install

RESELLER = """
[profiles.alpha]
kind = "nanophoto"
base_url = "http://127.0.0.1:9"
key_env = ["{key_env}"]
{alpha_extra}

[profiles.reseller]
kind = "openai_videos"
base_url = "{base_url}"
key_env = ["RESELLER_KEY"]
models = ["sora-2", "sora-2-pro"]
"""


def write(install: Install, base_url: str = "http://127.0.0.1:9", alpha_extra: str = "") -> None:
    install.providers.write_text(
        RESELLER.format(key_env=KEY_ENV, base_url=base_url, alpha_extra=alpha_extra), encoding="utf-8"
    )
    install.env["RESELLER_KEY"] = "sk-reseller-secret"


def rows(results: list[CheckResult], prefix: str) -> dict[str, tuple[Status, str]]:
    return {r.check: (r.status, r.detail) for r in results if r.check.startswith(prefix)}


async def test_the_live_models_of_each_profile_are_listed(install: Install) -> None:
    write(install, alpha_extra='retired = ["sora2-pro-high"]')
    results = await run_checks(install.settings, env=install.env)
    models = rows(results, "models ")
    assert models["models alpha"] == (Status.OK, "sora2, sora2-pro-standard (retired: sora2-pro-high)")
    assert models["models reseller"] == (Status.OK, "sora-2, sora-2-pro")
    assert exit_code(results) == 0


async def test_a_profile_with_every_model_retired_fails(install: Install) -> None:
    write(install, alpha_extra='retired = ["sora2", "sora2-pro-standard", "sora2-pro-high"]')
    results = await run_checks(install.settings, env=install.env)
    status, detail = rows(results, "models ")["models alpha"]
    assert status is Status.FAIL and "every model is retired" in detail
    assert exit_code(results) == 1


async def test_a_server_default_that_is_retired_fails_and_says_what_to_do(install: Install) -> None:
    write(install, alpha_extra='retired = ["sora2-pro-high"]')
    db = await open_database(install.db_path)
    await guilds.update(db, 42, default_profile="alpha", default_model="sora2-pro-high")
    await db.close()
    results = await run_checks(install.settings, env=install.env)
    status, detail = rows(results, "server ")["server 42"]
    assert status is Status.FAIL and "/settings provider" in detail and "sora2, sora2-pro-standard" in detail


async def test_online_says_per_model_whether_the_reseller_serves_it(install: Install) -> None:
    async with FakeOpenAIVideos(keys={"key-1": "sk-reseller-secret"}) as fake:
        fake.listed_models = ("sora-2",)  # the relay no longer has a channel for sora-2-pro
        write(install, base_url=fake.base_url)
        results = await run_checks(
            install.settings, env=install.env, online=True, checks=[check_profiles, check_models_online]
        )
        served = rows(results, "served ")
        assert served["served reseller/sora-2"][0] is Status.OK
        assert served["served reseller/sora-2-pro"] == (
            Status.FAIL,
            "not in the vendor's model list: it is not served; list it under `retired`",
        )
        assert served["served alpha"] == (
            Status.OK,
            "cannot tell: this vendor offers no way to ask which models it serves",
        )
        assert fake.count("models") == 1
    text = "\n".join(r.detail for r in results)
    assert KEY not in text and "sk-reseller-secret" not in text
