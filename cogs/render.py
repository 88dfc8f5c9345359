"""How a job looks in Discord: one embed, rebuilt from the job row on every change.

Everything is rendered in the job's locale (the requester's, stored with the job) unless a caller
passes another one (an ephemeral reply to someone else renders in theirs). The card is public, so
every word on it that a member or a vendor wrote goes through ``cogs.inert`` (no markdown, masked
links or mentions) and every part is kept within Discord's embed limits."""

from __future__ import annotations

import discord

from bot.engine.events import JobEvent
from bot.engine.views import JobView
from bot.i18n import EN, has, resolve, t
from bot.providers.base import Kind
from cogs.card import TVC_STEPS as TVC_STEPS
from cogs.card import elapsed as elapsed
from cogs.card import error_text as error_text
from cogs.card import status_line as status_line
from cogs.card import step_lines as step_lines
from cogs.card import step_mark, time_fields
from cogs.inert import FIELD_VALUE, inert, link_target
from cogs.limits import fit_embed
from cogs.lineage import riff_line
from storage.states import JobState

COLOURS = {
    JobState.QUEUED: discord.Colour.light_grey(),
    JobState.SUBMITTING: discord.Colour.blurple(),
    JobState.RUNNING: discord.Colour.blurple(),
    JobState.SUCCEEDED: discord.Colour.green(),
    JobState.FAILED: discord.Colour.red(),
    JobState.TIMED_OUT: discord.Colour.orange(),
    JobState.CANCELLED: discord.Colour.dark_grey(),
}
STATE_EMOJI = {
    JobState.QUEUED: "⏳",
    JobState.SUBMITTING: "📤",
    JobState.RUNNING: "🎬",
    JobState.SUCCEEDED: "✅",
    JobState.FAILED: "❌",
    JobState.TIMED_OUT: "⏱️",
    JobState.CANCELLED: "🚫",
}
PROMPT_EXCERPT = 1000
SCRIPT_EXCERPT = 300  # the TVC storyboard script shown while it renders
SHOTS_FIELD = FIELD_VALUE


def kind_title(kind: Kind, locale: object) -> str:
    return t(f"job.kind.{kind.value}", locale)


def state_words(state: JobState, locale: object = None) -> str:
    """A job state in the reader's words (``queued`` / "排队中")."""
    return t(f"job.state.{state.value}", locale)


def _locale(job: JobView, locale: object) -> object:
    return job.locale if locale is None else locale


def excerpt(text: str, limit: int) -> str:
    """``text`` inert and at most ``limit`` characters long, escapes included."""
    return inert(text.strip(), limit)


def shot_lines(job: JobView) -> str | None:
    """One line a shot, as many as fit one field; the last one shown is cut to fit. While the vendor
    counts shots (step k of N, one a shot) each is marked done, under way or still to come."""
    if not job.shots:
        return None
    marked = job.step_count == len(job.shots) and job.step is not None
    lines: list[str] = []
    room = SHOTS_FIELD
    for number, shot in enumerate(job.shots, start=1):
        mark = f"{step_mark(job, number, job.step or 0)} " if marked else ""
        head = f"{mark}`{shot.duration:g} s` "
        gap = 1 if lines else 0
        if room - gap - len(head) < 2:
            break
        line = head + inert(" ".join(shot.scene.split()), room - gap - len(head))
        lines.append(line)
        room -= gap + len(line)
    return "\n".join(lines)


def cost_line(job: JobView, locale: object = None) -> str:
    loc = _locale(job, locale)
    if job.state is JobState.SUCCEEDED:
        return t("job.cost.spent", loc, cost=job.cost)
    if job.active:
        return t("job.cost.held", loc, cost=job.cost)
    return t("job.cost.returned", loc, cost=job.cost)


def orientation_word(value: object, locale: object) -> str:
    """``portrait``/``landscape`` as the option value in en-US, in words in other languages."""
    key = f"choice.orientation.{value}"
    if resolve(locale) == EN or not has(key, locale):
        return str(value)
    return t(key, locale)


def job_embed(
    event: JobEvent, *, now: float | None = None, locale: object = None, video_link: bool = False
) -> discord.Embed:
    """The card. ``now`` is the engine's time (an estimate past it reads as overdue); ``video_link``
    shows the vendor's link to a finished video — only when the video was not uploaded."""
    job = event.job
    loc = _locale(job, locale)
    text = excerpt(job.text, PROMPT_EXCERPT)
    embed = discord.Embed(
        title=kind_title(job.kind, loc),
        description=f">>> {text}" if text else None,
        colour=COLOURS.get(job.state, discord.Colour.default()),
    )
    embed.add_field(name=t("job.field.status", loc), value=status_line(event, loc), inline=False)
    embed.add_field(
        name=t("job.field.model", loc),
        value=t(
            "job.model_line",
            loc,
            model=job.model_label,
            duration=job.duration,
            orientation=orientation_word(job.orientation, loc),
        ),
    )
    embed.add_field(name=t("job.field.cost", loc), value=cost_line(job, loc))
    for name, value in time_fields(event, loc, now):  # timestamps: they count between edits
        embed.add_field(name=name, value=value)
    if job.kind is Kind.TVC:
        embed.add_field(name=t("job.field.steps", loc), value=step_lines(job, loc), inline=False)
        if job.storyboard_prompt:
            embed.add_field(
                name=t("job.field.script", loc),
                value=excerpt(job.storyboard_prompt, SCRIPT_EXCERPT),
                inline=False,
            )
        if job.storyboard_image_url:
            embed.set_image(url=job.storyboard_image_url)
    shots = shot_lines(job) if job.kind is Kind.STORYBOARD else None
    if shots:
        embed.add_field(name=t("job.field.shots", loc), value=shots, inline=False)
    image_url = job.image_url
    if image_url is not None and image_url.startswith(("http://", "https://")):
        embed.set_thumbnail(url=image_url)
    # The vendor's link only when the video is not uploaded (the result carries it then), and never
    # a saved video's URL: that one needs the vendor key.
    target = link_target(job.video_url) if video_link and not job.video_path else None
    link = t("job.open_video", loc, url=target) if target else ""
    if link and len(link) <= FIELD_VALUE:
        embed.add_field(name=t("job.field.video", loc), value=link, inline=False)
    riff = riff_line(job, loc)  # whose video this one riffs on, linked
    if riff:
        embed.add_field(name=t("job.field.riff", loc), value=riff, inline=False)
    embed.set_footer(text=t("job.footer", loc, id=job.id))  # the model is named above; never a profile
    return fit_embed(embed)  # a vendor's over-long storyboard link, say, must not sink the card
