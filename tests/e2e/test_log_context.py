"""JSON log lines name the job and the interaction they belong to, on the bot's own paths.

A member's ``/sora`` whose create the vendor refuses: the engine's warning about it is logged from
the job's own task, and must carry both that job's id and the id of the interaction that made it.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

import bot.logs
from bot.logs import configure_logging
from tests.e2e.conftest import Stack


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    out = io.StringIO()
    before = bot.logs._installed
    configure_logging(level="INFO", fmt="json", stream=out)
    try:
        yield out
    finally:
        logging.getLogger().removeHandler(bot.logs._installed)  # type: ignore[arg-type]
        bot.logs._installed = before


async def test_a_refused_submit_is_logged_with_its_job_and_interaction(
    stack: Stack, json_lines: io.StringIO
) -> None:
    await stack.grant(10)
    stack.vendor.fail_next("generate", status=402, code="INSUFFICIENT_CREDITS", error="no credits")
    handle = await stack.discord.invoke_slash("sora", {"prompt": "a harbour at dawn"})
    job = await stack.settle(handle)
    records = [json.loads(line) for line in json_lines.getvalue().splitlines()]
    refused = [r for r in records if "submit refused" in r["message"]]
    assert refused, records
    assert refused[0]["job_id"] == job.id
    assert refused[0]["interaction_id"] == handle.id
