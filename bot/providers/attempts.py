"""Attempts at a vendor call: how often one is repeated, what "no answer" is, and who may send it.

A vendor with an hourly budget counts every request — a retry after a 5xx as much as the first try
— so a retry has to be reserved and has to wait for room like any call, and it must not come sooner
than the caller's own poll interval. The budgets belong to the engine, and the adapters between the
engine and ``VendorHttp`` should not have to carry one through every call, so the engine sets a
*gate* around the calls it makes (``with gated(gate): await provider.poll(...)``) and ``VendorHttp``
asks the gate before every attempt, the first included. Calls made with no gate (``doctor``, the
contract tests) keep the plain retry policy and its short pauses.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Protocol

from bot.providers.base import ApiKey


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently an idempotent call is repeated.

    ``attempts`` counts every try, the first included, so ``attempts=1`` means never retry. The
    delay before retry *n* (0-based) is ``min(max_delay, base_delay * 2**n)``, of which the upper
    half is random ("equal jitter") so many jobs polling one vendor do not retry in lockstep.
    """

    attempts: int = 3
    base_delay: float = 0.5
    max_delay: float = 8.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")
        if self.base_delay < 0 or self.max_delay < 0:
            raise ValueError("delays must not be negative")

    def delay(self, retry: int, rng: random.Random) -> float:
        cap = min(self.max_delay, self.base_delay * (2.0**retry))
        return cap / 2 + rng.uniform(0, cap / 2)


class TransportError(Exception):
    """The call got no HTTP answer (connection refused, DNS, timeout, dropped connection), or was
    never sent because its gate gave no room for it before the caller's deadline.

    ``maybe_sent`` is False only when the request provably never reached the vendor, i.e. a create
    that failed this way did not start anything. The message names the method, the URL without
    its query, and the failure — never a key.
    """

    def __init__(self, message: str, *, method: str, url: str, maybe_sent: bool, attempts: int) -> None:
        super().__init__(message)
        self.method = method
        self.url = url
        self.maybe_sent = maybe_sent
        self.attempts = attempts


class AttemptGate(Protocol):
    """What a caller's budget says about each attempt of its calls."""

    async def admit(self, key: ApiKey | None, attempt: int, pause: float) -> bool:
        """Wait until attempt number ``attempt`` (1 = the first try) may go out with ``key``, then
        reserve it. ``pause`` is what the retry policy would wait before it (0 for a first try); the
        gate waits at least that. False: do not send it — the caller ran out of time waiting."""
        ...

    def answered(self, key: ApiKey | None, ok: bool) -> None:
        """An attempt with ``key`` got a usable answer (``ok``), or a 5xx or no answer at all."""
        ...


_gate: ContextVar[AttemptGate | None] = ContextVar("attempt_gate", default=None)


@contextmanager
def gated(gate: AttemptGate) -> Iterator[None]:
    """Every vendor call made inside the block (in this task) asks ``gate`` before each attempt."""
    token = _gate.set(gate)
    try:
        yield
    finally:
        _gate.reset(token)


def current() -> AttemptGate | None:
    return _gate.get()
