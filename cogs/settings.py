"""``/settings`` (Manage Server): parse, call ``ServerSettings``, show the result."""

from __future__ import annotations

import discord
from discord import app_commands

from bot.engine.engine import Engine
from bot.engine.server_settings import ServerSettings
from storage.guilds import GuildSettings

NONE = discord.AllowedMentions.none()


def is_manager(interaction: discord.Interaction) -> bool:
    return bool(interaction.permissions.manage_guild)


def describe(s: GuildSettings, engine: Engine) -> discord.Embed:
    def limit(v: int | None) -> str:
        return str(v) if v else "no limit"

    embed = discord.Embed(title="Server settings")
    embed.add_field(
        name="Provider",
        value=f"`{s.default_profile or engine.default_profile}` · model `{s.default_model or 'provider default'}`",
        inline=False,
    )
    embed.add_field(
        name="Channels", value=", ".join(f"<#{c}>" for c in s.allowed_channels) or "anywhere", inline=False
    )
    embed.add_field(
        name="Roles", value=", ".join(f"<@&{r}>" for r in s.allowed_roles) or "everyone", inline=False
    )
    embed.add_field(
        name="Limits",
        value=(
            f"in progress per member: {limit(s.max_active_per_member)} · per server: "
            f"{limit(s.max_active_per_server)} · credits per member per day: {limit(s.max_daily_spend_per_member)}"
        ),
        inline=False,
    )
    return embed


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class SettingsGroup(app_commands.Group, name="settings", description="How this server uses the bot."):
    def __init__(self, settings: ServerSettings, engine: Engine) -> None:
        super().__init__()
        self.settings = settings
        self.engine = engine

    async def _show(self, interaction: discord.Interaction, s: GuildSettings) -> None:
        await interaction.response.send_message(
            embed=describe(s, self.engine), ephemeral=True, allowed_mentions=NONE
        )

    @app_commands.command(name="show", description="Show this server's settings.")
    async def show(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None
        await self._show(interaction, await self.settings.get(interaction.guild_id))

    @app_commands.command(name="provider", description="The provider (and model) commands use by default.")
    @app_commands.describe(profile="A configured provider profile.", model="Its default model or tier.")
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
        return [app_commands.Choice(name=n, value=n) for n in self.engine.profile_names if current in n][:25]

    @provider.autocomplete("model")
    async def _models(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        profile = getattr(interaction.namespace, "profile", None)
        if profile not in self.engine.profile_names:
            return []
        models = self.engine.provider(profile).capabilities.models
        return [app_commands.Choice(name=m, value=m) for m in models if current in m][:25]

    @app_commands.command(name="channel", description="Allow or stop making videos in a channel.")
    @app_commands.describe(channel="The channel.", allow="True: videos may be made there.")
    async def channel(
        self, interaction: discord.Interaction, channel: discord.TextChannel, allow: bool = True
    ) -> None:
        assert interaction.guild_id is not None
        s = await self.settings.allow_channel(
            interaction.guild_id, channel.id, allow, is_manager=is_manager(interaction)
        )
        await self._show(interaction, s)

    @app_commands.command(name="role", description="Allow or stop a role making videos.")
    @app_commands.describe(role="The role.", allow="True: members with it may make videos.")
    async def role(self, interaction: discord.Interaction, role: discord.Role, allow: bool = True) -> None:
        assert interaction.guild_id is not None
        s = await self.settings.allow_role(
            interaction.guild_id, role.id, allow, is_manager=is_manager(interaction)
        )
        await self._show(interaction, s)

    @app_commands.command(name="open", description="Let everyone make videos in every channel again.")
    async def open(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None
        await self._show(
            interaction,
            await self.settings.open_access(interaction.guild_id, is_manager=is_manager(interaction)),
        )

    @app_commands.command(name="limits", description="Caps on videos in progress and daily spending.")
    @app_commands.describe(
        active_per_member="Videos one member may have in progress (0 = no limit).",
        active_per_server="Videos the whole server may have in progress (0 = no limit).",
        daily_spend="Credits one member may spend per day (0 = no limit).",
    )
    async def limits(
        self,
        interaction: discord.Interaction,
        active_per_member: int | None = None,
        active_per_server: int | None = None,
        daily_spend: int | None = None,
    ) -> None:
        assert interaction.guild_id is not None
        s = await self.settings.set_limits(
            interaction.guild_id,
            is_manager=is_manager(interaction),
            per_member=active_per_member,
            per_server=active_per_server,
            daily_spend=daily_spend,
        )
        await self._show(interaction, s)
