"""``/settings`` (Manage Server): parse, call ``ServerSettings``, show the result."""

from __future__ import annotations

import discord
from discord import app_commands

from bot.engine import confirm
from bot.engine.engine import Engine
from bot.engine.server_settings import ServerSettings
from bot.i18n import t
from bot.providers.base import Kind
from cogs.launch import is_manager
from cogs.translator import L
from storage.guilds import GuildSettings

NONE = discord.AllowedMentions.none()
KINDS: list[app_commands.Choice[str]] = [
    app_commands.Choice(name=L(f"job.kind.{k.value}"), value=k.value) for k in Kind
]
CARD, MESSAGE = "card", "message"  # /settings delivery: the card becomes the result, or a message of its own
STYLES = [app_commands.Choice(name=L(f"settings.style.{v}"), value=v) for v in (CARD, MESSAGE)]


class GalleryChannel(app_commands.Transformer):
    """A text, announcement or forum channel. (discord.py offers media channels with forums; the
    spec Discord publishes for options has no media type, and a gallery needs none.)"""

    @property
    def type(self) -> discord.AppCommandOptionType:
        return discord.AppCommandOptionType.channel

    @property
    def channel_types(self) -> list[discord.ChannelType]:
        return [discord.ChannelType.text, discord.ChannelType.news, discord.ChannelType.forum]

    async def transform(
        self, interaction: discord.Interaction, value: object
    ) -> app_commands.AppCommandChannel:
        assert isinstance(value, app_commands.AppCommandChannel)
        return value


def confirm_words(s: GuildSettings, engine: Engine, locale: object = None) -> str:
    """The price above which a job asks first, saying when it is the bot's default."""
    above = confirm.threshold(s, engine.admission.confirm_default)
    if not above:
        return t("settings.confirm_never", locale)
    words = t("settings.confirm_value", locale, cost=above)
    return words + (t("settings.confirm_default", locale) if s.confirm_above is None else "")


def describe(s: GuildSettings, engine: Engine, locale: object = None) -> discord.Embed:
    def limit(v: int | None) -> str:
        return str(v) if v else t("settings.no_limit", locale)

    embed = discord.Embed(title=t("settings.title", locale))
    embed.add_field(
        name=t("settings.provider", locale),
        value=t(
            "settings.provider_value",
            locale,
            profile=s.default_profile or engine.catalog.default_profile,
            model=s.default_model or t("settings.provider_default", locale),
        ),
        inline=False,
    )
    embed.add_field(
        name=t("settings.channels", locale),
        value=", ".join(f"<#{c}>" for c in s.allowed_channels) or t("settings.anywhere", locale),
        inline=False,
    )
    embed.add_field(
        name=t("settings.roles", locale),
        value=", ".join(f"<@&{r}>" for r in s.allowed_roles) or t("settings.everyone", locale),
        inline=False,
    )
    chains = [
        f"{t(f'job.kind.{kind}', locale)}: {' → '.join(names)}" for kind, names in sorted(s.fallbacks.items())
    ]
    embed.add_field(
        name=t("settings.fallbacks", locale),
        value="\n".join(chains) or t("settings.no_fallbacks", locale),
        inline=False,
    )
    embed.add_field(
        name=t("settings.admin_channel", locale),
        value=f"<#{s.admin_channel_id}>" if s.admin_channel_id else t("settings.system_channel", locale),
        inline=False,
    )
    embed.add_field(
        name=t("settings.limits", locale),
        value=t(
            "settings.limits_value",
            locale,
            member=limit(s.max_active_per_member),
            server=limit(s.max_active_per_server),
            daily=limit(s.max_daily_spend_per_member),
        ),
        inline=False,
    )
    embed.add_field(name=t("settings.confirm", locale), value=confirm_words(s, engine, locale), inline=False)
    embed.add_field(
        name=t("settings.gallery", locale),
        value=f"<#{s.gallery_channel_id}>" if s.gallery_channel_id else t("settings.no_gallery", locale),
        inline=False,
    )
    embed.add_field(
        name=t("settings.delivery", locale),
        value=t("settings.delivery_card" if s.result_in_card else "settings.delivery_message", locale),
        inline=False,
    )
    return embed


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class SettingsGroup(
    app_commands.Group, name=L("cmd.settings.name"), description=L("cmd.settings.description")
):
    def __init__(self, settings: ServerSettings, engine: Engine) -> None:
        super().__init__()
        self.settings = settings
        self.engine = engine

    async def _show(self, interaction: discord.Interaction, s: GuildSettings) -> None:
        await interaction.response.send_message(
            embed=describe(s, self.engine, interaction.locale), ephemeral=True, allowed_mentions=NONE
        )

    @app_commands.command(name=L("cmd.settings.show.name"), description=L("cmd.settings.show.description"))
    async def show(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None
        await self._show(
            interaction, await self.settings.get(interaction.guild_id, is_manager=is_manager(interaction))
        )

    @app_commands.command(
        name=L("cmd.settings.provider.name"), description=L("cmd.settings.provider.description")
    )
    @app_commands.rename(profile=L("opt.profile.name"), model=L("opt.model.name"))
    @app_commands.describe(
        profile=L("cmd.settings.provider.opt.profile"), model=L("cmd.settings.provider.opt.model")
    )
    async def provider(
        self, interaction: discord.Interaction, profile: str, model: str | None = None
    ) -> None:
        assert interaction.guild_id is not None
        s = await self.settings.set_provider(
            interaction.guild_id, profile, model, is_manager=is_manager(interaction)
        )
        await self._show(interaction, s)

    @provider.autocomplete("profile")
    async def _profiles(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return [
            app_commands.Choice(name=n, value=n) for n in self.engine.catalog.profile_names if current in n
        ][:25]

    @provider.autocomplete("model")
    async def _models(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        profile = getattr(interaction.namespace, "profile", None)
        if profile not in self.engine.catalog.profile_names:
            return []
        models = self.engine.catalog.provider(profile).capabilities.live_models
        return [app_commands.Choice(name=m, value=m) for m in models if current in m][:25]

    @app_commands.command(
        name=L("cmd.settings.channel.name"), description=L("cmd.settings.channel.description")
    )
    @app_commands.rename(channel=L("opt.channel.name"), allow=L("opt.allow.name"))
    @app_commands.describe(
        channel=L("cmd.settings.channel.opt.channel"), allow=L("cmd.settings.channel.opt.allow")
    )
    async def channel(
        self, interaction: discord.Interaction, channel: discord.TextChannel, allow: bool = True
    ) -> None:
        assert interaction.guild_id is not None
        s = await self.settings.allow_channel(
            interaction.guild_id, channel.id, allow, is_manager=is_manager(interaction)
        )
        await self._show(interaction, s)

    @app_commands.command(name=L("cmd.settings.role.name"), description=L("cmd.settings.role.description"))
    @app_commands.rename(role=L("opt.role.name"), allow=L("opt.allow.name"))
    @app_commands.describe(role=L("cmd.settings.role.opt.role"), allow=L("cmd.settings.role.opt.allow"))
    async def role(self, interaction: discord.Interaction, role: discord.Role, allow: bool = True) -> None:
        assert interaction.guild_id is not None
        s = await self.settings.allow_role(
            interaction.guild_id, role.id, allow, is_manager=is_manager(interaction)
        )
        await self._show(interaction, s)

    @app_commands.command(name=L("cmd.settings.open.name"), description=L("cmd.settings.open.description"))
    async def open(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None
        await self._show(
            interaction,
            await self.settings.open_access(interaction.guild_id, is_manager=is_manager(interaction)),
        )

    @app_commands.command(
        name=L("cmd.settings.limits.name"), description=L("cmd.settings.limits.description")
    )
    @app_commands.rename(
        active_per_member=L("opt.active_per_member.name"),
        active_per_server=L("opt.active_per_server.name"),
        daily_spend=L("opt.daily_spend.name"),
        confirm_above=L("opt.confirm_above.name"),
    )
    @app_commands.describe(
        active_per_member=L("cmd.settings.limits.opt.active_per_member"),
        active_per_server=L("cmd.settings.limits.opt.active_per_server"),
        daily_spend=L("cmd.settings.limits.opt.daily_spend"),
        confirm_above=L("cmd.settings.limits.opt.confirm_above"),
    )
    async def limits(
        self,
        interaction: discord.Interaction,
        active_per_member: int | None = None,
        active_per_server: int | None = None,
        daily_spend: int | None = None,
        confirm_above: int | None = None,
    ) -> None:
        assert interaction.guild_id is not None
        s = await self.settings.set_limits(
            interaction.guild_id,
            is_manager=is_manager(interaction),
            per_member=active_per_member,
            per_server=active_per_server,
            daily_spend=daily_spend,
            confirm_above=confirm_above,
        )
        await self._show(interaction, s)

    @app_commands.command(
        name=L("cmd.settings.fallback.name"), description=L("cmd.settings.fallback.description")
    )
    @app_commands.rename(kind=L("opt.kind.name"), profiles=L("opt.profiles.name"))
    @app_commands.describe(
        kind=L("cmd.settings.fallback.opt.kind"), profiles=L("cmd.settings.fallback.opt.profiles")
    )
    @app_commands.choices(kind=KINDS)
    async def fallback(
        self, interaction: discord.Interaction, kind: str, profiles: str | None = None
    ) -> None:
        assert interaction.guild_id is not None
        names = [n for n in (profiles or "").replace(",", " ").split() if n]
        s = await self.settings.set_fallback(
            interaction.guild_id, Kind(kind), names, is_manager=is_manager(interaction)
        )
        await self._show(interaction, s)

    @app_commands.command(
        name=L("cmd.settings.admin_channel.name"), description=L("cmd.settings.admin_channel.description")
    )
    @app_commands.rename(channel=L("opt.channel.name"))
    @app_commands.describe(channel=L("cmd.settings.admin_channel.opt.channel"))
    async def admin_channel(
        self, interaction: discord.Interaction, channel: discord.TextChannel | None = None
    ) -> None:
        assert interaction.guild_id is not None
        s = await self.settings.set_admin_channel(
            interaction.guild_id, channel.id if channel else None, is_manager=is_manager(interaction)
        )
        await self._show(interaction, s)

    @app_commands.command(
        name=L("cmd.settings.gallery.name"), description=L("cmd.settings.gallery.description")
    )
    @app_commands.rename(channel=L("opt.channel.name"))
    @app_commands.describe(channel=L("cmd.settings.gallery.opt.channel"))
    async def gallery(
        self,
        interaction: discord.Interaction,
        channel: app_commands.Transform[app_commands.AppCommandChannel, GalleryChannel] | None = None,
    ) -> None:
        assert interaction.guild_id is not None
        s = await self.settings.set_gallery(
            interaction.guild_id, channel.id if channel else None, is_manager=is_manager(interaction)
        )
        await self._show(interaction, s)

    @app_commands.command(
        name=L("cmd.settings.delivery.name"), description=L("cmd.settings.delivery.description")
    )
    @app_commands.rename(style=L("opt.style.name"))
    @app_commands.describe(style=L("cmd.settings.delivery.opt.style"))
    @app_commands.choices(style=STYLES)
    async def delivery(self, interaction: discord.Interaction, style: str) -> None:
        assert interaction.guild_id is not None
        s = await self.settings.set_result_in_card(
            interaction.guild_id, style == CARD, is_manager=is_manager(interaction)
        )
        await self._show(interaction, s)
