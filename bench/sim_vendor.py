"""Simulated video vendors for the poller benchmark, and a loopback fake served from its own process.

``SimVendor`` is an in-process ``VideoProvider`` (no HTTP) living on the benchmark's clock, in one
of three styles:

* ``"nanophoto"``: status words only (``progress`` is a stage text, so ``progress_pct`` is None);
  with ``per_hour`` set the *vendor itself* enforces a rolling hour per key, counting create and
  status calls alike (docs/vendors.md, "nanophoto: common rules"), and answers over-limit calls
  with the documented 429 (``ProviderError(http_status=429, retryable=True)``). Only accepted calls
  fill the window — the reading most generous to a client that keeps calling after a 429.
* ``"openai"``: ``progress_pct = floor(100 * elapsed / T)`` while running, as an integer, the way
  ``/v1/videos`` reports it.
* ``"tvc"``: nanophoto's three-step ad pipeline (script 20% of T, storyboard 20%, video 60%), with
  the hourly limit as ``"nanophoto"``; step 1 is already in the create answer.

Each created task draws its generation time ``T`` from a seeded RNG, uniform in ``gen_range``, and
is done at ``created + T``; a finished task reports ``T`` as the vendor's own timing (nanophoto's
``generationTime``, whole seconds; ``completed_at - created_at`` for ``/v1/videos``). Every call is
recorded (virtual time, route, key, task, HTTP status) and every task keeps its true finish time,
so detection lag = (engine's terminal event) − (true finish).

``python -m bench.sim_vendor serve-openai …`` runs the real ``tests.fakes.openai_videos`` server on
127.0.0.1 in a separate process, on a ``ScaledClock`` whose epoch the parent passes in; it prints
``{"base_url": …}`` and, when a line arrives on stdin, its request counts, then exits. Keeping the
vendor in another process keeps its CPU and memory out of the engine's measurements.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import sys
from collections import deque
from dataclasses import dataclass, field
from typing import Literal

from pydantic import SecretStr

from bot.engine.clock import Clock
from bot.providers.base import (
    AnyRequest,
    ApiKey,
    Kind,
    ProviderError,
    RemoteTask,
    TaskSnapshot,
    TaskState,
    VideoSource,
)
from bot.providers.capabilities import Capabilities, ModelSpec, PricePoint
from bot.providers.profiles import ProviderProfile, Timing

Style = Literal["nanophoto", "openai", "tvc"]
WINDOW = 3600.0
RATE_LIMIT_TEXT = (
    "API key rate limit exceeded. Default: 100 requests/hour. Contact support@nanophoto.ai for higher limits."
)
TVC_STEPS = (
    (1, "Generating Storyboard Prompt", 0.0),
    (2, "Generating Storyboard", 0.2),
    (3, "Generating Ad Video", 0.4),
)


@dataclass(frozen=True)
class Call:
    at: float
    route: Literal["create", "status"]
    key: str
    remote_id: str | None
    status: int  # 200 or 429


@dataclass
class SimTask:
    remote_id: str
    key: str
    created_at: float
    generation: float  # seconds from create to done (T)

    @property
    def finish_at(self) -> float:
        return self.created_at + self.generation

    def step_starts(self) -> list[tuple[int, float]]:
        """When each TVC step begins (absolute time)."""
        return [(step, self.created_at + share * self.generation) for step, _, share in TVC_STEPS]


def capabilities(style: Style) -> Capabilities:
    """One model per style, priced 4/8 credits for 10/15 s, making what the style makes."""
    model = {"nanophoto": "sora2", "openai": "sora-2", "tvc": "sora2-tvc"}[style]
    kind = Kind.TVC if style == "tvc" else Kind.TEXT
    spec = ModelSpec(
        name=model,
        label=model,
        family="sora",
        kinds=frozenset({kind}),
        durations=(10, 15),
        prices={PricePoint(model, 10): 4, PricePoint(model, 15): 8},
    )
    return Capabilities(specs=(spec,), default_model=model)


@dataclass
class SimVendor:
    """A ``VideoProvider`` on ``clock``; see the module docstring."""

    profile_name: str
    style: Style
    clock: Clock
    gen_range: tuple[float, float]
    seed: int = 1
    per_hour: int | None = None
    timing: Timing = field(default_factory=Timing)
    calls: list[Call] = field(default_factory=list)
    tasks: dict[str, SimTask] = field(default_factory=dict)
    _windows: dict[str, deque[float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._caps = capabilities(self.style)

    # ---- VideoProvider -------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self.profile_name

    @property
    def capabilities(self) -> Capabilities:
        return self._caps

    def timing_for(self, req: AnyRequest) -> Timing:
        return self.timing

    async def preflight(self, req: AnyRequest, key: ApiKey) -> None:
        return None

    async def submit(self, req: AnyRequest, key: ApiKey) -> RemoteTask:
        self._admit(key, "create", None)
        remote_id = f"task_{len(self.tasks) + 1:05d}"
        lo, hi = self.gen_range
        sim = SimTask(remote_id, key.name, self.clock.now(), self._rng.uniform(lo, hi))
        self.tasks[remote_id] = sim
        first = self._running(sim) if self.style == "tvc" else None  # the create answer says step 1
        return RemoteTask(remote_id=remote_id, snapshot=first)

    async def poll(self, task: RemoteTask, key: ApiKey) -> TaskSnapshot:
        self._admit(key, "status", task.remote_id)
        sim = self.tasks[task.remote_id]
        elapsed = self.clock.now() - sim.created_at
        if elapsed >= sim.generation:
            took = float(math.floor(sim.generation) if self.style == "openai" else round(sim.generation))
            steps = {"step": 3, "step_count": 3, "step_name": "Completed"} if self.style == "tvc" else {}
            return TaskSnapshot(
                state=TaskState.SUCCEEDED,
                video_url=f"https://cdn.sim.invalid/{sim.remote_id}.mp4",
                vendor_seconds=took,
                **steps,
            )
        if self.style == "openai":
            return TaskSnapshot(
                state=TaskState.RUNNING, progress_pct=math.floor(100 * elapsed / sim.generation)
            )
        if self.style == "tvc":
            return self._running(sim)
        return TaskSnapshot(state=TaskState.RUNNING, stage="generating")

    def _running(self, sim: SimTask) -> TaskSnapshot:
        share = (self.clock.now() - sim.created_at) / sim.generation
        step, name, _ = next(s for s in reversed(TVC_STEPS) if share >= s[2])
        return TaskSnapshot(
            state=TaskState.RUNNING,
            step=step,
            step_count=3,
            step_name=name,
            stage="generating" if step == 3 else None,
        )

    async def open_result(self, snap: TaskSnapshot, key: ApiKey) -> VideoSource:
        assert snap.video_url is not None
        return VideoSource(url=snap.video_url)  # the link came with the status answer: no call

    # ---- the vendor's own rate limit -----------------------------------------------------------

    def _admit(self, key: ApiKey, route: Literal["create", "status"], remote_id: str | None) -> None:
        now = self.clock.now()
        status = 200
        if self.per_hour is not None:
            window = self._windows.setdefault(key.name, deque())
            while window and window[0] <= now - WINDOW:
                window.popleft()
            if len(window) >= self.per_hour:
                status = 429
            else:
                window.append(now)
        self.calls.append(Call(now, route, key.name, remote_id, status))
        if status == 429:
            raise ProviderError(
                code="API_KEY_RATE_LIMIT_EXCEEDED",
                detail=RATE_LIMIT_TEXT,
                user_message="The video provider is busy right now; the bot will keep trying.",
                blame="vendor",
                retryable=True,
                http_status=429,
            )

    # ---- what the benchmark reads --------------------------------------------------------------

    def count(
        self, route: str | None = None, *, status: int | None = None, before: float | None = None
    ) -> int:
        return sum(
            1
            for c in self.calls
            if (route is None or c.route == route)
            and (status is None or c.status == status)
            and (before is None or c.at < before)
        )


def sim_key(name: str = "sim-key") -> ApiKey:
    return ApiKey(name=name, secret=SecretStr("sk-sim-0000"))


def sim_profile(
    name: str, *, per_hour: int | None, max_concurrent: int | None, timing: Timing
) -> ProviderProfile:
    """A profile for a ``SimVendor`` (``kind``/``base_url`` are never used: no HTTP)."""
    return ProviderProfile(
        name=name,
        kind="nanophoto",
        base_url="http://sim.invalid",
        keys=(sim_key(),),
        requests_per_hour=per_hour,
        max_concurrent=max_concurrent,
        timing=timing,
    )


# ---- the loopback fake in its own process -----------------------------------------------------


async def _serve_openai(args: argparse.Namespace) -> None:
    from bench.virtual_clock import ScaledClock
    from tests.fakes.openai_videos import FakeOpenAIVideos, VideoScript

    clock = ScaledClock(args.factor, epoch=args.epoch)
    rng = random.Random(args.seed)
    async with FakeOpenAIVideos(clock=clock, models=("sora-2",)) as fake:
        for _ in range(args.jobs):
            generation = rng.uniform(args.min, args.max)
            # step k (k = 1..100) lasts T/100: progress k-1 %, then done at T, like SimVendor.
            fake.script_next(
                VideoScript(
                    queued_polls=0,
                    progress=tuple(range(100)),
                    advance="time",
                    step_seconds=generation / 100,
                    direct_url=True,
                )
            )
        print(json.dumps({"base_url": fake.base_url, "keys": fake.keys}), flush=True)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, sys.stdin.readline)
        routes: dict[str, int] = {}
        for rec in fake.requests:
            routes[rec.route] = routes.get(rec.route, 0) + 1
        print(json.dumps({"requests": routes}), flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.sim_vendor")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve-openai", help="serve the fake /v1/videos vendor on compressed time")
    serve.add_argument("--factor", type=float, required=True)
    serve.add_argument("--epoch", type=float, required=True)
    serve.add_argument("--seed", type=int, default=1)
    serve.add_argument("--jobs", type=int, required=True)
    serve.add_argument("--min", type=float, default=60.0)
    serve.add_argument("--max", type=float, default=480.0)
    args = parser.parse_args(argv)
    asyncio.run(_serve_openai(args))


if __name__ == "__main__":
    main()
