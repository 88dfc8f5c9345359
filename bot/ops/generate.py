"""``python -m bot generate``: run one job from the terminal through the same engine the bot uses.

Operators use it to try a provider profile without Discord. The job is charged to a ledger of its
own (server 0, member 0) so the credits stay exact; a local image file is served on 127.0.0.1 for
the duration of the job to vendors that fetch images themselves.
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

import aiohttp
from aiohttp import web

from bot.engine.admission import JobOrigin
from bot.engine.engine import Engine
from bot.engine.events import JobEvent
from bot.engine.shots import parse_shots
from bot.errors import UserError
from bot.providers.base import Kind, parse_request
from bot.providers.http import VendorHttp
from bot.providers.profiles import ProviderProfile
from bot.providers.registry import build_provider
from storage import jobs, ledger
from storage.db import Database
from storage.states import JobState

TERMINAL = 0  # the server and member id the command line's jobs are charged to
BAR = 20


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", help="provider profile (default: DEFAULT_PROFILE or the first)")
    parser.add_argument("--kind", choices=[k.value for k in Kind if k is not Kind.REMIX], default="text")
    parser.add_argument("--prompt", default="", help="what the video shows (text, image, storyboard)")
    parser.add_argument("--image", help="image file or URL (image kind)")
    parser.add_argument("--theme", help="ad theme (tvc)")
    parser.add_argument("--reference-image", help="style reference image URL (tvc)")
    parser.add_argument("--voiceover", help="voice-over script (tvc)")
    parser.add_argument("--shots", type=Path, help="file of shots, one `seconds | scene` a line (storyboard)")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--orientation", choices=["portrait", "landscape"], default="portrait")
    parser.add_argument("--model", help="model or tier (default: the profile's)")
    parser.add_argument("--out", type=Path, help="download the finished video to this file")


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


def request_fields(args: argparse.Namespace, image_url: str | None) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "kind": args.kind,
        "duration": args.duration,
        "orientation": args.orientation,
        "model": args.model,
    }
    if args.kind in ("text", "image"):
        fields["prompt"] = args.prompt
    if args.kind == "image":
        if not image_url:
            raise UserError("--image is needed for an image-to-video job (a file or an https:// URL).")
        fields["image_url"] = image_url
    if args.kind == "tvc":
        fields.update(
            ad_theme=args.theme or "", reference_image_url=args.reference_image, voiceover=args.voiceover
        )
    if args.kind == "storyboard":
        if args.shots is None:
            raise UserError("--shots FILE is needed for a storyboard (one `seconds | scene` a line).")
        shots = parse_shots(args.shots.read_text(encoding="utf-8"), args.duration)
        fields.update(shots=[{"scene": s.scene, "duration": s.duration} for s in shots], prompt=args.prompt)
    return fields


async def download(job_video_url: str | None, saved: str | None, out: Path) -> None:
    if saved:
        shutil.copyfile(saved, out)
        return
    if not job_video_url:
        raise UserError("the provider gave no video link to download")
    async with aiohttp.ClientSession() as session, session.get(job_video_url) as resp:
        resp.raise_for_status()
        with out.open("wb") as fh:
            async for chunk in resp.content.iter_chunked(1 << 16):
                fh.write(chunk)


async def generate(
    db: Database,
    profiles: Mapping[str, ProviderProfile],
    args: argparse.Namespace,
    *,
    default_profile: str | None = None,
    stream: IO[str] = sys.stdout,
    http: VendorHttp | None = None,
) -> int:
    """Run one job to its end; 0 when the video is ready, 1 when it failed (the reason printed)."""
    if args.profile is not None and args.profile not in profiles:
        raise UserError(f"unknown profile `{args.profile}` (configured: {', '.join(profiles)})")
    image = args.image
    local = Path(image) if image and not image.startswith(("http://", "https://")) else None
    if local is not None and not local.is_file():
        raise UserError(f"--image {image}: no such file")
    async with VendorHttp() if http is None else nullcontext(http) as client:
        providers = {n: build_provider(p, client) for n, p in profiles.items()}
        engine = Engine(db, profiles, providers, default_profile=default_profile)
        engine.subscribe(Progress(stream))
        where = await engine.admission.where(Kind(args.kind), TERMINAL, profile=args.profile)
        name = where.profile
        if local is not None and where.provider.capabilities.image_by_url:
            raise UserError(f"`{name}` downloads images itself, so --image must be a public https:// URL")
        async with served_file(local) if local is not None else nullcontext(image) as image_url:
            request = parse_request(request_fields(args, image_url))
            quote = await engine.admission.quote(request, TERMINAL, name)
            print(f"{name}: {quote.model}, {request.duration} s — {quote.cost} credits", file=stream)
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
            await download(done.video_url, done.video_path, args.out)
            print(f"saved {args.out}", file=stream)
        else:
            print(done.video_url or done.video_path, file=stream)
        return 0


async def main(
    settings_db: Path,
    profiles: Mapping[str, ProviderProfile],
    args: argparse.Namespace,
    default_profile: str | None,
) -> int:
    db = await Database.open(settings_db)
    try:
        return await generate(db, profiles, args, default_profile=default_profile)
    except UserError as exc:
        print(f"soracord: generate: {exc.message}", file=sys.stderr)
        return 2
    finally:
        await asyncio.shield(db.close())
