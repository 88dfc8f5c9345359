"""Helpers the vendor-specific contract suites share (their fixtures are in ``conftest.py``)."""

from __future__ import annotations

import socket

from bot.providers.base import ApiKey, RemoteTask, TaskSnapshot, TaskState, VideoProvider

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
