"""``python -m bot generate``: run one job from the terminal through the same engine the bot uses.

Operators use it to try a provider profile without Discord. The job is charged to a ledger of its
own (server 0, member 0) so the credits stay exact; a local image file is served on 127.0.0.1 for
the duration of the job to the adapter, which reads it like a member's image (``bot.net``, with that
one address and port trusted while it is served). The finished video is downloaded through
``bot.net`` too: its link is the vendor's.

It runs on a database of its own (``own_database``: ``generate/`` beside the bot's), never the running
bot's: one SQLite database serves one process, and a second one on the bot's file would drive the
bot's jobs as well. ``--database PATH`` names another (the bot's too, while the bot is stopped).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from aiohttp import web

from bot.engine.admission import JobOrigin
from bot.engine.engine import Engine
from bot.engine.events import JobEvent
from bot.engine.shots import parse_shots
from bot.errors import UserError
from bot.net import Fetcher, FetchFailed, LinkRefused, TooLarge
from bot.providers.base import Kind, parse_request
from bot.providers.capabilities import ModelSpec
from bot.providers.http import VendorHttp
from bot.providers.profiles import ProviderProfile
from bot.providers.registry import build_provider
from storage import jobs, ledger
from storage.db import Database
from storage.states import JobState

TERMINAL = 0  # the server and member id the command line's jobs are charged to
BAR = 20
MAX_DOWNLOAD = 1024 * 1024 * 1024  # --out: a video file, never an endless stream


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", help="provider profile (default: DEFAULT_PROFILE or the first)")
    parser.add_argument("--kind", choices=[k.value for k in Kind if k is not Kind.REMIX], default="text")
    parser.add_argument("--prompt", default="", help="what the video shows (text, image, storyboard)")
    parser.add_argument("--image", help="image file or URL (image kind: the first frame)")
    parser.add_argument("--end-image", help="last-frame image URL (image kind, on models that take one)")
    parser.add_argument(
        "--reference", action="append", help="reference picture URL (reference kind; repeat for more)"
    )
    parser.add_argument("--theme", help="ad theme (tvc)")
    parser.add_argument("--reference-image", help="style reference image URL (tvc)")
    parser.add_argument("--voiceover", help="voice-over script (tvc)")
    parser.add_argument(
        "--shots",
        type=Path,
        help="file of shots, one `seconds | scene` a line, or one scene a line on fixed-length shots (storyboard)",
    )
    parser.add_argument(
        "--duration", type=int, help="seconds (default: 10 where offered, else the model's first)"
    )
    parser.add_argument("--orientation", choices=["portrait", "landscape"], default="portrait")
    parser.add_argument("--resolution", help="e.g. 720p, 1080p, 4k (default: the model's)")
    parser.add_argument(
        "--audio", action="store_const", const=True, help="generate sound (models with audio)"
    )
    parser.add_argument("--fixed-lens", action="store_const", const=True, help="keep the camera still")
    parser.add_argument("--model", help="model or tier (default: the profile's)")
    parser.add_argument("--out", type=Path, help="download the finished video to this file")
    parser.add_argument(
        "--database",
        type=Path,
        help="database to use (default: its own, in generate/ beside DATABASE_PATH; the bot's only while "
        "the bot is stopped)",
    )


def own_database(bot_database: Path) -> Path:
    """``generate``'s database: in a folder of its own beside the bot's, so its saved videos
    (``videos/<job id>.mp4`` beside the database) never share names with the bot's."""
    if str(bot_database) == ":memory:":
        return bot_database
    return bot_database.parent / "generate" / bot_database.name


@dataclass
class Progress:
    """Prints each change a person would see: a bar where there is a percentage, steps and stages."""

    stream: IO[str]
    last: str = ""

    async def on_job_event(self, event: JobEvent) -> None:
        job = event.job
        if job.state == "queued":
            line = f"queued{f' (position {event.queue_position})' if event.queue_position else ''}"
        elif job.state == "running" and job.progress_pct is not None:
            filled = round(job.progress_pct / 100 * BAR)
            line = f"running [{'#' * filled}{'.' * (BAR - filled)}] {job.progress_pct}%"
        elif job.state == "running" and job.step and job.step_count:
            line = f"step {job.step}/{job.step_count}: {job.step_name or 'working'}"
        elif job.state == "running":
            line = f"running: {job.stage or 'started'}"
        elif job.state == "succeeded":
            line = "done"
        else:
            line = f"{job.state}: {job.error_message or ''}".rstrip(": ")
        if job.storyboard_image_url:
            line += f"\n  storyboard image: {job.storyboard_image_url}"
        elif job.storyboard_prompt:
            line += f"\n  storyboard script: {job.storyboard_prompt[:200]}"
        if line != self.last:
            print(line, file=self.stream, flush=True)
            self.last = line


@asynccontextmanager
async def served_file(path: Path) -> AsyncIterator[str]:
    """Serve one local file on 127.0.0.1 while the job needs it; yields its URL."""

    async def send(_: web.Request) -> web.StreamResponse:
        return web.FileResponse(path)

    app = web.Application()
    app.router.add_get(f"/{path.name}", send)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}/{path.name}"
    finally:
        await runner.cleanup()


def request_fields(
    args: argparse.Namespace, image_url: str | None, spec: ModelSpec | None = None
) -> dict[str, Any]:
    """The request the options describe, on the model ``spec`` (its durations and shot rules)."""
    kind = Kind(args.kind)
    offered = spec.durations_for(kind) if spec is not None else ()
    duration = args.duration or (offered[0] if offered and 10 not in offered else 10)
    fields: dict[str, Any] = {
        "kind": args.kind,
        "duration": duration,
        "orientation": args.orientation,
        "model": args.model,
        "resolution": args.resolution,
    }
    switches = {"audio": args.audio, "fixed_lens": args.fixed_lens}
    if any(v is not None for v in switches.values()):
        fields["options"] = {k: v for k, v in switches.items() if v is not None}
    if args.kind in ("text", "image", "reference"):
        fields["prompt"] = args.prompt
    if args.kind == "image":
        if not image_url:
            raise UserError("--image is needed for an image-to-video job (a file or an https:// URL).")
        fields.update(image_url=image_url, end_image_url=_public("--end-image", args.end_image))
    if args.kind == "reference":
        if not args.reference:
            raise UserError("--reference URL is needed for a reference video (repeat it for more pictures).")
        fields["image_urls"] = [_public("--reference", u) for u in args.reference]
    if args.kind == "tvc":
        fields.update(
            ad_theme=args.theme or "", reference_image_url=args.reference_image, voiceover=args.voiceover
        )
    if args.kind == "storyboard":
        if args.shots is None:
            raise UserError("--shots FILE is needed for a storyboard (one `seconds | scene` a line).")
        rules = spec.shots if spec is not None else None
        fixed = rules.seconds_per_shot if rules is not None else None
        limits = {"max_shots": rules.max_shots} if rules is not None else {}
        shots = parse_shots(
            args.shots.read_text(encoding="utf-8"), duration, seconds_per_shot=fixed, **limits
        )
        fields.update(shots=[{"scene": s.scene, "duration": s.duration} for s in shots], prompt=args.prompt)
        if fixed:
            fields["duration"] = fixed * len(shots)  # the shots set the length
    return fields


def _public(option: str, url: str | None) -> str | None:
    """Extra pictures go only to vendors that download them: a public link, never a local file."""
    if url is not None and not url.startswith(("http://", "https://")):
        raise UserError(f"{option} must be a public https:// URL")
    return url


async def download(fetcher: Fetcher, job_video_url: str | None, saved: str | None, out: Path) -> None:
    if saved:
        shutil.copyfile(saved, out)
        return
    if not job_video_url:
        raise UserError("the provider gave no video link to download")
    try:
        async with fetcher.open(job_video_url, max_bytes=MAX_DOWNLOAD, time_limit=None) as answer:
            if not 200 <= answer.status < 300:
                raise UserError(f"the video link answered HTTP {answer.status}")
            with out.open("wb") as fh:
                async for chunk in answer.chunks():
                    fh.write(chunk)
    except LinkRefused as exc:
        hint = "FETCH_ALLOW_PRIVATE=true is for a vendor running on this machine in development"
        raise UserError(f"the provider's video link is refused: {exc.reason} ({hint})") from None
    except (FetchFailed, TooLarge) as exc:
        raise UserError(f"the video could not be downloaded: {exc}") from None


@asynccontextmanager
async def local_image(fetcher: Fetcher, path: Path) -> AsyncIterator[str]:
    """``served_file``, with its one address and port trusted by ``fetcher`` while it is served."""
    async with served_file(path) as url:
        parts = urlsplit(url)
        with fetcher.trusting(parts.hostname or "", parts.port or 0):
            yield url


async def generate(
    db: Database,
    profiles: Mapping[str, ProviderProfile],
    args: argparse.Namespace,
    *,
    default_profile: str | None = None,
    stream: IO[str] = sys.stdout,
    http: VendorHttp | None = None,
    allow_private: bool = False,
) -> int:
    """Run one job to its end; 0 when the video is ready, 1 when it failed (the reason printed).

    ``allow_private`` (``FETCH_ALLOW_PRIVATE``) is for the client built here when ``http`` is None.
    """
    if args.profile is not None and args.profile not in profiles:
        raise UserError(f"unknown profile `{args.profile}` (configured: {', '.join(profiles)})")
    image = args.image
    local = Path(image) if image and not image.startswith(("http://", "https://")) else None
    if local is not None and not local.is_file():
        raise UserError(f"--image {image}: no such file")
    async with (
        Fetcher(allow_private=allow_private) as own,  # for the client built here
        VendorHttp(fetcher=own) if http is None else nullcontext(http) as client,
    ):
        providers = {n: build_provider(p, client) for n, p in profiles.items()}
        engine = Engine(db, profiles, providers, default_profile=default_profile)
        engine.subscribe(Progress(stream))
        where = await engine.admission.where(Kind(args.kind), TERMINAL, profile=args.profile)
        name = where.profile
        spec = where.provider.capabilities.spec(args.model or where.model)
        if local is not None and where.provider.capabilities.image_by_url:
            raise UserError(f"`{name}` downloads images itself, so --image must be a public https:// URL")
        serving = local_image(client.fetcher, local) if local is not None else nullcontext(image)
        async with serving as image_url:
            request = parse_request(request_fields(args, image_url, spec))
            quote = await engine.admission.quote(request, TERMINAL, name)
            resolution = f", {request.resolution or spec.default_resolution}" if spec.resolutions else ""
            audio = ", audio" if request.options.audio else ""
            print(
                f"{name}: {quote.model}, {request.duration} s{resolution}{audio} — {quote.cost} credits",
                file=stream,
            )
            async with db.transaction() as tx:
                await ledger.grant(
                    tx, TERMINAL, TERMINAL, max(quote.cost, 1), actor_id=None, reason="command line"
                )
            job = await engine.admission.enqueue(
                JobOrigin(guild_id=TERMINAL, channel_id=TERMINAL, user_id=TERMINAL), request, name
            )
            try:
                await engine.wait_idle()
            finally:
                await engine.stop()
        done = await jobs.get(db, job.id)
        assert done is not None
        if done.state is not JobState.SUCCEEDED:
            print(f"job #{done.id} {done.state}: {done.error_message}", file=stream)
            return 1
        if args.out is not None:
            await download(client.fetcher, done.video_url, done.video_path, args.out)
            print(f"saved {args.out}", file=stream)
        else:
            print(done.video_url or done.video_path or "\n".join(done.parts), file=stream)  # parts: in order
        return 0


async def main(
    settings_db: Path,
    profiles: Mapping[str, ProviderProfile],
    args: argparse.Namespace,
    default_profile: str | None,
    *,
    allow_private: bool = False,
) -> int:
    db = await Database.open(settings_db)
    try:
        return await generate(
            db, profiles, args, default_profile=default_profile, allow_private=allow_private
        )
    except UserError as exc:
        print(f"soracord: generate: {exc.message}", file=sys.stderr)
        return 2
    finally:
        await asyncio.shield(db.close())
