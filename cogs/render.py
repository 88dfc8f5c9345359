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
            return f"🎬 Step {job.step}/{job.step_count}: {job.step_name or 'working'}"
        return f"🎬 Rendering — {job.stage or 'started'}"
    if job.state == "succeeded":
        return "✅ Your video is ready"
    if job.state == "timed_out":
        return f"⏱️ {job.error_message or 'Timed out.'}"
    if job.state == "cancelled":
        return "🚫 Cancelled — your credits were returned"
    return f"❌ {job.error_message or 'Failed.'}"


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
    if job.video_url:
        embed.add_field(name="Video", value=f"[Open the video]({job.video_url})", inline=False)
    embed.set_footer(text=f"Job #{job.id} · {job.profile}")
    return embed


def result_content(job: JobRow) -> str:
    """The final message: it mentions the requester, and nobody else (see allowed_mentions)."""
    if job.state == "succeeded":
        return (
            f"<@{job.user_id}> your video is ready: {job.video_url}\n"
            "-# The provider's link may expire; download the video to keep it."
        )
    return f"<@{job.user_id}> {status_line(JobEvent(job))}"
