"""The parts of a job's card that move while the job runs: its status, its time and its steps.

Times are Discord timestamps (``<t:…:R>``): a card is edited only when something changes (at most
once every few seconds, and a vendor may say nothing new for minutes), so a time written as text
("Elapsed 1m 23s") froze between edits, while a timestamp keeps counting by itself in the reader's own
language ("2 minutes ago", "in 3 minutes"). Discord renders them in field values and descriptions
only — not in titles, field names or footers — so that is where they go. Once the estimate has run
out the card says the job is taking longer than usual rather than "0s" or "a minute ago"
(``bot.engine.overdue`` sends the event that says so).

Vendors report stages as English words ("queuing", "generating"); shown raw they were English in
every language. Known words map onto catalog words; a word no vendor document lists is shown as the
vendor wrote it (inert), since a guess would be worse than the word.
"""

from __future__ import annotations

import re
import time

from bot.engine.events import JobEvent
from bot.engine.views import JobView
from bot.i18n import Msg, t
from bot.providers.base import Kind
from cogs.inert import FIELD_VALUE, clip, inert, inert_msg
from storage.states import JobState

VENDOR_WORD = 200  # a vendor's stage or step name: a word or two, or something gone wrong
BAR_CELLS = 10
# TVC steps in plain words (the vendor's step names are English jargon and may change).
TVC_STEPS = {1: "job.tvc_step.1", 2: "job.tvc_step.2", 3: "job.tvc_step.3"}
DONE, RUNNING, WAITING, FAILED = "✅", "⏳", "▫️", "❌"
# The stage words the vendors' documents and fakes use, by what they mean to a member.
STAGES = {
    "queued": ("queuing", "queueing", "queued", "queue", "pending", "submitted", "waiting", "in_queue"),
    "working": ("processing", "running", "in_progress", "started", "working"),
    "generating": ("generating", "generation", "rendering"),
    "finishing": ("finalizing", "finalising", "finishing", "postprocessing", "post_processing", "uploading"),
}
_STAGE_KEYS = {word: f"job.stage.{group}" for group, words in STAGES.items() for word in words}
_SEPARATORS = re.compile(r"[\s\-]+")


def elapsed(seconds: float, locale: object = None) -> str:
    """A duration as text (for what has ended: it no longer counts). Never "0s"."""
    if seconds < 1:
        return t("time.under_second", locale)
    whole = int(seconds)
    minutes, secs = divmod(whole, 60)
    if minutes:
        return t("time.minutes_seconds", locale, minutes=minutes, seconds=f"{secs:02d}")
    return t("time.seconds", locale, seconds=secs)


def stamp(moment: float) -> str:
    """A Discord relative timestamp: rendered and kept counting by the reader's client."""
    return f"<t:{int(moment)}:R>"


def stage_words(stage: str | None, locale: object) -> str | None:
    """A vendor's stage word in the reader's words (as written, inert, when it is not a known one)."""
    if not stage or not stage.strip():
        return None
    key = _STAGE_KEYS.get(_SEPARATORS.sub("_", stage.strip().lower()))
    return t(key, locale) if key else inert(stage.strip(), VENDOR_WORD)


def bar(pct: int) -> str:
    filled = max(0, min(BAR_CELLS, round(pct * BAR_CELLS / 100)))
    return f"{'█' * filled}{'░' * (BAR_CELLS - filled)}"


def error_text(job: JobView, locale: object) -> str | None:
    """Why the job ended, in ``locale`` when it was stored as a catalog message; as stored otherwise.

    The words a vendor or a member put in it are inert; the catalog's own markdown stays."""
    if job.error_i18n:
        try:
            return inert_msg(Msg.from_json(job.error_i18n)).render(locale)
        except (KeyError, ValueError, TypeError, IndexError, AttributeError):
            pass  # written by another version of the bot: its en-US words are still right
    return inert(job.error_message) if job.error_message is not None else None


def status_line(event: JobEvent, locale: object = None) -> str:
    """The job's state in a line or two, at most one embed field long."""
    loc = event.job.locale if locale is None else locale
    return clip(_status(event, loc), FIELD_VALUE)


def _status(event: JobEvent, loc: object) -> str:
    job = event.job
    if job.state is JobState.QUEUED:
        return _queued(event, loc)
    if job.state is JobState.SUBMITTING:
        return t("job.status.submitting", loc)
    if job.state is JobState.RUNNING:
        return _running(job, loc)
    if job.state is JobState.SUCCEEDED:
        return t("job.status.succeeded", loc)
    if job.state is JobState.TIMED_OUT:
        return f"⏱️ {error_text(job, loc) or t('job.status.timed_out', loc)}"
    if job.state is JobState.CANCELLED:
        return t("job.status.cancelled", loc)
    return f"❌ {error_text(job, loc) or t('job.status.failed', loc)}"


def _queued(event: JobEvent, loc: object) -> str:
    """Waiting; its place only when someone is ahead of it (first in line is not news)."""
    if not event.ahead:
        return t("job.status.queued_next" if event.queue_position else "job.status.queued", loc)
    position = event.queue_position
    total = event.queue_length
    if total is not None and total >= (position or 0):
        return t("job.status.queued_at_of", loc, position=position, total=total)
    return t("job.status.queued_at", loc, position=position)


def _running(job: JobView, loc: object) -> str:
    stage = stage_words(job.stage, loc)
    if job.step and job.step_count:
        # A TVC step has its own words and the stage goes after them; another kind's step (a shot
        # of a storyboard) is named by the vendor's step name, else by its stage.
        key = TVC_STEPS.get(job.step) if job.kind is Kind.TVC else None
        named = inert(job.step_name, VENDOR_WORD) if job.step_name and job.kind is not Kind.TVC else None
        name = t(key, loc) if key else named or stage or t("job.status.working", loc)
        head = "job.status.shot" if job.kind is Kind.STORYBOARD else "job.status.step"
        line = t(head, loc, step=job.step, count=job.step_count, name=name)
        if stage and stage != name:
            line = t("job.status.with_stage", loc, line=line, stage=stage)
    else:
        line = t("job.status.rendering", loc, stage=stage) if stage else t("job.status.rendering_plain", loc)
    if job.progress_pct is not None:
        pct = max(0, min(100, job.progress_pct))
        line += "\n" + t("job.status.progress_bar", loc, bar=bar(pct), pct=pct)
    return line


def time_fields(event: JobEvent, locale: object, now: float | None = None) -> list[tuple[str, str]]:
    """(name, value) for the card's time: counting timestamps while active, the total once ended."""
    job = event.job
    if not job.active:
        end = job.finished_at if job.finished_at is not None else (now or time.time())
        return [(t("job.field.elapsed", locale), elapsed(end - job.created_at, locale))]
    fields = [(t("job.field.started", locale), stamp(job.created_at))]
    if event.overdue:
        fields.append((t("job.field.eta", locale), t("job.eta.overdue", locale)))
    elif event.eta_seconds is not None:
        ready = event.ready_at
        if ready is None:  # a view made outside the engine: count from now
            ready = (now if now is not None else time.time()) + event.eta_seconds
        if now is not None and ready <= now:
            fields.append((t("job.field.eta", locale), t("job.eta.overdue", locale)))
        else:
            fields.append((t("job.field.eta", locale), stamp(ready)))
    return fields


def step_lines(job: JobView, locale: object = None) -> str:
    """The TVC pipeline, one line a step: done ✅, under way ⏳, still to come ▫️ (failed ❌)."""
    loc = job.locale if locale is None else locale
    count = max(job.step_count or 0, len(TVC_STEPS))
    current = job.step or 0
    if job.state is JobState.RUNNING and current == 0:
        current = 1  # submitted: the first step is under way even before the vendor says so
    lines = []
    for step in range(1, count + 1):
        mark = step_mark(job, step, current)
        name = t(TVC_STEPS[step], loc) if step in TVC_STEPS else t("job.tvc_step.other", loc, step=step)
        lines.append(f"{mark} {step}. {name}")
    return "\n".join(lines)


def step_mark(job: JobView, step: int, current: int) -> str:
    """Done, under way, failed or still to come, for step ``step`` of a job at step ``current``."""
    if job.state is JobState.SUCCEEDED or step < current:
        return DONE
    if step == current and job.state is JobState.RUNNING:
        return RUNNING
    if step == current and not job.active:
        return FAILED
    return WAITING
