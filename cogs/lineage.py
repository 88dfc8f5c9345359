"""The line on a riff's card: whose video it builds on, with a jump link to it.

Apart from ``cogs.render`` (which calls it) so the riffs' words live beside nothing else of the
card's; it reads only the ``Riff`` the job carries, never the original job, so rendering stays one
synchronous pass over one row."""

from __future__ import annotations

from bot.engine.views import JobView
from bot.i18n import t

DISCORD = "https://discord.com"


def jump_url(guild_id: int, channel_id: int, message_id: int) -> str:
    """Discord's link to a message, which its client opens in place."""
    return f"{DISCORD}/channels/{guild_id}/{channel_id}/{message_id}"


def riff_line(job: JobView, locale: object) -> str | None:
    """The riff's line, "Riff on @owner's job #N", linked to the message it was made from; ``None``
    for a job made from nothing else.

    A member riffing on their own video reads "From job #N": naming them twice says nothing."""
    riff = job.riff
    if riff is None:
        return None
    ref = t("job.riff.job_ref", locale, id=riff.job_id)
    if riff.message_id is not None:
        ref = f"[{ref}]({jump_url(job.guild_id, riff.channel_id, riff.message_id)})"
    if riff.owner_id and riff.owner_id != job.user_id:
        return t("job.riff.other", locale, owner_id=riff.owner_id, job=ref)
    return t("job.riff.own", locale, job=ref)
