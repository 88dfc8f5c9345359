"""No log line carries the Discord token or a provider key, whoever logs it and however it is formatted."""

from __future__ import annotations

import io
import json
import logging

import pytest
from pydantic import SecretStr

from bot.logs import add_secrets, configure_logging, log_context
from bot.providers.base import ApiKey, ProviderError, RemoteTask
from bot.providers.http import RetryPolicy, TransportError, VendorHttp
from bot.providers.nanophoto import NanophotoSora
from tests.fakes.nanophoto import FakeNanophoto
from tests.ops.conftest import KEY, TOKEN

pytestmark = pytest.mark.usefixtures("restore_logging")


async def _noisy_run(vendor: FakeNanophoto) -> None:
    """A run with vendor errors, logged by our code and by libraries, with the secrets in the text."""
    key = ApiKey(name="ALPHA_API_KEY", secret=SecretStr(KEY))
    async with VendorHttp(retry=RetryPolicy(attempts=2, base_delay=0.001, max_delay=0.001)) as http:
        provider = NanophotoSora(vendor.profile(), http)
        vendor.fail_next("status", status=503)
        with pytest.raises(ProviderError):
            await provider.poll(RemoteTask(remote_id="nope"), key)  # the vendor does not know this key
        with pytest.raises(TransportError):
            await http.request_json("POST", "http://127.0.0.1:9/x", key=key, timeout_s=1, idempotent=True)
    log = logging.getLogger("aiohttp.client")
    with log_context(job_id=7, interaction_id=99):
        try:
            raise RuntimeError(f"vendor said: invalid key {KEY}; sent Authorization: Bearer {KEY}")
        except RuntimeError:
            logging.getLogger("bot.engine").exception(
                "job failed with %s", {"Authorization": f"Bearer {KEY}"}
            )
    logging.getLogger("discord.gateway").debug("IDENTIFY %s", {"op": 2, "d": {"token": TOKEN}})
    logging.getLogger("discord.http").warning("Authorization: Bot %s", TOKEN)
    logging.getLogger("bot").info("Bearer some-other-credential-we-never-configured")
    log.error("request headers %r", {"authorization": "Bearer " + KEY}, extra={"job_id": 8, "note": KEY})
    logging.warning("stack with secret %s", KEY, stack_info=True)


@pytest.mark.parametrize("fmt", ["plain", "json"])
async def test_no_secret_reaches_any_line(fmt: str) -> None:
    out = io.StringIO()
    configure_logging(level="DEBUG", fmt=fmt, secrets=[TOKEN], stream=out)  # type: ignore[arg-type]
    add_secrets([KEY])  # provider keys are known only after the profiles load
    async with FakeNanophoto() as vendor:
        await _noisy_run(vendor)
    text = out.getvalue()
    lines = text.splitlines()
    assert len(lines) > 8
    assert KEY not in text
    assert TOKEN not in text
    assert "some-other-credential" not in text
    assert "***" in text
    assert "vendor said: invalid key ***" in text
    if fmt == "json":
        records = [json.loads(line) for line in lines]
        failed = next(r for r in records if r["message"].startswith("job failed"))
        assert failed["job_id"] == 7 and failed["interaction_id"] == 99
        assert "RuntimeError" in failed["exception"]
        assert next(r for r in records if r["message"].startswith("request headers"))["job_id"] == 8
    else:
        assert any("[job 7 interaction 99]" in line for line in lines)
        assert any("Traceback" in line for line in lines)


async def test_configuring_twice_keeps_one_handler() -> None:
    configure_logging(stream=io.StringIO())
    configure_logging(stream=io.StringIO())
    ours = [h for h in logging.getLogger().handlers if type(h).__name__ == "StreamHandler"]
    assert len([h for h in ours if any(type(f).__name__ == "RedactingFilter" for f in h.filters)]) == 1


def test_interaction_tokens_never_reach_a_line_at_debug() -> None:
    """discord.py logs the routes it calls at DEBUG; an interaction token in one is a credential."""
    out = io.StringIO()
    configure_logging(level="DEBUG", fmt="plain", stream=out)  # type: ignore[arg-type]
    token = "aW50ZXJhY3Rpb246MTIzNDU2Nzg5MDEyMzQ1Njc4OmFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6"
    http = logging.getLogger("discord.http")
    http.debug("PATCH https://discord.com/api/v10/webhooks/1234567890/%s/messages/@original", token)
    http.debug("POST https://discord.com/api/v10/interactions/99887766/%s/callback", token)
    logging.getLogger("discord.gateway").debug("INTERACTION_CREATE %s", {"id": "1", "token": token})
    text = out.getvalue()
    assert len(text.splitlines()) == 3
    assert token not in text
    assert text.count("***") == 3
    assert "/webhooks/1234567890/***/messages/@original" in text
