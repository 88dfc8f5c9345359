"""How a job looks in Discord: one embed, rebuilt from the job row on every change.

Everything is rendered in the job's locale (the requester's, stored with the job) unless a caller
passes another one (an ephemeral reply to someone else renders in theirs). The card is public, so
every word on it that a member or a vendor wrote goes through ``cogs.inert`` (no markdown, masked
links or mentions) and every part is kept within Discord's embed limits."""

from __future__ import annotations

import time

import discord

from bot.engine.events import JobEvent
from bot.engine.views import JobView
from bot.i18n import EN, Msg, has, resolve, t
from bot.providers.base import Kind
from cogs.inert import FIELD_VALUE, clip, inert, inert_msg, link_target
from cogs.limits import fit_embed
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
VENDOR_WORD = 200  # a vendor's stage or step name: a word or two, or something gone wrong
# TVC steps in plain words (the vendor's step names are English jargon and may change).
TVC_STEPS = {1: "job.tvc_step.1", 2: "job.tvc_step.2", 3: "job.tvc_step.3"}
DONE, RUNNING, WAITING, FAILED = "✅", "⏳", "▫️", "❌"


def kind_title(kind: Kind, locale: object) -> str:
    return t(f"job.kind.{kind.value}", locale)


def state_words(state: JobState, locale: object = None) -> str:
    """A job state in the reader's words (``queued`` / "排队中")."""
    return t(f"job.state.{state.value}", locale)


def elapsed(seconds: float, locale: object = None) -> str:
    seconds = max(0, int(seconds))
    minutes, secs = divmod(seconds, 60)
    if minutes:
        return t("time.minutes_seconds", locale, minutes=minutes, seconds=f"{secs:02d}")
    return t("time.seconds", locale, seconds=secs)


def error_text(job: JobView, locale: object) -> str | None:
    """Why the job ended, in ``locale`` when it was stored as a catalog message; as stored otherwise.

    The words a vendor or a member put in it are inert; the catalog's own markdown stays."""
    if job.error_i18n:
        try:
            return inert_msg(Msg.from_json(job.error_i18n)).render(locale)
        except (KeyError, ValueError, TypeError, IndexError, AttributeError):
            pass  # written by another version of the bot: its en-US words are still right
    return inert(job.error_message) if job.error_message is not None else None


def _locale(job: JobView, locale: object) -> object:
    return job.locale if locale is None else locale


def status_line(event: JobEvent, locale: object = None) -> str:
    """The job's state in a line or two, at most one embed field long."""
    return clip(_status(event, locale), FIELD_VALUE)


def _status(event: JobEvent, locale: object) -> str:
    job = event.job
    loc = _locale(job, locale)
    if job.state is JobState.QUEUED:
        where = t("job.status.position", loc, position=event.queue_position) if event.queue_position else ""
        return t("job.status.queued", loc, where=where)
    if job.state is JobState.SUBMITTING:
        return t("job.status.submitting", loc)
    if job.state is JobState.RUNNING:
        if job.progress_pct is not None:
            filled = round(job.progress_pct / 10)
            bar = f"{'█' * filled}{'░' * (10 - filled)}"
            return t("job.status.progress", loc, bar=bar, pct=job.progress_pct)
        if job.step and job.step_count:
            key = TVC_STEPS.get(job.step) if job.kind is Kind.TVC else None
            named = inert(job.step_name, VENDOR_WORD) if job.step_name else None
            name = t(key, loc) if key else named or t("job.status.working", loc)
            return t("job.status.step", loc, step=job.step, count=job.step_count, name=name)
        stage = inert(job.stage, VENDOR_WORD) if job.stage else t("job.status.started", loc)
        return t("job.status.rendering", loc, stage=stage)
    if job.state is JobState.SUCCEEDED:
        return t("job.status.succeeded", loc)
    if job.state is JobState.TIMED_OUT:
        return f"⏱️ {error_text(job, loc) or t('job.status.timed_out', loc)}"
    if job.state is JobState.CANCELLED:
        return t("job.status.cancelled", loc)
    return f"❌ {error_text(job, loc) or t('job.status.failed', loc)}"


def excerpt(text: str, limit: int) -> str:
    """``text`` inert and at most ``limit`` characters long, escapes included."""
    return inert(text.strip(), limit)


def step_lines(job: JobView, locale: object = None) -> str:
    """The TVC pipeline, one line a step: done ✅, running ⏳, waiting ▫️ (failed ❌)."""
    loc = _locale(job, locale)
    count = max(job.step_count or 0, len(TVC_STEPS))
    current = job.step or 0
    if job.state is JobState.RUNNING and current == 0:
        current = 1  # submitted: the first step is under way even before the vendor says so
    lines = []
    for step in range(1, count + 1):
        if job.state is JobState.SUCCEEDED or step < current:
            mark = DONE
        elif step == current and job.state is JobState.RUNNING:
            mark = RUNNING
        elif step == current and not job.active:
            mark = FAILED
        else:
            mark = WAITING
        name = t(TVC_STEPS[step], loc) if step in TVC_STEPS else t("job.tvc_step.other", loc, step=step)
        lines.append(f"{mark} {step}. {name}")
    return "\n".join(lines)


def shot_lines(job: JobView) -> str | None:
    """One line a shot, as many as fit one field; the last one shown is cut to fit."""
    if not job.shots:
        return None
    lines: list[str] = []
    room = SHOTS_FIELD
    for shot in job.shots:
        head = f"`{shot.duration:g} s` "
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


def job_embed(event: JobEvent, *, now: float | None = None, locale: object = None) -> discord.Embed:
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
    end = job.finished_at or (now if now is not None else time.time())
    embed.add_field(name=t("job.field.elapsed", loc), value=elapsed(end - job.created_at, loc))
    if job.active and event.eta_seconds is not None:  # from this profile's own history
        embed.add_field(name=t("job.field.eta", loc), value=elapsed(event.eta_seconds, loc))
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
    target = link_target(job.video_url) if not job.video_path else None  # a saved video's URL
    link = t("job.open_video", loc, url=target) if target else ""  # needs the vendor key: no link
    if link and len(link) <= FIELD_VALUE:
        embed.add_field(name=t("job.field.video", loc), value=link, inline=False)
    embed.set_footer(text=t("job.footer", loc, id=job.id, profile=job.profile))
    return fit_embed(embed)  # a vendor's over-long storyboard link, say, must not sink the card
