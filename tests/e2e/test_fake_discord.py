"""Tests of the fake Discord itself, driven by the real discord.py client.

A tiny bot (``/ping`` defers then edits, ``/hello`` answers at once, ``/slow`` defers and keeps the
interaction for the test) logs in, connects to the fake gateway and syncs its commands; each test
then plays a member and checks what Discord would have answered and what a member would see.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import discord
import pytest
from discord import app_commands
from discord.ext import commands

from tests.fakes.discord import FakeDiscord, FakeInteraction, MessageFlag, Perm
from tests.fakes.discord.validate import check_request

CALLBACK = "/interactions/{interaction_id}/{interaction_token}/callback"
ORIGINAL = "/webhooks/{webhook_id}/{webhook_token}/messages/@original"
CHANNEL_MESSAGES = "/channels/{channel_id}/messages"
GUILD_COMMANDS = "/applications/{application_id}/guilds/{guild_id}/commands"


class NameModal(discord.ui.Modal, title="Your name"):
    name: discord.ui.TextInput[NameModal] = discord.ui.TextInput(label="Name", custom_id="tiny:name")

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"hi {self.name.value}", ephemeral=True)
        await interaction.followup.send("and a followup")


class PanelView(discord.ui.View):
    @discord.ui.button(label="Open", custom_id="tiny:open")
    async def open(self, interaction: discord.Interaction, button: discord.ui.Button[PanelView]) -> None:
        await interaction.response.send_modal(NameModal())


class TinyBot(commands.Bot):
    """Just enough bot to exercise the fake: a few guild commands, errors kept for assertions."""

    def __init__(self, guild_id: int) -> None:
        super().__init__(command_prefix=commands.when_mentioned, intents=discord.Intents.default())
        self.guild_id = guild_id
        self.hello_delay = 0.0
        self.errors: list[BaseException] = []
        self.kept: list[discord.Interaction] = []

    async def setup_hook(self) -> None:
        guild = discord.Object(self.guild_id)

        @app_commands.command(name="ping", description="Defer, then edit the original response")
        async def ping(interaction: discord.Interaction) -> None:
            await interaction.response.defer()
            await interaction.edit_original_response(content="pong")

        @app_commands.command(name="hello", description="Answer without deferring")
        @app_commands.describe(name="Who to greet")
        async def hello(interaction: discord.Interaction, name: str = "world") -> None:
            await asyncio.sleep(self.hello_delay)
            await interaction.response.send_message(f"hello {name}")

        @app_commands.command(name="slow", description="Defer and leave the rest to the test")
        async def slow(interaction: discord.Interaction) -> None:
            await interaction.response.defer(ephemeral=True)
            self.kept.append(interaction)

        @app_commands.command(name="panel", description="Post a message with a button")
        async def panel(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("panel", view=PanelView())

        async def echo(interaction: discord.Interaction, message: discord.Message) -> None:
            names = ", ".join(a.filename for a in message.attachments)
            await interaction.response.send_message(f"{message.author.name} said {message.content} [{names}]")

        @app_commands.command(name="quiet", description="Never answers: the test answers by hand")
        async def quiet(interaction: discord.Interaction) -> None:
            return None

        slash: list[app_commands.Command[Any, ..., None]] = [ping, hello, slow, panel, quiet]
        for command in slash:
            self.tree.add_command(command, guild=guild)
        self.tree.add_command(app_commands.ContextMenu(name="Echo", callback=echo), guild=guild)
        self.tree.error(self._on_app_command_error)
        await self.tree.sync(guild=guild)

    async def _on_app_command_error(self, interaction: discord.Interaction, error: Exception) -> None:
        self.errors.append(getattr(error, "original", error))


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as server:
        yield server


@pytest.fixture
async def bot(fake: FakeDiscord) -> AsyncIterator[TinyBot]:
    async with fake.run_bot(TinyBot(fake.guild.id)) as running:
        assert isinstance(running, TinyBot)
        yield running


async def wait_until(condition: Callable[[], object], timeout: float = 5.0) -> None:  # noqa: ASYNC109
    """Poll a condition on discord.py's side (its caches/errors have no event to await)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"condition still false after {timeout}s")
        await asyncio.sleep(0.01)


async def test_login_gateway_and_guild_create(fake: FakeDiscord, bot: TinyBot) -> None:
    guild = bot.get_guild(fake.guild.id)
    assert guild is not None and guild.name == "Soracord Studio"
    channel = guild.get_channel(fake.channel.id)
    assert isinstance(channel, discord.TextChannel)
    me = channel.permissions_for(guild.me)
    assert me.send_messages and me.embed_links and me.attach_files
    assert bot.user is not None and bot.user.id == fake.bot_user.id
    assert bot.application_id == fake.application_id
    routes = [(q.method, q.route) for q in fake.requests]
    assert ("GET", "/users/@me") in routes and ("GET", "/oauth2/applications/@me") in routes
    assert fake.gateway_connects[0]["compress"] == "zlib-stream"  # frames were zlib-stream
    identify = next(f for f in fake.gateway_frames if f.direction == "in" and f.op == 2)
    assert identify.d["intents"] == discord.Intents.default().value
    fake.assert_no_violations()


async def test_commands_synced_and_validated(fake: FakeDiscord, bot: TinyBot) -> None:
    (sync,) = fake.requests_to(GUILD_COMMANDS, "PUT")
    assert sync.status == 200
    assert {c["name"] for c in fake.commands(fake.guild.id)} == {
        "ping",
        "hello",
        "slow",
        "panel",
        "quiet",
        "Echo",
    }
    assert fake.commands() == []
    fake.assert_no_violations()
    with pytest.raises(LookupError, match="not synced"):
        await fake.invoke_slash("missing")


async def test_ping_defers_with_response_then_edits_original(fake: FakeDiscord, bot: TinyBot) -> None:
    handle = await fake.invoke_slash("ping")
    assert isinstance(handle, FakeInteraction) and handle.token and handle.created_at > 0
    message = await fake.wait_for_message(lambda m: m.interaction_id == handle.id and m.content == "pong")
    assert not message.loading and not message.ephemeral
    assert fake.original_message(handle) is message
    assert message.data["interaction_metadata"]["name"] == "ping"
    callback = fake.requests_to(CALLBACK)[0]
    assert callback.query["with_response"] == "1" and callback.status == 200
    assert callback.json == {"type": 5}
    assert callback.response["interaction"]["response_message_loading"] is True
    (edit,) = fake.requests_to(ORIGINAL, "PATCH")
    assert edit.status == 200 and edit.json["content"] == "pong"
    assert handle.ack_latency is not None and handle.ack_latency < fake.ack_deadline
    fake.assert_no_violations()


async def test_hello_answers_without_deferring(fake: FakeDiscord, bot: TinyBot) -> None:
    handle = await fake.invoke_slash("hello", {"name": "alice"})
    await fake.wait_for_ack(handle)
    message = fake.original_message(handle)
    assert message.content == "hello alice" and message.data["type"] == 20
    callback = fake.requests_to(CALLBACK)[0]
    assert callback.response["resource"]["message"]["content"] == "hello alice"
    fake.assert_no_violations()


async def test_late_ack_is_unknown_interaction(fake: FakeDiscord, bot: TinyBot) -> None:
    fake.ack_deadline = 0.05
    bot.hello_delay = 0.2
    handle = await fake.invoke_slash("hello")
    request = await fake.wait_for_request(lambda q: q.route == CALLBACK)
    assert request.status == 404 and request.error_code == 10062
    await wait_until(lambda: bot.errors)
    assert isinstance(bot.errors[0], discord.NotFound) and bot.errors[0].code == 10062
    assert not handle.acked


async def test_second_ack_is_rejected(fake: FakeDiscord, bot: TinyBot) -> None:
    handle = await fake.invoke_slash("slow")
    await wait_until(lambda: bot.kept)
    interaction = bot.kept[0]
    interaction.response._response_type = None  # let discord.py try to answer twice
    with pytest.raises(discord.HTTPException) as caught:
        await interaction.response.send_message("again")
    assert caught.value.status == 400 and caught.value.code == 40060
    assert handle.response_type == 5


async def test_edit_after_token_ttl_is_invalid_webhook_token(fake: FakeDiscord, bot: TinyBot) -> None:
    handle = await fake.invoke_slash("slow")
    await wait_until(lambda: bot.kept)
    interaction = bot.kept[0]
    await interaction.edit_original_response(content="still in time")
    assert fake.original_message(handle).content == "still in time"
    assert fake.original_message(handle).flags & MessageFlag.EPHEMERAL
    fake.age_interaction(handle, fake.token_ttl + 1)
    with pytest.raises(discord.HTTPException) as caught:
        await interaction.edit_original_response(content="too late")
    assert caught.value.status == 401 and caught.value.code == 50027
    assert fake.original_message(handle).content == "still in time"


async def test_scripted_429_is_retried_on_webhook_and_bot_routes(fake: FakeDiscord, bot: TinyBot) -> None:
    fake.rate_limit(ORIGINAL, method="PATCH", times=2, retry_after=0.05)
    handle = await fake.invoke_slash("ping")
    await fake.wait_for_message(lambda m: m.interaction_id == handle.id and m.content == "pong")
    assert [q.status for q in fake.requests_to(ORIGINAL, "PATCH")] == [429, 429, 200]

    fake.rate_limit(CHANNEL_MESSAGES, method="POST", times=1, retry_after=0.05)
    channel = bot.get_channel(fake.channel.id)
    assert isinstance(channel, discord.TextChannel)
    sent = await channel.send("after a 429")
    assert [q.status for q in fake.requests_to(CHANNEL_MESSAGES, "POST")] == [429, 200]
    assert fake.message(fake.channel.id, sent.id).content == "after a 429"
    fake.assert_no_violations()


async def test_invalid_payload_is_recorded_and_rejected(fake: FakeDiscord, bot: TinyBot) -> None:
    channel = bot.get_channel(fake.channel.id)
    assert isinstance(channel, discord.TextChannel)
    with pytest.raises(discord.HTTPException) as caught:
        await channel.send("x" * 2001)
    assert caught.value.status == 400 and caught.value.code == 50035
    assert [v.field for v in fake.violations] == ["content"]
    with pytest.raises(AssertionError, match="content must be 2000 or fewer"):
        fake.assert_no_violations()
    too_many = [discord.Embed(title=str(i)) for i in range(3)] + [discord.Embed(description="d" * 4097)]
    with pytest.raises(discord.HTTPException):
        await channel.send(embeds=too_many)
    assert any(v.field == "embeds.3.description" for v in fake.violations)
    fake.violations.clear()


async def test_an_enforced_nonce_answers_with_the_message_it_made(fake: FakeDiscord, bot: TinyBot) -> None:
    """Create Message with ``nonce`` + ``enforce_nonce``: a repeat within the window returns the first
    message and makes none; without ``enforce_nonce`` the nonce is only echoed; over 25 characters
    is refused (the spec's limit)."""
    channel = bot.get_channel(fake.channel.id)
    assert isinstance(channel, discord.TextChannel)
    first = await channel.send("once", nonce="result-1")  # discord.py sends enforce_nonce: true
    again = await channel.send("once more", nonce="result-1")
    assert again.id == first.id and again.content == "once" and again.nonce == "result-1"
    assert [m.content for m in fake.channel_messages(fake.channel.id)].count("once") == 1
    assert "once more" not in [m.content for m in fake.channel_messages(fake.channel.id)]
    assert fake.nonces.repeats == ["result-1"]
    posted = fake.requests_to(CHANNEL_MESSAGES, "POST")
    assert [q.json["enforce_nonce"] for q in posted[-2:]] == [True, True]
    assert "nonce" not in fake.message(fake.channel.id, first.id).data  # a later read does not carry it

    fake.nonces.forget()  # the window has passed: the same nonce makes a new message
    later = await channel.send("after the window", nonce="result-1")
    assert later.id != first.id

    auth = {"Authorization": f"Bot {fake.token}"}
    url = f"{fake.api_base}/channels/{fake.channel.id}/messages"
    async with aiohttp.ClientSession(headers=auth) as http:
        for _ in range(2):
            async with http.post(url, json={"content": "echo", "nonce": "plain"}) as response:
                assert response.status == 200 and (await response.json())["nonce"] == "plain"
        async with http.post(
            url, json={"content": "long", "nonce": "n" * 26, "enforce_nonce": True}
        ) as response:
            assert response.status == 400 and (await response.json())["code"] == 50035
    assert [m.content for m in fake.channel_messages(fake.channel.id)].count("echo") == 2
    assert [v.field for v in fake.violations] == ["nonce"]
    fake.violations.clear()


async def test_permissions_uploads_and_multipart(fake: FakeDiscord, bot: TinyBot) -> None:
    channel = bot.get_channel(fake.channel.id)
    assert isinstance(channel, discord.TextChannel)
    sent = await channel.send("video", file=discord.File(io.BytesIO(b"\0" * 1024), "clip.mp4"))
    upload = fake.requests_to(CHANNEL_MESSAGES, "POST")[-1]
    assert upload.json["attachments"] == [{"id": 0, "filename": "clip.mp4"}]
    assert [(f.field, f.filename, f.size) for f in upload.files] == [("files[0]", "clip.mp4", 1024)]
    stored = fake.message(fake.channel.id, sent.id)
    assert stored.attachments[0]["content_type"] == "video/mp4" and stored.attachments[0]["size"] == 1024

    fake.set_upload_limit(fake.guild.id, 512)
    with pytest.raises(discord.HTTPException) as too_big:
        await channel.send(file=discord.File(io.BytesIO(b"\0" * 1024), "clip.mp4"))
    assert too_big.value.status == 413 and too_big.value.code == 40005

    await fake.deny_bot(fake.channel.id, Perm.SEND_MESSAGES)
    await wait_until(lambda: not channel.permissions_for(channel.guild.me).send_messages)
    with pytest.raises(discord.Forbidden) as denied:
        await channel.send("nope")
    assert denied.value.code == 50013
    handle = await fake.invoke_slash("hello")
    assert not int(handle.payload["app_permissions"]) & Perm.SEND_MESSAGES
    await fake.wait_for_ack(handle)  # interaction responses do not need SEND_MESSAGES
    fake.assert_no_violations()


async def test_member_deletes_message_and_unknown_routes(fake: FakeDiscord, bot: TinyBot) -> None:
    handle = await fake.invoke_slash("hello")
    await fake.wait_for_ack(handle)
    original = fake.original_message(handle)
    await fake.delete_message(fake.channel.id, original.id)
    channel = bot.get_channel(fake.channel.id)
    assert isinstance(channel, discord.TextChannel)
    with pytest.raises(discord.NotFound) as gone:
        await channel.fetch_message(original.id)
    assert gone.value.code == 10008
    with pytest.raises(discord.NotFound):
        await bot.fetch_guild(fake.guild.id)  # not implemented by the fake: 404 + violation
    assert [v.source for v in fake.violations] == ["unimplemented"]
    fake.violations.clear()


async def test_component_modal_followup_and_message_command(fake: FakeDiscord, bot: TinyBot) -> None:
    panel = await fake.invoke_slash("panel")
    await fake.wait_for_ack(panel)
    message = fake.original_message(panel)
    assert message.components[0]["components"][0]["custom_id"] == "tiny:open"

    pressed = await fake.invoke_component(message, "tiny:open")
    await fake.wait_for_ack(pressed)
    assert pressed.modal is not None and pressed.modal["title"] == "Your name"

    submitted = await fake.invoke_modal_submit(pressed, {"tiny:name": "Bob"})
    followup = await fake.wait_for_message(lambda m: m.via == "followup" and m.interaction_id == submitted.id)
    assert followup.content == "and a followup" and not followup.ephemeral
    reply = fake.original_message(submitted)
    assert reply.content == "hi Bob" and reply.ephemeral

    picture = fake.make_attachment(b"\x89PNG", "cat.png", width=1, height=1)
    posted = await fake.post_member_message("look", attachments=[picture])
    echoed = await fake.invoke_message_command("Echo", posted)
    await fake.wait_for_ack(echoed)
    assert fake.original_message(echoed).content == "alice said look [cat.png]"
    fake.assert_no_violations()


async def test_gateway_resume_replays_missed_events(fake: FakeDiscord, bot: TinyBot) -> None:
    await fake.drop_gateway(4000)
    await wait_until(lambda: any(f.t == "RESUMED" for f in fake.gateway_frames))
    assert any(f.direction == "in" and f.op == 6 for f in fake.gateway_frames)
    handle = await fake.invoke_slash("ping")
    await fake.wait_for_message(lambda m: m.interaction_id == handle.id and m.content == "pong")
    fake.assert_no_violations()


async def test_callback_protocol_by_hand(fake: FakeDiscord, bot: TinyBot) -> None:
    """What Discord answers to raw callbacks: 204 without with_response, 40060, 10015, 50035."""
    first, second = await fake.invoke_slash("quiet"), await fake.invoke_slash("quiet")
    async with aiohttp.ClientSession() as http:

        async def post(url: str, body: dict[str, Any]) -> tuple[int, Any]:
            async with http.post(fake.api_base + url, json=body) as response:
                return response.status, (await response.json() if response.status != 204 else None)

        followup = f"/webhooks/{fake.application_id}/{first.token}?wait=true"
        assert await post(followup, {"content": "too early"}) == (
            404,
            {"message": "Unknown Webhook", "code": 10015},
        )
        callback = f"/interactions/{first.id}/{first.token}/callback"
        assert await post(callback, {"type": 4, "data": {"content": "hi"}}) == (204, None)
        status, body = await post(callback, {"type": 4, "data": {"content": "again"}})
        assert (status, body["code"]) == (400, 40060)
        status, body = await post(followup, {"content": "after"})
        assert status == 200 and body["content"] == "after"

        modal = {"type": 9, "data": {"custom_id": "m", "title": "t" * 46, "components": []}}
        status, body = await post(
            f"/interactions/{second.id}/{second.token}/callback?with_response=true", modal
        )
        assert (status, body["code"]) == (400, 50035) and "title" in body["errors"]["data"]
        message = {"type": 4, "data": {"content": "ok", "flags": 64}}
        status, body = await post(
            f"/interactions/{second.id}/{second.token}/callback?with_response=true", message
        )
        assert status == 200 and body["interaction"]["response_message_ephemeral"] is True
        assert body["resource"]["message"]["content"] == "ok"

        auth = {"Authorization": f"Bot {fake.token}"}
        async with http.get(f"{fake.api_base}/channels/1", headers=auth) as response:
            assert (response.status, (await response.json())["code"]) == (404, 10003)
        async with http.get(f"{fake.api_base}/channels/{fake.channel.id}", headers=auth) as response:
            assert response.status == 200 and response.headers["Content-Type"] == "application/json"
        async with http.get(f"{fake.api_base}/channels/{fake.channel.id}") as response:
            assert response.status == 401
    assert {v.field for v in fake.violations} == {"data.title", "data.components"}
    fake.violations.clear()


def test_limits_catch_what_discord_rejects() -> None:
    commands_route = "/applications/{application_id}/guilds/{guild_id}/commands"
    bad = [
        {
            "name": "Bad Name",
            "description": "x" * 101,
            "options": [
                {"type": 3, "name": "a", "description": "d"},
                {
                    "type": 3,
                    "name": "b",
                    "description": "d",
                    "required": True,
                    "choices": [{"name": "n", "value": "v"}] * 26,
                },
            ],
        }
    ]
    messages = {p.message for p in check_request("PUT", commands_route, bad)}
    assert "name 'Bad Name' must be lowercase" in messages
    assert "required options must be placed before optional options" in messages
    assert "at most 25 choices (got 26)" in messages
    assert any("description" in m for m in messages)
    embed = {
        "title": "t",
        "fields": [{"name": "n", "value": "v" * 1025}] * 26,
        "footer": {"text": "f" * 2049},
    }
    rows = [
        {
            "type": 1,
            "components": [{"type": 2, "style": 1, "custom_id": f"b{i}", "label": "x"} for i in range(6)],
        }
    ] * 6
    found = {
        p.field for p in check_request("POST", CHANNEL_MESSAGES, {"embeds": [embed], "components": rows})
    }
    assert {"embeds.0.fields", "embeds.0.fields.0.value", "embeds.0.footer.text", "components"} <= found
    assert "components.0.components" in found  # six buttons in a row
    assert check_request("POST", CHANNEL_MESSAGES, {"content": "fine", "embeds": [{"title": "ok"}]}) == []


async def test_close_leaves_no_pending_tasks() -> None:
    async with FakeDiscord() as server:
        tiny = TinyBot(server.guild.id)
        async with server.run_bot(tiny):
            handle = await server.invoke_slash("ping")
            await server.wait_for_message(lambda m: m.interaction_id == handle.id and m.content == "pong")
        assert tiny.is_closed()
        await wait_until(lambda: not server.connections)
        with pytest.raises(RuntimeError, match="no bot is connected"):
            await server.invoke_slash("ping")
    await asyncio.sleep(0)
    pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()]
    assert pending == []
    assert discord.http.Route.BASE == "https://discord.com/api/v10"
