"""Fitting a video to a channel's upload limit with ffmpeg, taking its poster frame, and joining
a video a vendor left in parts.

A vendor's video is often larger than what a channel accepts (10 MiB without boosts), and the link
the vendor leaves instead expires in a day or two. So a video that does not fit is re-encoded to fit:
H.264 + AAC in MP4 (what every Discord client plays inline), two-pass at an average bitrate computed
from its duration and the limit, which lands the size within a few percent of the target where a
single constant-quality pass can miss by any amount. Duration and aspect ratio are kept; only the
picture size may go down, when the bitrate is too low for the source's size to look like anything.

A video in parts (a multi-shot job's shots, never joined by the vendor) is joined with ffmpeg's concat
demuxer: by stream copy when every part is alike (same picture size, audio or not), which takes a
moment and loses nothing; re-encoded only when the copy fails, comes out shorter than the parts, or
the parts differ.

ffmpeg is the ``imageio-ffmpeg`` package's static binary (or the system's: ``IMAGEIO_FFMPEG_EXE``,
then ``PATH``); without one, nothing is re-encoded and delivery links the video as before. Every run
is a subprocess with a time limit, killed when it passes it or when its caller is cancelled, and the
runs at once are bounded (``concurrency``): an encode takes every core it is given, and two at once
on a small machine only make both late.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import math
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

ENCODE_TIMEOUT = 600.0  # one whole fit (both passes, and the retries)
PROBE_TIMEOUT = 30.0
AUDIO_BITRATE = 96_000  # stereo AAC that still sounds fine; less when the budget is tight
LOW_AUDIO_BITRATE = 48_000
HEADROOM = 0.05  # of the limit, for the MP4 boxes, the muxer's interleaving and x264's misses
MIN_VIDEO_BITRATE = 80_000  # below this a video is mush: linking it is kinder
MAX_ATTEMPTS = 3  # second passes; each retry aims lower by how much the last one overshot
PRESET = "fast"
POSTER_SIDE = 1280  # the poster's longer side at most, in pixels
FRAMES_AT_ONCE = 2
QUIET = ("-loglevel", "error", "-nostats")  # errors only: no progress lines piling up in memory

# The longer side a bitrate carries well (bits per second -> pixels); the source is never enlarged.
SIDES = ((4_000_000, 1920), (2_000_000, 1280), (1_000_000, 960), (500_000, 854), (0, 640))

_DURATION = re.compile(r"Duration:\s*(\d+):(\d{2}):(\d{2}(?:\.\d+)?)")
_VIDEO = re.compile(r"Stream #\S+.*?: Video: .*?(\d{2,5})x(\d{2,5})")
_AUDIO = re.compile(r"Stream #\S+.*?: Audio: ")


class FitFailed(Exception):
    """The video could not be made to fit (no ffmpeg, unreadable, too long for the limit, too slow)."""


@dataclass(frozen=True)
class Probe:
    duration: float  # seconds
    width: int
    height: int
    has_audio: bool


@dataclass(frozen=True)
class Plan:
    video_bitrate: int  # bits per second
    audio_bitrate: int  # 0: no audio track
    max_side: int  # the output's longer side at most


@dataclass(frozen=True)
class Fitted:
    path: Path
    size: int
    source_size: int
    duration: float
    bitrate: int  # the video bitrate of the pass that fitted
    attempts: int
    seconds: float  # how long the encode took


def find_ffmpeg() -> str | None:
    """The ffmpeg to run: ``imageio-ffmpeg``'s (which honours ``IMAGEIO_FFMPEG_EXE``), else ``PATH``'s."""
    try:
        return str(importlib.import_module("imageio_ffmpeg").get_ffmpeg_exe())
    except (ImportError, RuntimeError):  # not installed, or no binary for this platform
        return shutil.which("ffmpeg")


def parse_probe(text: str) -> Probe:
    """Read what ``ffmpeg -i`` prints about a file: its duration, picture size and audio track."""
    duration = _DURATION.search(text)
    video = _VIDEO.search(text)
    if duration is None or video is None:
        raise FitFailed("ffmpeg found no video stream with a duration")
    hours, minutes, seconds = duration.groups()
    total = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    if total <= 0:
        raise FitFailed("the video has no duration")
    return Probe(total, int(video.group(1)), int(video.group(2)), bool(_AUDIO.search(text)))


def plan(probe: Probe, limit: int) -> Plan:
    """The bitrates that fill ``limit`` bytes over the video's duration, headroom kept.

    Audio gets a fixed share first (halved when it would take more than a fifth of the budget), the
    video the rest; ``FitFailed`` when that leaves the video less than ``MIN_VIDEO_BITRATE``.
    """
    budget = limit * 8 * (1 - HEADROOM) / probe.duration  # bits per second for everything
    audio = 0
    if probe.has_audio:
        audio = AUDIO_BITRATE if budget >= AUDIO_BITRATE * 5 else LOW_AUDIO_BITRATE
    video = math.floor(budget - audio)
    if video < MIN_VIDEO_BITRATE:
        raise FitFailed(
            f"{probe.duration:.0f} s cannot fit {limit} bytes ({video} bit/s left for the picture)"
        )
    side = next(side for floor, side in SIDES if video >= floor)
    return Plan(video, audio, side)


def _scale(max_side: int) -> str:
    """Down to ``max_side`` on the longer side, never up, the other side from the aspect ratio (even)."""
    w = f"if(gte(iw,ih),trunc(min(iw,{max_side})/2)*2,-2)"
    h = f"if(gte(iw,ih),-2,trunc(min(ih,{max_side})/2)*2)"
    return f"scale=w='{w}':h='{h}'"


class Transcoder:
    """Runs ffmpeg: at most ``concurrency`` at once, each fit within ``timeout`` seconds."""

    def __init__(self, exe: str | None = None, *, concurrency: int = 1, timeout: float = ENCODE_TIMEOUT):
        self._exe = exe
        self._looked = exe is not None
        self.timeout = timeout
        self._slots = asyncio.Semaphore(concurrency)
        self._frames = asyncio.Semaphore(FRAMES_AT_ONCE)  # posters take ~0.1 s: never behind an encode

    @property
    def exe(self) -> str | None:
        if not self._looked:
            self._exe, self._looked = find_ffmpeg(), True
        return self._exe

    async def _run(self, args: list[str], seconds: float) -> tuple[int, str]:
        """Run ffmpeg with ``args``; (exit code, the end of what it printed). Killed past ``seconds``.

        The process is started and waited for on threads, not with asyncio's subprocess transport:
        cancelling that while it starts a process can wait for ever on CPython 3.11 (the half-made
        transport waits for pipes that never connect), and a stopping bot cancels whatever runs.
        A run cancelled while its process starts kills the process as soon as it exists.
        """
        exe = self.exe
        if exe is None:
            raise FitFailed("no ffmpeg (install imageio-ffmpeg, or put ffmpeg on PATH)")
        command = [exe, "-hide_banner", "-nostdin", *args]
        starting = _STARTER.submit(
            subprocess.Popen,
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            proc = await asyncio.wrap_future(starting)
        except asyncio.CancelledError:
            starting.add_done_callback(_kill_started)
            raise
        try:
            async with asyncio.timeout(seconds):
                _, err = await asyncio.to_thread(proc.communicate)
        except BaseException:  # the time limit, or the caller cancelled: never leave it running
            with contextlib.suppress(ProcessLookupError):
                proc.kill()  # the thread in communicate() then reaps it
            raise
        return int(proc.returncode or 0), err.decode("utf-8", "replace")[-4000:]

    async def probe(self, path: Path) -> Probe:
        try:
            _, text = await self._run(["-i", str(path)], PROBE_TIMEOUT)  # exits 1: no output named
        except TimeoutError:
            raise FitFailed("ffmpeg took too long to read the video") from None
        return parse_probe(text)

    async def fit(self, source: Path, dest: Path, limit: int) -> Fitted:
        """Re-encode ``source`` into ``dest`` (MP4, H.264 + AAC) at most ``limit`` bytes, or ``FitFailed``."""
        async with self._slots:
            started = time.monotonic()
            try:
                async with asyncio.timeout(self.timeout):
                    return await self._fit(source, dest, limit, started)
            except TimeoutError:
                raise FitFailed(f"the encode took longer than {self.timeout:.0f} s") from None

    async def _fit(self, source: Path, dest: Path, limit: int, started: float) -> Fitted:
        probe = await self.probe(source)
        chosen = plan(probe, limit)
        source_size = await asyncio.to_thread(_file_size, source)
        work = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="fit-", dir=dest.parent))
        try:
            size, bitrate, attempt = await self._passes(source, work, chosen, limit)
            await asyncio.to_thread((work / "out.mp4").replace, dest)
        finally:
            await asyncio.to_thread(shutil.rmtree, work, True)
        took = time.monotonic() - started
        log.info(
            "fitted %s: %d -> %d bytes (limit %d), %.1f s at %d bit/s, in %.1f s (%d attempt(s))",
            source.name, source_size, size, limit, probe.duration, bitrate, took, attempt,
        )  # fmt: skip
        return Fitted(dest, size, source_size, probe.duration, bitrate, attempt, took)

    async def _passes(self, source: Path, work: Path, chosen: Plan, limit: int) -> tuple[int, int, int]:
        """Pass 1 once, then pass 2 until the output fits: (size, video bitrate, attempts)."""
        out, stats = work / "out.mp4", str(work / "pass")
        video = ["-map", "0:v:0", "-c:v", "libx264", "-preset", PRESET, "-pix_fmt", "yuv420p"]
        video += ["-vf", _scale(chosen.max_side), "-passlogfile", stats]
        audio = (
            ["-map", "0:a:0", "-c:a", "aac", "-b:a", str(chosen.audio_bitrate)]
            if chosen.audio_bitrate
            else []
        )
        bitrate = chosen.video_bitrate
        first = [*QUIET, "-y", "-i", str(source), *video, "-b:v", str(bitrate), "-pass", "1"]
        first += ["-an", "-f", "null", "-"]
        code, err = await self._run(first, self.timeout)
        if code != 0:
            raise FitFailed(f"ffmpeg's first pass failed: {_last_line(err)}")
        for attempt in range(1, MAX_ATTEMPTS + 1):
            second = [*QUIET, "-y", "-i", str(source), *video, "-b:v", str(bitrate), "-pass", "2", *audio]
            code, err = await self._run(
                [*second, "-movflags", "+faststart", "-f", "mp4", str(out)], self.timeout
            )
            if code != 0:
                raise FitFailed(f"ffmpeg's second pass failed: {_last_line(err)}")
            size = await asyncio.to_thread(_file_size, out)
            if size <= limit:
                return size, bitrate, attempt
            bitrate = math.floor(bitrate * limit / size * (1 - HEADROOM))  # as much lower as it overshot
            if bitrate < MIN_VIDEO_BITRATE:
                break
        raise FitFailed(f"the encode stayed over {limit} bytes")

    async def join(self, parts: Sequence[Path], dest: Path) -> float:
        """Concatenate ``parts`` (files in one folder) in order into ``dest`` (MP4); returns its
        duration in seconds, or ``FitFailed``. Stream copy first; a re-encode only when that fails."""
        if not parts or len({p.parent for p in parts}) != 1:
            raise FitFailed("the parts to join must be files in one folder")
        async with self._slots:
            try:
                async with asyncio.timeout(self.timeout):
                    return await self._join(parts, dest)
            except TimeoutError:
                raise FitFailed(f"joining the parts took longer than {self.timeout:.0f} s") from None

    async def _join(self, parts: Sequence[Path], dest: Path) -> float:
        probes = [await self.probe(p) for p in parts]
        total = sum(p.duration for p in probes)
        folder = parts[0].parent
        listing = folder / "parts.txt"
        # Names relative to the list, in ffmpeg's portable set: the demuxer's safe mode accepts them.
        text = "".join(f"file '{p.name}'\n" for p in parts)
        await asyncio.to_thread(listing.write_text, text, "utf-8")
        partial = dest.with_name(dest.name + ".part")
        head = [*QUIET, "-y", "-f", "concat", "-i", str(listing)]
        tail = ["-movflags", "+faststart", "-f", "mp4", str(partial)]
        alike = len({(p.width, p.height, p.has_audio) for p in probes}) == 1
        joined: float | None = None
        if alike:
            code, err = await self._run([*head, "-map", "0", "-c", "copy", *tail], self.timeout)
            joined = await self._joined(partial, total) if code == 0 else None
            if joined is None:
                log.info("stream copy of %d parts failed (%s); re-encoding", len(parts), _last_line(err))
        if joined is None:
            first = probes[0]
            fit = f"scale={first.width}:{first.height}:force_original_aspect_ratio=decrease"
            fit += f",pad={first.width}:{first.height}:(ow-iw)/2:(oh-ih)/2,setsar=1"
            video = ["-map", "0:v:0", "-c:v", "libx264", "-preset", PRESET, "-pix_fmt", "yuv420p", "-vf", fit]
            audio = ["-map", "0:a:0?", "-c:a", "aac", "-b:a", str(AUDIO_BITRATE)]
            code, err = await self._run([*head, *video, *audio, *tail], self.timeout)
            joined = await self._joined(partial, total) if code == 0 else None
            if joined is None:
                await asyncio.to_thread(partial.unlink, True)
                raise FitFailed(f"ffmpeg could not join {len(parts)} parts: {_last_line(err)}")
        await asyncio.to_thread(partial.replace, dest)
        log.info("joined %d parts into %s: %.1f s", len(parts), dest.name, joined)
        return joined

    async def _joined(self, path: Path, total: float) -> float | None:
        """The joined file's duration when it holds (nearly) all of the parts' ``total``; else None."""
        try:
            seconds = (await self.probe(path)).duration
        except FitFailed:
            return None
        return seconds if seconds >= total * 0.9 else None

    async def poster(self, source: Path, dest: Path) -> Path:
        """One frame as a JPEG (a third of the way in, past fades in from black), or ``FitFailed``."""
        probe = await self.probe(source)
        partial = dest.with_name(dest.name + ".part")
        at = f"{min(probe.duration / 3, 5.0):.3f}"
        args = [*QUIET, "-y", "-ss", at, "-i", str(source), "-frames:v", "1", "-vf", _scale(POSTER_SIDE)]
        args += ["-q:v", "3", "-f", "image2", "-c:v", "mjpeg", str(partial)]
        async with self._frames:
            try:
                code, err = await self._run(args, PROBE_TIMEOUT)
            except TimeoutError:
                raise FitFailed("ffmpeg took too long to take a frame") from None
        if code != 0 or not await asyncio.to_thread(_move_nonempty, partial, dest):
            raise FitFailed(f"ffmpeg could not take a frame: {_last_line(err)}")
        return dest


_STARTER = ThreadPoolExecutor(max_workers=2, thread_name_prefix="ffmpeg-start")


def _kill_started(starting: Future[subprocess.Popen[bytes]]) -> None:
    """A process started for a run that was cancelled meanwhile: kill it (and let a thread reap it)."""
    if starting.cancelled() or starting.exception() is not None:
        return
    proc = starting.result()
    with contextlib.suppress(ProcessLookupError):
        proc.kill()
    threading.Thread(target=proc.wait, name="ffmpeg-reap", daemon=True).start()


def _file_size(path: Path) -> int:
    return path.stat().st_size


def _move_nonempty(partial: Path, dest: Path) -> bool:
    """Put ``partial`` in place as ``dest`` when it has bytes; remove it otherwise."""
    if partial.is_file() and partial.stat().st_size > 0:
        partial.replace(dest)
        return True
    partial.unlink(missing_ok=True)
    return False


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else "no message"
