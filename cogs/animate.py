""" "Animate": a message context-menu command that turns a posted picture into a video.

It takes the message's first image attachment, or else its first image embed; asks for the prompt
in a modal (prefilled with the message's text); then runs an image-to-video job on the server's
default image-capable model, with that model's default duration and aspect ratio. The price does not
depend on the prompt, so one over the server's threshold is confirmed before the modal opens.
"""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.engine.engine import Engine
from bot.errors import UserError
from bot.i18n import t
from bot.providers.base import MAX_PROMPT_CHARS, Kind, parse_request
from cogs import confirm
from cogs.errors import respond_error
from cogs.launch import (
    PendingImage,
    image_from_attachment,
    image_from_url,
    launch,
    require_allowed,
)
from cogs.model_options import request_fields
from cogs.translator import L

MENU_NAME = "Animate"  # the en-US name; zh-CN comes from the catalog (cmd.animate.name)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".gif", ".heic", ".avif", ".bmp")
NO_IMAGE = "errors.no_image"  # "That message has no image."


def find_image(message: discord.Message) -> PendingImage:
    """The message's first picture; ``UserError`` when it has none (or only an unusable file)."""
    for attachment in message.attachments:
        content_type = (attachment.content_type or "").lower()
        if content_type.startswith("image/") or attachment.filename.lower().endswith(IMAGE_SUFFIXES):
            return image_from_attachment(attachment)
    for embed in message.embeds:
        url = embed.image.url or (embed.thumbnail.url if embed.type == "image" else None)
        if url:
            return image_from_url(url)
    raise UserError(NO_IMAGE)


class AnimateModal(discord.ui.Modal):
    def __init__(
        self,
        engine: Engine,
        profile: str,
        fields: dict[str, Any],
        image: PendingImage,
        prefill: str,
        locale: object = None,
        *,
        agreed: int = 0,
        once_key: str | None = None,
    ) -> None:
        super().__init__(title=t("animate.modal.title", locale), timeout=15 * 60, custom_id="animate")
        self.engine = engine
        self.profile = profile
        self.fields = fields  # the request but its prompt, as quoted before the modal opened
        self.image = image
        self.agreed, self.once_key = agreed, once_key  # the price confirmed before it opened, if asked
        self.prompt: discord.ui.TextInput[AnimateModal] = discord.ui.TextInput(
            custom_id="animate:prompt",
            label=t("animate.modal.prompt_label", locale),
            style=discord.TextStyle.paragraph,
            placeholder=t("animate.modal.prompt_placeholder", locale),
            default=prefill[:MAX_PROMPT_CHARS] or None,
            required=True,
            max_length=MAX_PROMPT_CHARS,
        )
        self.add_item(self.prompt)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        request = parse_request({**self.fields, "prompt": self.prompt.value})
        await launch(
            self.engine,
            interaction,
            request,
            profile=self.profile,
            images=[self.image],
            agreed=self.agreed,
            once_key=self.once_key,
        )

    async def on_error(self, interaction: discord.Interaction, error: Exception) -> None:  # type: ignore[override]
        await respond_error(interaction, error)


class AnimateCog(commands.Cog):
    def __init__(self, bot: commands.Bot, engine: Engine) -> None:
        self.bot = bot
        self.engine = engine
        self.menu = app_commands.ContextMenu(name=L("cmd.animate.name"), callback=self.animate)
        self.menu.guild_only = True

    async def cog_load(self) -> None:
        self.bot.tree.add_command(self.menu)

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self.menu.name, type=self.menu.type)

    async def animate(self, interaction: discord.Interaction, message: discord.Message) -> None:
        if interaction.guild_id is None:
            raise UserError("errors.guild_only_menu")
        image = find_image(message)
        await require_allowed(self.engine, interaction)
        # Price and credits now (the prompt does not change them), before the member types anything.
        where = await self.engine.admission.pick(Kind.IMAGE, interaction.guild_id)
        fields = request_fields(
            where, Kind.IMAGE, prompt="animate", duration=None, aspect=None, resolution=None, options={}
        )
        fields["image_url"] = image.url
        quote = await self.engine.admission.quote(parse_request(fields), interaction.guild_id, where.profile)
        await self.engine.admission.precheck(interaction.guild_id, interaction.user.id, quote)

        async def open_form(answer: discord.Interaction, agreed: int, once_key: str | None) -> None:
            modal = AnimateModal(
                self.engine,
                quote.profile,
                fields,
                image,
                message.content,
                answer.locale,
                agreed=agreed,
                once_key=once_key,
            )
            await answer.response.send_modal(modal)

        await confirm.form_first(self.engine, interaction, quote, open_form)  # an expensive one asks first
