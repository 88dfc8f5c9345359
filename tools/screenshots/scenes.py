"""The four scenes the README shows, each run on a fresh ``studio`` and recorded as members see it.

Why they wait on the job's events rather than on the card's words: the card's look is free to
change (that is the point of drawing it from the recording), so a scene waits until the engine has
told the delivery cog that the *job* is where the picture wants it — running at 45 %, on the TVC's
third step with its storyboard — then until the card has stopped changing, and takes what the fake
Discord holds at that moment. Time moves only when a scene moves it (``studio.StillClock``).
"""

from __future__ import annotations

import asyncio
import io
import logging
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from PIL import Image

from bot.engine.events import JobEvent
from bot.engine.views import JobView
from storage.states import JobState
from tests.fakes.discord import StoredMessage
from tests.fakes.nanophoto_tvc import TvcScript
from tests.fakes.nanophoto_veo import VeoScript
from tests.fakes.openai_videos import VideoScript
from tools.screenshots.snapshot import SEEN_AT, Stable, view
from tools.screenshots.studio import Studio, studio

Scene = dict[str, Any]
QUIET = 0.3  # seconds without an edit after which a card counts as settled
LIMIT = 20.0  # seconds a scene may take before it is a failure

CARD_PROMPT = "A paper boat drifting down a rainy street at dusk, macro lens, slow dolly in"
RESULT_PROMPT = "A golden retriever running on a beach at sunset, slow motion, 35 mm film"
TVC_THEME = "Trail running shoes that grip wet rock"
TVC_VOICEOVER = "Grip that never quits."


def _picture(size: tuple[int, int], colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format="PNG")
    return out.getvalue()


class Seen:
    """Every job event, as the delivery cog got it (it subscribed first, so once an event is here the
    card's update of it is under way and ``delivery.wait_idle`` waits for it)."""

    def __init__(self) -> None:
        self.jobs: list[JobView] = []
        self._changed = asyncio.Event()

    async def on_job_event(self, event: JobEvent) -> None:
        self.jobs.append(event.job)
        self._changed.set()

    async def until(self, done: Callable[[JobView], bool]) -> JobView:
        while True:
            found = next((j for j in self.jobs if done(j)), None)
            if found is not None:
                return found
            self._changed.clear()
            await self._changed.wait()


def _running(job: JobView) -> bool:
    return job.state is JobState.RUNNING


async def _settled(s: Studio, message: Callable[[], StoredMessage]) -> StoredMessage:
    """``message`` once it is no longer "thinking…", delivery is idle and it has not been edited
    for ``QUIET`` seconds."""
    while True:
        await s.stack.bot.delivery.wait_idle()
        before = len(message().edits)
        await asyncio.sleep(QUIET)
        if len(message().edits) == before and not message().loading:
            return message()


def _scene(s: Studio, name: str, caption: str, messages: list[StoredMessage]) -> Scene:
    """The messages as the member sees them now, with "now" moved to ``SEEN_AT``."""
    stable = Stable(s.origins(), s.clock.now())
    shown = [view(s.discord, m) for m in messages]
    viewer = s.discord.member.user
    return {
        "scene": name,
        "caption": caption,
        "seen_at": SEEN_AT,
        "viewer": viewer.global_name or viewer.username,
        "messages": stable.apply(shown),
    }


async def card_in_progress(s: Studio, seen: Seen) -> Scene:
    """``/video`` on the reseller's Sora 2, 70 s in: the vendor has said 45 %."""
    script = VideoScript(queued_polls=0, progress=(20, 45), advance="time", step_seconds=40, outcome="never")
    s.reseller.script_next(script)
    handle = await s.discord.invoke_slash("video", {"prompt": CARD_PROMPT, "model": "lcon/sora-2"})
    await seen.until(lambda j: _running(j) and j.progress_pct == 20)
    s.clock.advance(70)
    await seen.until(lambda j: j.progress_pct == 45)
    card = await _settled(s, lambda: s.discord.original_message(handle))
    scene = _scene(s, "card", "A card in progress", [card])
    await s.stack.bot.engine.stop()
    return scene


async def tvc_storyboard(s: Studio, seen: Seen) -> Scene:
    """``/tvc`` 160 s in, on its third step: the script written, the storyboard drawn, the video
    rendering."""
    script = TvcScript(advance="time", seconds_per_step=(50, 70, 300), outcome="never", at_step=3)
    s.tvc.script_next(script)
    shoe = s.discord.make_attachment(_picture((96, 96), (20, 160, 90)), "shoe.png", width=96, height=96)
    options = {"theme": TVC_THEME, "reference_image": shoe, "voiceover": TVC_VOICEOVER, "duration": 15}
    handle = await s.discord.invoke_slash("tvc", options)
    await seen.until(_running)
    s.clock.advance(160)
    await seen.until(lambda j: j.step == 3 and bool(j.storyboard_image_url))
    card = await _settled(s, lambda: s.discord.original_message(handle))
    scene = _scene(s, "tvc", "A TV commercial with its storyboard", [card])
    await s.stack.bot.engine.stop()
    return scene


async def result(s: Studio, seen: Seen) -> Scene:
    """``/video`` on Veo 3.1 (the server's default) once the video is in, 142 s after it was asked
    for: the card and the result."""
    s.veo.script_next(VeoScript(advance="time", shot_seconds=140))
    handle = await s.discord.invoke_slash("video", {"prompt": RESULT_PROMPT})
    await seen.until(_running)
    s.clock.advance(142)
    await s.stack.settle(handle)
    card = await _settled(s, lambda: s.discord.original_message(handle))
    return _scene(s, "result", "A finished video", [card, *s.discord.answers(handle)])


async def prices(s: Studio, seen: Seen) -> Scene:
    """``/credits prices``: every model the server offers, with each combination's cost."""
    handle = await s.discord.invoke_slash("credits prices")
    await s.discord.wait_for_ack(handle)
    reply = await _settled(s, lambda: s.discord.original_message(handle))
    return _scene(s, "prices", "What everything costs", [reply])


SCENES: dict[str, Callable[[Studio, Seen], Awaitable[Scene]]] = {
    "card": card_in_progress,
    "tvc": tvc_storyboard,
    "result": result,
    "prices": prices,
}


class SceneFailed(RuntimeError):
    """The bot logged an error during a scene: its picture would show the error, not the feature."""


class _Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.seen: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append(record)


async def record(names: list[str] | None = None) -> list[Scene]:
    """Run the scenes (all, or those named), each on its own fresh server; fails on a logged error."""
    out = []
    errors = _Errors()
    logging.getLogger().addHandler(errors)
    try:
        for name in names or list(SCENES):
            with tempfile.TemporaryDirectory(prefix=f"soracord-{name}-") as tmp:
                async with asyncio.timeout(LIMIT), studio(Path(tmp)) as s:
                    seen = Seen()
                    s.stack.bot.engine.subscribe(seen)
                    out.append(await SCENES[name](s, seen))
            if errors.seen:
                first = errors.seen[0]
                raise SceneFailed(f"scene {name!r}: {first.name} logged: {first.getMessage()}")
    finally:
        logging.getLogger().removeHandler(errors)
    return out
