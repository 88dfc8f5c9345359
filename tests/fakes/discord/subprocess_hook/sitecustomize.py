"""Points a ``python -m bot`` started by a test at the test's ``FakeDiscord`` (tests only).

A process-level test runs the real bot as its own process; the fake Discord runs in the test. The
bot has no setting for Discord's address (production never needs one), so the test puts this folder
first on the child's ``PYTHONPATH`` and sets ``SORACORD_FAKE_DISCORD_PORT``: Python imports
``sitecustomize`` at start-up, and this one sets discord.py's REST base and default gateway to the
fake, exactly as ``tests.fakes.discord.point_discord_py_at`` does in-process. Without the variable
it does nothing.
"""

from __future__ import annotations

import os

_port = os.environ.get("SORACORD_FAKE_DISCORD_PORT")
if _port:
    import discord.gateway
    import discord.http
    import yarl

    discord.http.Route.BASE = f"http://127.0.0.1:{_port}/api/v10"
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(f"ws://127.0.0.1:{_port}/gateway/")
