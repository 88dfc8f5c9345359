"""Fitting a video with ffmpeg: the bitrate plan, a real two-pass fit (size, duration, aspect, codecs),
the poster frame, and the subprocess kept on a leash (killed past its time, one encode at a time)."""

from __future__ import annotations

import asyncio
import itertools
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.landing import Lander
from bot.net import Fetcher
from bot.transcode import (
    AUDIO_BITRATE,
    LOW_AUDIO_BITRATE,
    MIN_VIDEO_BITRATE,
    FitFailed,
    Probe,
    Transcoder,
    parse_probe,
    plan,
)
from tests.backend import open_database
from tests.fakes.clips import duration_of, ffmpeg, frame_size, make_clip

PROBED = """Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'x.mp4':
  Duration: 00:01:02.50, start: 0.000000, bitrate: 34356 kb/s
  Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(progressive), 1280x720 [SAR 1:1 DAR 16:9], 30 fps
  Stream #0:1[0x2](und): Audio: aac (LC) (mp4a / 0x6134706D), 48000 Hz, stereo, fltp, 126 kb/s (default)
At least one output file must be specified"""


def test_what_ffmpeg_prints_gives_duration_size_and_audio() -> None:
    assert parse_probe(PROBED) == Probe(62.5, 1280, 720, True)
    silent = "\n".join(line for line in PROBED.splitlines() if "Audio" not in line)
    assert parse_probe(silent).has_audio is False
    with pytest.raises(FitFailed):
        parse_probe("x.mp4: Invalid data found when processing input")


def test_the_bitrate_fills_the_limit_over_the_duration_with_headroom() -> None:
    chosen = plan(Probe(10.0, 1920, 1080, True), 10 * 1024 * 1024)
    total = (chosen.video_bitrate + chosen.audio_bitrate) * 10 / 8
    assert 0.9 * 10 * 1024 * 1024 < total < 10 * 1024 * 1024
    assert chosen.audio_bitrate == AUDIO_BITRATE and chosen.max_side == 1920
    longer = plan(Probe(120.0, 1920, 1080, True), 10 * 1024 * 1024)
    assert longer.video_bitrate < chosen.video_bitrate and longer.max_side < 1920  # less room, fewer pixels
    tight = plan(Probe(10.0, 640, 360, True), 250_000)
    assert tight.audio_bitrate == LOW_AUDIO_BITRATE  # audio would have taken over a fifth
    assert plan(Probe(10.0, 640, 360, False), 10 * 1024 * 1024).audio_bitrate == 0
    with pytest.raises(FitFailed):
        plan(Probe(600.0, 640, 360, True), 1_000_000)  # 10 minutes in 1 MB: below MIN_VIDEO_BITRATE
    assert MIN_VIDEO_BITRATE > 0


def _codecs(path: Path) -> str:
    answer = subprocess.run(
        [ffmpeg(), "-hide_banner", "-i", str(path)], capture_output=True, text=True, timeout=30
    )
    return answer.stderr


async def test_a_portrait_clip_is_fitted_two_pass_keeping_duration_and_aspect(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "tall.mp4", seconds=3, size="360x640", target_bytes=2_000_000)
    limit = 120_000
    fitted = await Transcoder().fit(clip, tmp_path / "out.mp4", limit)
    assert fitted.path.stat().st_size == fitted.size <= limit
    assert fitted.source_size == clip.stat().st_size > limit
    assert abs(duration_of(fitted.path) - duration_of(clip)) <= 0.5
    width, height = frame_size(fitted.path)
    assert abs(width / height - 360 / 640) < 0.02 and width % 2 == height % 2 == 0
    printed = _codecs(fitted.path)
    assert "Video: h264" in printed and "Audio: aac" in printed
    left = await asyncio.to_thread(lambda: [p.name for p in tmp_path.iterdir() if p.name.startswith("fit-")])
    assert not left, "the pass logs are gone"


async def test_the_poster_is_a_jpeg_frame(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "c.mp4", seconds=2, size="320x180")
    poster = await Transcoder().poster(clip, tmp_path / "c.jpg")
    assert poster.read_bytes().startswith(b"\xff\xd8")


async def test_something_that_is_not_a_video_fails_plainly(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(4000))
    with pytest.raises(FitFailed):
        await Transcoder().fit(junk, tmp_path / "out.mp4", 1000)
    with pytest.raises(FitFailed):
        await Transcoder().poster(junk, tmp_path / "junk.jpg")


FAKE_FFMPEG = """#!{python}
# A stand-in ffmpeg: answers `-i` like ffmpeg, logs each encode's start and end, sleeps, writes the output.
import os, sys, time
args = sys.argv[1:]
log = os.environ["FAKE_FFMPEG_LOG"]
if "-pass" not in args:
    with open(log, "a") as f:
        f.write(f"pid {{os.getpid()}}\\n")
    if os.environ.get("FAKE_FFMPEG_HANG"):
        time.sleep(60)
    sys.stderr.write("  Duration: 00:00:02.00, start: 0.0\\n  Stream #0:0: Video: h264, yuv420p, 320x180\\n")
    sys.exit(1)
with open(log, "a") as f:
    f.write(f"start {{time.monotonic()}}\\n")
time.sleep(0.2)
if args[args.index("-pass") + 1] == "2":
    with open(args[-1], "wb") as out:
        out.write(b"x" * 100)
with open(log, "a") as f:
    f.write(f"end {{time.monotonic()}}\\n")
"""


@pytest.fixture
def fake_ffmpeg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    exe = tmp_path / "ffmpeg"
    exe.write_text(FAKE_FFMPEG.format(python=sys.executable))
    exe.chmod(0o755)
    monkeypatch.setenv("FAKE_FFMPEG_LOG", str(tmp_path / "calls.log"))
    return exe


async def test_one_encode_runs_at_a_time(tmp_path: Path, fake_ffmpeg: Path) -> None:
    source = tmp_path / "s.mp4"
    source.write_bytes(b"video")
    transcoder = Transcoder(str(fake_ffmpeg), concurrency=1)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    await asyncio.gather(
        transcoder.fit(source, tmp_path / "a" / "out.mp4", 100_000),
        transcoder.fit(source, tmp_path / "b" / "out.mp4", 100_000),
    )
    marks = [
        line.split()
        for line in (tmp_path / "calls.log").read_text().splitlines()
        if not line.startswith("pid")
    ]
    assert [kind for kind, _ in marks] == ["start", "end"] * 4, "two passes each, never two at once"
    spans = [(float(a[1]), float(b[1])) for a, b in zip(marks[::2], marks[1::2], strict=True)]
    assert all(later[0] >= earlier[1] for earlier, later in itertools.pairwise(spans)), spans


async def test_an_encode_past_its_time_is_killed(
    tmp_path: Path, fake_ffmpeg: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_FFMPEG_HANG", "1")
    source = tmp_path / "s.mp4"
    source.write_bytes(b"video")
    started = time.monotonic()
    with pytest.raises(FitFailed, match="longer than"):
        await Transcoder(str(fake_ffmpeg), timeout=0.5).fit(source, tmp_path / "out.mp4", 100_000)
    assert time.monotonic() - started < 10
    pid = int((tmp_path / "calls.log").read_text().split()[1])
    assert await asyncio.to_thread(_gone, pid, 5.0)  # killed, then reaped by the thread that waited on it


def _gone(pid: int, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.02)
    return False


async def test_without_ffmpeg_the_video_is_linked_not_lost(tmp_path: Path) -> None:
    db = await open_database(tmp_path / "t.db")
    try:
        big = tmp_path / "videos" / "7.mp4"
        big.parent.mkdir()
        big.write_bytes(bytes(5000))
        async with Fetcher() as fetcher:
            lander = Lander(db, fetcher, Transcoder(str(tmp_path / "no-such-ffmpeg")))
            got = await lander.land(7, video_path=str(big), video_url=None, limit=1000)
            assert got.upload is None and got.size == 5000 and got.saved and got.poster is None
            small = await lander.land(7, video_path=str(big), video_url=None, limit=100_000)
            assert small.upload == big  # fits: uploaded as it is, ffmpeg or not
    finally:
        await db.close()


async def test_parts_alike_are_joined_in_order_by_stream_copy(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    parts = tmp_path / "parts"
    parts.mkdir()
    files = [make_clip(parts / f"shot-{n}.mp4", seconds=1.0 + n / 2, size="320x180") for n in (1, 2, 3)]
    caplog.set_level("INFO", "bot.transcode")
    seconds = await Transcoder().join(files, tmp_path / "joined.mp4")
    expected = sum(duration_of(f) for f in files)
    assert seconds == pytest.approx(expected, abs=0.3)
    assert duration_of(tmp_path / "joined.mp4") == pytest.approx(expected, abs=0.3)
    assert "re-encoding" not in caplog.text  # copied, not encoded again
    assert not (tmp_path / "joined.mp4.part").exists()


async def test_parts_that_differ_are_joined_by_re_encoding_them(tmp_path: Path) -> None:
    parts = tmp_path / "parts"
    parts.mkdir()
    wide = make_clip(parts / "shot-1.mp4", seconds=1.0, size="320x180")
    other = make_clip(parts / "shot-2.mp4", seconds=1.0, size="160x90", audio=False)
    dest = tmp_path / "joined.mp4"
    seconds = await Transcoder().join([wide, other], dest)
    assert seconds == pytest.approx(2.0, abs=0.3)
    assert frame_size(dest) == (320, 180)  # the first part's picture size throughout


async def test_a_part_that_is_not_a_video_fails_the_join_plainly(tmp_path: Path) -> None:
    parts = tmp_path / "parts"
    parts.mkdir()
    good = make_clip(parts / "shot-1.mp4", seconds=1.0, size="320x180")
    (parts / "shot-2.mp4").write_bytes(b"<html>not found</html>")
    with pytest.raises(FitFailed):
        await Transcoder().join([good, parts / "shot-2.mp4"], tmp_path / "joined.mp4")
    assert not (tmp_path / "joined.mp4").exists()
