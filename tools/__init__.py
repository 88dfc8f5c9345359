"""Developer tools that are not part of the bot: nothing under ``bot/``, ``cogs/`` or ``storage/``
imports from here."""
