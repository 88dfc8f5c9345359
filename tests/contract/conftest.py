"""Fixtures every vendor-specific contract suite uses: an HTTP client whose retries sleep instantly
and are recorded, and the fake's first key. Each suite brings its own ``fake`` and ``provider``."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.net import Fetcher
from bot.providers.base import ApiKey
from bot.providers.http import RetryPolicy, VendorHttp
from tests.contract.support import RecordedSleep


@pytest.fixture
def sleeps() -> RecordedSleep:
    return RecordedSleep()


@pytest.fixture
async def http(sleeps: RecordedSleep) -> AsyncIterator[VendorHttp]:
    async with (
        Fetcher(allow_private=True) as private,  # members' images are served on 127.0.0.1 here
        VendorHttp(
            retry=RetryPolicy(attempts=3, base_delay=0.5, max_delay=4.0),
            sleep=sleeps,
            rng=random.Random(7),
            fetcher=private,
        ) as client,
    ):
        yield client


@pytest.fixture
def key(fake: Any) -> ApiKey:
    first: ApiKey = fake.api_key()
    return first
