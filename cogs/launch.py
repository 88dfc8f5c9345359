"""What every generation command does before and around its deferral, in one place.

The order matters because of Discord's 3-second acknowledgement and because nothing may be charged
for a request that cannot run: cheap checks first (channel permissions, the profile that offers
the kind, the attachment's metadata, the quote and the member's credits), then — for a price over
the server's threshold — the member's confirm (``cogs.confirm``), then defer, then the slow
part (downloading and checking the image's real bytes), then ``engine.enqueue`` — which holds the
credits. A refusal before the deferral goes through ``tree.on_error`` (ephemeral); one after it is
shown by ``respond_error`` too, also only to the member, and nothing is enqueued.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import discord

from bot import media
from bot.engine.admission import JobOrigin
from bot.engine.engine import Engine
from bot.engine.views import JobView
from bot.errors import AlreadyMade, UserError
from bot.i18n import msg, t
from bot.net import Fetcher
from bot.providers.base import AnyRequest
from cogs import confirm
from cogs.errors import respond_error

log = logging.getLogger(__name__)

# (Permissions attribute, the catalog key of the name Discord shows in channel settings)
NEEDED_PERMISSIONS: tuple[tuple[str, str], ...] = (
    ("view_channel", "perm.view_channel"),
    ("send_messages", "perm.send_messages"),
    ("embed_links", "perm.embed_links"),
    ("attach_files", "perm.attach_files"),
    # A result replies to its card, and a result cut off by a restart is looked for in the channel.
    ("read_message_history", "perm.read_message_history"),
)


# ------------------------------------------------------------------------------ permissions


def missing_permissions(
    permissions: discord.Permissions, *, in_thread: bool = False, locale: object = None
) -> list[str]:
    """Names (as Discord shows them, in ``locale``) of what the bot lacks to show a job and post its video."""
    missing = []
    for attr, label in NEEDED_PERMISSIONS:
        if attr == "send_messages" and in_thread:
            attr, label = "send_messages_in_threads", "perm.send_messages_in_threads"
        if not getattr(permissions, attr):
            missing.append(t(label, locale))
    return missing


def require_channel_permissions(interaction: discord.Interaction) -> None:
    """Refuse (before deferring) when the bot could not post progress or the video in this channel."""
    in_thread = isinstance(interaction.channel, discord.Thread)
    locale = interaction.locale
    missing = missing_permissions(interaction.app_permissions, in_thread=in_thread, locale=locale)
    if missing:
        names = _join((f"**{m}**" for m in missing), locale)
        plural = msg("perm.plural") if len(missing) > 1 else msg("perm.singular")
        raise UserError("errors.cannot_post_here", names=names, plural=plural)


def _join(items: Iterable[str], locale: object = None) -> str:
    parts = list(items)
    if len(parts) == 1:
        return parts[0]
    return t("list.sep", locale).join(parts[:-1]) + t("list.last", locale) + parts[-1]


# ------------------------------------------------------------------------------------ images


@dataclass(frozen=True)
class PendingImage:
    """A reference image whose metadata passed; its bytes are fetched and checked after deferring.

    Both kinds (an attachment, an embed's link) are read through the bot's ``Fetcher`` from ``url``:
    the link arrived in a payload, nobody configured it, so ``bot.net`` decides whether to go there.
    """

    url: str  # what the provider gets: the attachment's public (signed) link
    filename: str


def image_from_attachment(attachment: discord.Attachment) -> PendingImage:
    """Metadata checks (no download): raises ``ImageError`` for a video, a document, a huge file."""
    media.check_attachment(
        attachment.filename, attachment.content_type, attachment.size, attachment.width, attachment.height
    )
    return PendingImage(attachment.url, attachment.filename)


def image_from_url(url: str, filename: str = "") -> PendingImage:
    return PendingImage(url, filename or url.rsplit("/", 1)[-1].split("?", 1)[0])


def fetcher_of(client: discord.Client) -> Fetcher:
    """The bot's one fetcher (``SoraBot.fetcher``): cogs reach it through the client they serve."""
    fetcher = getattr(client, "fetcher", None)
    if not isinstance(fetcher, Fetcher):
        raise RuntimeError(f"{type(client).__name__} has no fetcher for members' links")
    return fetcher


async def verify_image(image: PendingImage, fetcher: Fetcher) -> media.ImageInfo:
    """Download the image now (attachment links expire) and check its real bytes.

    Only the header is read (``media.verify_image`` decodes no pixel), so a picture claiming a huge
    size costs no memory here; it is refused before ``enqueue`` holds any credit.
    """
    data = await media.fetch_image(fetcher, image.url)  # LinkRefused or ImageError when it cannot
    return await asyncio.to_thread(media.verify_image, data, image.filename)


# ------------------------------------------------------------------------------------ launch


def is_manager(interaction: discord.Interaction) -> bool:
    """Manage Server, as Discord computed it for this member in this channel."""
    return bool(interaction.permissions.manage_guild)


async def require_allowed(engine: Engine, interaction: discord.Interaction) -> None:
    """The bot can post here, and the server lets this member generate here (checked before deferring)."""
    assert interaction.guild_id is not None and interaction.channel_id is not None
    require_channel_permissions(interaction)
    roles = [r.id for r in getattr(interaction.user, "roles", [])]
    await engine.admission.check_access(
        interaction.guild_id,
        interaction.channel_id,
        roles,
        is_manager=is_manager(interaction),
    )


def origin_from(
    interaction: discord.Interaction, callback: discord.InteractionCallbackResponse[Any] | None
) -> JobOrigin:
    """Where a job comes from: the member, the channel, and the message the deferral just created."""
    assert interaction.guild_id is not None and interaction.channel_id is not None
    return JobOrigin(
        guild_id=interaction.guild_id,
        channel_id=interaction.channel_id,
        user_id=interaction.user.id,
        application_id=interaction.application_id,
        interaction_token=interaction.token,
        interaction_created_at=interaction.created_at.timestamp(),
        message_id=callback.message_id if callback is not None else None,
        upload_limit=interaction.filesize_limit,
        locale=str(interaction.locale),
    )


async def launch(
    engine: Engine,
    interaction: discord.Interaction,
    request: AnyRequest,
    *,
    profile: str | None = None,
    images: Sequence[PendingImage] = (),
    fetcher: Fetcher | None = None,
    refusal_view: discord.ui.View | None = None,
    agreed: int = 0,
    once_key: str | None = None,
) -> JobView | None:
    """Check, defer, verify the images, enqueue. Returns the job, or ``None`` when refused after
    deferring or when it asks first.

    Refusals before the deferral raise ``UserError`` (shown ephemerally by ``tree.on_error``). The
    images are read with ``fetcher`` (the client's, by default) before anything is held: a link the
    bot will not fetch (``LinkRefused``) is told to the member and costs nothing. ``refusal_view``
    goes with a refusal after the deferral (a storyboard form's "Fix and resend").

    A price over the server's threshold and above what the member ``agreed`` to is not deferred: the
    member is asked first (``cogs.confirm``), and Confirm runs this again with that price agreed and
    the question's ``once_key``, which makes one job however often it is pressed.
    """
    assert interaction.guild_id is not None and interaction.channel_id is not None
    await require_allowed(engine, interaction)
    admission = engine.admission
    quote = await admission.quote(request, interaction.guild_id, profile)
    await admission.precheck(interaction.guild_id, interaction.user.id, quote)
    if await admission.asks_first(interaction.guild_id, quote, agreed=agreed):

        async def proceed(press: discord.Interaction, key: str) -> JobView | None:
            return await launch(
                engine,
                press,
                request,
                profile=quote.profile,
                images=images,
                fetcher=fetcher,
                refusal_view=refusal_view,
                agreed=quote.cost,
                once_key=key,
            )

        await confirm.ask_first(engine, interaction, quote, proceed)
        return None
    if once_key is not None and (made := await admission.made_by(once_key)) is not None:
        raise AlreadyMade(made)  # a second press, or a second form: answered before any deferral
    callback = await interaction.response.defer(thinking=True)
    try:
        for image in images:
            await verify_image(image, fetcher or fetcher_of(interaction.client))
        await admission.preflight(request, quote)
        origin = origin_from(interaction, callback)
        return await admission.enqueue(origin, request, quote.profile, once_key=once_key)
    except UserError as exc:
        await respond_error(interaction, exc, view=refusal_view)
        return None
