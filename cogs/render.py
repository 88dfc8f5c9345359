"""How a job looks in Discord: one embed, rebuilt from the job row on every change."""

from __future__ import annotations

import time

import discord

from bot.engine.events import JobEvent
from storage.jobs import JobRow

KIND_TITLES = {
    "text": "Text to video",
    "image": "Image to video",
    "tvc": "TV commercial",
    "storyboard": "Storyboard video",
}
COLOURS = {
    "queued": discord.Colour.light_grey(),
    "submitting": discord.Colour.blurple(),
    "running": discord.Colour.blurple(),
    "succeeded": discord.Colour.green(),
    "failed": discord.Colour.red(),
    "timed_out": discord.Colour.orange(),
    "cancelled": discord.Colour.dark_grey(),
}
PROMPT_EXCERPT = 1000
SCRIPT_EXCERPT = 300  # the TVC storyboard script shown while it renders
SHOTS_FIELD = 1024
# TVC steps in plain words (the vendor's step names are English jargon and may change).
TVC_STEPS = {1: "Writing the script", 2: "Drawing the storyboard", 3: "Rendering the video"}
DONE, RUNNING, WAITING, FAILED = "✅", "⏳", "▫️", "❌"


def elapsed(seconds: float) -> str:
    seconds = max(0, int(seconds))
    minutes, secs = divmod(seconds, 60)
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


def status_line(event: JobEvent) -> str:
    job = event.job
    if job.state == "queued":
        where = f" — position {event.queue_position}" if event.queue_position else ""
        return f"⏳ Waiting in the queue{where}"
    if job.state == "submitting":
        return "📤 Sending to the provider…"
    if job.state == "running":
        if job.progress_pct is not None:
            filled = round(job.progress_pct / 10)
            return f"🎬 Rendering `{'█' * filled}{'░' * (10 - filled)}` {job.progress_pct}%"
        if job.step and job.step_count:
            name = TVC_STEPS.get(job.step) if job.kind == "tvc" else None
            return f"🎬 Step {job.step}/{job.step_count}: {name or job.step_name or 'working'}"
        return f"🎬 Rendering — {job.stage or 'started'}"
    if job.state == "succeeded":
        return "✅ Your video is ready"
    if job.state == "timed_out":
        return f"⏱️ {job.error_message or 'Timed out.'}"
    if job.state == "cancelled":
        return "🚫 Cancelled — your credits were returned"
    return f"❌ {job.error_message or 'Failed.'}"


def excerpt(text: str, limit: int) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def step_lines(job: JobRow) -> str:
    """The TVC pipeline, one line a step: done ✅, running ⏳, waiting ▫️ (failed ❌)."""
    count = max(job.step_count or 0, len(TVC_STEPS))
    current = job.step or 0
    if job.state == "running" and current == 0:
        current = 1  # submitted: the first step is under way even before the vendor says so
    lines = []
    for step in range(1, count + 1):
        if job.state == "succeeded" or step < current:
            mark = DONE
        elif step == current and job.state == "running":
            mark = RUNNING
        elif step == current and not job.active:
            mark = FAILED
        else:
            mark = WAITING
        lines.append(f"{mark} {step}. {TVC_STEPS.get(step, f'Step {step}')}")
    return "\n".join(lines)


def shot_lines(request: dict[str, object]) -> str | None:
    shots = request.get("shots")
    if not isinstance(shots, list) or not shots:
        return None
    lines = []
    for shot in shots:
        if isinstance(shot, dict):
            lines.append(f"`{float(shot.get('duration', 0)):g} s` {shot.get('scene', '')}")
    text = "\n".join(lines)
    return excerpt(text, SHOTS_FIELD)


def cost_line(job: JobRow) -> str:
    if job.state == "succeeded":
        return f"{job.cost} credits spent"
    if job.active:
        return f"{job.cost} credits held"
    return f"{job.cost} credits returned"


def job_embed(event: JobEvent, *, now: float | None = None) -> discord.Embed:
    job = event.job
    request = job.request
    text = str(request.get("prompt") or request.get("ad_theme") or "")
    if len(text) > PROMPT_EXCERPT:
        text = text[: PROMPT_EXCERPT - 1] + "…"
    embed = discord.Embed(
        title=KIND_TITLES.get(job.kind, "Video"),
        description=f">>> {text}" if text else None,
        colour=COLOURS.get(job.state, discord.Colour.default()),
    )
    embed.add_field(name="Status", value=status_line(event), inline=False)
    embed.add_field(name="Model", value=f"{job.model} · {job.duration} s · {request.get('orientation', '')}")
    embed.add_field(name="Cost", value=cost_line(job))
    end = job.finished_at or (now if now is not None else time.time())
    embed.add_field(name="Elapsed", value=elapsed(end - job.created_at))
    if job.kind == "tvc":
        embed.add_field(name="Steps", value=step_lines(job), inline=False)
        if job.storyboard_prompt:
            embed.add_field(
                name="Storyboard script", value=excerpt(job.storyboard_prompt, SCRIPT_EXCERPT), inline=False
            )
        if job.storyboard_image_url:
            embed.set_image(url=job.storyboard_image_url)
    shots = shot_lines(request) if job.kind == "storyboard" else None
    if shots:
        embed.add_field(name="Shots", value=shots, inline=False)
    image_url = request.get("image_url") or request.get("reference_image_url")
    if isinstance(image_url, str) and image_url.startswith(("http://", "https://")):
        embed.set_thumbnail(url=image_url)
    if job.video_url and not job.video_path:  # a saved video's URL needs the vendor key: no link
        embed.add_field(name="Video", value=f"[Open the video]({job.video_url})", inline=False)
    embed.set_footer(text=f"Job #{job.id} · {job.profile}")
    return embed
