"""Helpers the vendor-specific contract suites share (their fixtures are in ``conftest.py``)."""

from __future__ import annotations

import socket

from bot.engine.pricing import cost_of
from bot.providers.base import AnyRequest, ApiKey, RemoteTask, TaskSnapshot, TaskState, VideoProvider
from bot.providers.capabilities import PricePoint
from bot.providers.profiles import ProviderProfile

MAX_POLLS = 10


class RecordedSleep:
    """An injectable ``sleep`` that returns at once and remembers what it was asked."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def closed_port() -> int:
    """A loopback port nobody listens on (connection refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


async def poll_until_done(provider: VideoProvider, task: RemoteTask, key: ApiKey) -> list[TaskSnapshot]:
    """Every snapshot up to a terminal one (bounded: a task that never ends fails the test)."""
    snaps: list[TaskSnapshot] = []
    for _ in range(MAX_POLLS):
        snap = await provider.poll(task, key)
        snaps.append(snap)
        if snap.state in (TaskState.SUCCEEDED, TaskState.FAILED):
            return snaps
    raise AssertionError(f"task did not finish: {snaps}")


def vendor_cost(provider: VideoProvider, req: AnyRequest, profile: ProviderProfile | None = None) -> int:
    """What ``req`` costs on ``provider`` (validated first), with ``profile``'s overrides if given."""
    caps = provider.capabilities
    caps.validate_request(req)
    spec = caps.spec(caps.resolve_model(req))
    chosen = profile or provider.profile  # type: ignore[attr-defined]
    return cost_of(chosen, spec, spec.price_point(req))


def point_cost(provider: VideoProvider, profile: ProviderProfile, model: str, duration: int) -> int:
    """What one model at one duration costs on ``provider`` with ``profile``'s overrides."""
    return cost_of(profile, provider.capabilities.spec(model), PricePoint(model, duration))
