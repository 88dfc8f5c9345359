"""The shared HTTP client under a gate (``bot.providers.attempts``): every attempt, retries
included, asks the caller's budget first and says how it went; a gate that gives no room stops the
retries (or the call) without sending anything — against the fake nanophoto on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from bot.providers.attempts import gated
from bot.providers.base import ApiKey
from bot.providers.http import TransportError, VendorHttp
from tests.contract.support import RecordedSleep
from tests.fakes.nanophoto import STATUS_PATH, FakeNanophoto


@pytest.fixture
async def fake() -> AsyncIterator[FakeNanophoto]:
    async with FakeNanophoto() as server:
        yield server


@dataclass
class Gate:
    """Admits ``room`` attempts, records what it was asked and told."""

    room: int
    asked: list[tuple[int, float]] = field(default_factory=list)
    told: list[bool] = field(default_factory=list)

    async def admit(self, key: ApiKey | None, attempt: int, pause: float) -> bool:
        self.asked.append((attempt, pause))
        self.room -= 1
        return self.room >= 0

    def answered(self, key: ApiKey | None, ok: bool) -> None:
        self.told.append(ok)


async def status(http: VendorHttp, fake: FakeNanophoto, key: ApiKey) -> int:
    resp = await http.request_json(
        "POST", fake.base_url + STATUS_PATH, key=key, json_body={}, timeout_s=2.0, idempotent=True
    )
    return resp.status


async def test_every_attempt_asks_the_gate_and_its_pauses_are_the_gates(
    fake: FakeNanophoto, http: VendorHttp, key: ApiKey, sleeps: RecordedSleep
) -> None:
    fake.fail_next("status", status=503, times=2)
    gate = Gate(room=10)
    with gated(gate):
        assert await status(http, fake, key) == 400  # the third try reached the real route
    assert [a for a, _ in gate.asked] == [1, 2, 3]
    assert gate.asked[0][1] == 0 and all(p > 0 for _, p in gate.asked[1:])  # the policy's wish, passed on
    assert sleeps.delays == []  # the gate waits (on the engine's clock), not the client
    assert gate.told == [False, False, True]
    assert fake.count(route="status") == 3


async def test_a_gate_without_room_stops_the_retries_and_the_last_answer_stands(
    fake: FakeNanophoto, http: VendorHttp, key: ApiKey
) -> None:
    fake.fail_next("status", status=503, times=5)
    gate = Gate(room=1)
    with gated(gate):
        assert await status(http, fake, key) == 503
    assert fake.count(route="status") == 1


async def test_a_gate_that_lets_nothing_out_sends_nothing(
    fake: FakeNanophoto, http: VendorHttp, key: ApiKey
) -> None:
    with gated(Gate(room=0)), pytest.raises(TransportError) as caught:
        await status(http, fake, key)
    assert caught.value.maybe_sent is False and caught.value.attempts == 0
    assert fake.count() == 0
    assert key.secret.get_secret_value() not in str(caught.value)
