"""The ``app_commands.Translator``: command, option and choice names and descriptions in zh-CN.

Every piece of command metadata is declared as ``L("cmd.sora.description")`` — a ``locale_str``
whose default text is the en-US catalog entry and whose ``key`` extra names the catalog entry; the
translator answers with the zh-CN entry when Discord asks for ``zh-CN`` and with nothing (Discord
then shows the default) for every other locale.
"""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands

from bot.i18n import EN, ZH, catalog, t


def L(key: str, /, **params: Any) -> app_commands.locale_str:
    """Command metadata: the en-US text for ``key`` as the default, ``key`` (and params) as extras."""
    return app_commands.locale_str(t(key, EN, **params), key=key, params=params)


class SoraTranslator(app_commands.Translator):
    async def translate(
        self,
        string: app_commands.locale_str,
        locale: discord.Locale,
        context: app_commands.TranslationContextTypes,
    ) -> str | None:
        key = string.extras.get("key")
        if not isinstance(key, str) or locale.value != ZH or key not in catalog(ZH):
            return None
        params = string.extras.get("params") or {}
        return t(key, ZH, **params)
