"""Real videos for tests, made by the same static ffmpeg the bot uses (``imageio-ffmpeg``).

Fitting a video to an upload limit can only be shown on a real one, and a real one that stays large
at a given length must be hard to compress: ``testsrc2`` under heavy per-frame noise, encoded fast at a
high bitrate (26 MB in 6 s of 960x540 takes under a second to make). What the tests then measure of the
bot's output — duration, frame count, picture size — is read with imageio-ffmpeg's own readers, not
with the bot's parser, so the two cannot share a mistake.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import imageio_ffmpeg


def ffmpeg() -> str:
    return str(imageio_ffmpeg.get_ffmpeg_exe())


def make_clip(
    path: Path,
    *,
    seconds: float,
    size: str = "960x540",
    rate: int = 30,
    target_bytes: int | None = None,
    audio: bool = True,
) -> Path:
    """A noisy test pattern (with a tone when ``audio``); about ``target_bytes`` big when given."""
    bitrate = int(target_bytes * 8 / seconds) if target_bytes else 400_000
    args = [ffmpeg(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y"]
    args += ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}"]
    if audio:
        args += ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"]
    args += ["-t", f"{seconds}", "-vf", "noise=alls=80:allf=t" if target_bytes else "null"]
    args += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    args += ["-b:v", str(bitrate), "-maxrate", str(bitrate), "-bufsize", str(bitrate // 2)]
    args += ["-c:a", "aac", "-b:a", "128k"] if audio else []
    args += [str(path)]
    subprocess.run(args, check=True, timeout=120)
    return path


def duration_of(path: Path) -> float:
    """Seconds of video, counted by decoding every frame (``count_frames_and_secs``)."""
    _frames, seconds = imageio_ffmpeg.count_frames_and_secs(str(path))
    return float(seconds)


def frame_size(path: Path) -> tuple[int, int]:
    """The picture's width and height, as ffmpeg's reader reports them."""
    reader = imageio_ffmpeg.read_frames(str(path))
    try:
        meta = next(reader)
        width, height = meta["size"]
        return int(width), int(height)
    finally:
        reader.close()
