"""The fake's forums and uploads enforce what Discord does: a post is a thread whose first message has
its id, tags are the forum's own (and required where the forum says so), editing them needs Manage
Channels and keeps to 20 tags of 20 characters; an upload's parts are ``files[n]`` and every
``attachments`` entry naming an upload has its part — checked against the spec's multipart schema."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator

import aiohttp
import discord
import pytest

from tests.e2e.test_fake_discord import TinyBot
from tests.fakes.discord import FakeDiscord
from tests.fakes.discord.payloads import Overwrite, Perm

THREADS = "/channels/{channel_id}/threads"


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as server:
        yield server


@pytest.fixture
async def bot(fake: FakeDiscord) -> AsyncIterator[TinyBot]:
    async with fake.run_bot(TinyBot(fake.guild.id)) as running:
        assert isinstance(running, TinyBot)
        yield running


async def test_a_forum_post_is_a_tagged_thread_with_its_upload(fake: FakeDiscord, bot: TinyBot) -> None:
    made = fake.rest.forums.add_forum(fake.guild.id, "showcase", tags=("Veo 3.1",))
    forum = await bot.fetch_channel(made.id)
    assert isinstance(forum, discord.ForumChannel)
    (tag,) = forum.available_tags
    posted = await forum.create_thread(
        name="A paper boat (#7)",
        content="look",
        applied_tags=[tag],
        file=discord.File(io.BytesIO(b"\0" * 64), "v.mp4"),
    )
    assert posted.thread.id == posted.message.id and posted.thread.parent_id == made.id
    ((thread, starter),) = fake.rest.forums.posts_in(made.id)
    assert thread.applied_tags == [tag.id] and starter.attachments[0]["size"] == 64
    (request,) = fake.requests_to(THREADS, "POST")
    assert request.status == 201 and [f.field for f in request.files] == ["files[0]"]
    active = await forum.guild.active_threads()
    assert [t.id for t in active] == [thread.id]
    fake.assert_no_violations()


async def test_forum_rules_are_enforced(fake: FakeDiscord, bot: TinyBot) -> None:
    strict = fake.rest.forums.add_forum(fake.guild.id, "strict", require_tag=True)
    forum = await bot.fetch_channel(strict.id)
    assert isinstance(forum, discord.ForumChannel)
    with pytest.raises(discord.HTTPException) as untagged:
        await forum.create_thread(name="no tag", content="x")
    assert untagged.value.code == 40067
    with pytest.raises(discord.Forbidden):  # tags are edited with Manage Channels only
        await forum.edit(available_tags=[discord.ForumTag(name="Veo")])
    strict.overwrites.append(Overwrite(fake.bot_user.id, 1, int(Perm.MANAGE_CHANNELS), 0))
    with pytest.raises(discord.HTTPException) as long_name:
        await forum.edit(available_tags=[discord.ForumTag(name="x" * 21)])
    assert long_name.value.code == 50035
    with pytest.raises(discord.HTTPException) as too_many:
        await forum.edit(available_tags=[discord.ForumTag(name=f"t{i}") for i in range(21)])
    assert too_many.value.code == 50035
    edited = await forum.edit(available_tags=[discord.ForumTag(name="Veo 3.1")])
    assert isinstance(edited, discord.ForumChannel) and [t.name for t in edited.available_tags] == ["Veo 3.1"]
    assert [v.field for v in fake.violations] == ["available_tags.0.name"]
    fake.violations.clear()


async def test_upload_parts_are_checked(fake: FakeDiscord, bot: TinyBot) -> None:
    url = f"{fake.api_base}/channels/{fake.channel.id}/messages"
    auth = {"Authorization": f"Bot {fake.token}"}

    def form(payload: dict[str, object], *parts: str) -> aiohttp.FormData:
        data = aiohttp.FormData()
        data.add_field("payload_json", json.dumps(payload), content_type="application/json")
        for name in parts:
            data.add_field(name, b"\0" * 8, filename="a.bin", content_type="application/octet-stream")
        return data

    async with aiohttp.ClientSession(headers=auth) as http:
        good = {"content": "ok", "attachments": [{"id": 0, "filename": "a.bin"}]}
        async with http.post(url, data=form(good, "files[0]")) as answer:
            assert answer.status == 200
        async with http.post(url, data=form({"content": "x"}, "file")) as answer:
            assert answer.status == 400  # Discord reads only files[n]
        missing = {"content": "x", "attachments": [{"id": 1, "filename": "b.bin"}]}
        async with http.post(url, data=form(missing, "files[0]")) as answer:
            assert answer.status == 400
    assert [(v.field, v.source) for v in fake.violations] == [
        ("file", "multipart"),
        ("attachments.0.id", "multipart"),
    ]
    fake.violations.clear()
