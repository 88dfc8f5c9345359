"""Two languages through the fake Discord: zh-CN command metadata, and a zh-CN member's errors,
progress and result in Chinese, while an en-US member's stay exactly as they were."""

from __future__ import annotations

import re
from typing import Any

from storage import jobs
from tests.e2e.conftest import Stack
from tests.e2e.test_images import MP4_HEAD, ephemeral_reply
from tests.fakes.discord import FakeDiscord, FakeInteraction, StoredMessage
from tests.fakes.nanophoto import TaskScript

PROMPT = "A paper boat drifting down a rainy street, macro lens"
ZH = "zh-CN"
HAN = re.compile(r"[\u4e00-\u9fff]")


def chinese(text: str) -> bool:
    return bool(HAN.search(text))


def field(message: StoredMessage, name: str) -> str:
    embed = message.embeds[0]
    return next(f["value"] for f in embed.get("fields", []) if f["name"] == name)


async def assert_nothing_charged(stack: Stack) -> None:
    assert await jobs.count(stack.db) == 0
    rows = await stack.db.fetchall("SELECT kind FROM ledger_entries WHERE job_id IS NOT NULL")
    assert rows == []
    assert stack.vendor.requests == []
    assert await stack.balance() == 10


async def refused(fake: FakeDiscord, handle: FakeInteraction) -> str:
    await fake.wait_for_ack(handle)
    reply = fake.original_message(handle)
    assert reply.ephemeral, "errors are shown only to the member who ran the command"
    return reply.content


def walk(command: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every localizable thing in a synced command: itself, its options (nested) and choices."""
    out: list[tuple[str, dict[str, Any]]] = [(command["name"], command)]
    for option in command.get("options") or []:
        out.extend((f"{command['name']} {p}", o) for p, o in walk(option))
        for choice in option.get("choices") or []:
            out.append((f"{command['name']} {option['name']}={choice['value']}", choice))
    return out


async def test_synced_commands_carry_zh_cn_names_and_descriptions(stack: Stack) -> None:
    synced = stack.discord.commands(stack.guild_id)
    assert {c["name"] for c in synced} >= {"sora", "tvc", "storyboard", "jobs", "credits", "settings"}
    missing = []
    for command in synced:
        for path, item in walk(command):
            names = item.get("name_localizations") or {}
            if not names.get(ZH):
                missing.append(f"{path}: name")
            is_choice = "value" in item and "type" not in item
            if command["type"] == 1 and not is_choice:  # menus and choices have no description
                descriptions = item.get("description_localizations") or {}
                if not descriptions.get(ZH):
                    missing.append(f"{path}: description")
    assert missing == []
    sora = next(c for c in synced if c["name"] == "sora")
    assert chinese(sora["description_localizations"][ZH])
    options = {o["name"]: o for o in sora["options"]}
    assert options["prompt"]["name_localizations"][ZH] == "提示词"
    assert [c["name_localizations"][ZH] for c in options["orientation"]["choices"]] == ["竖屏", "横屏"]
    menu = next(c for c in synced if c["type"] == 3)
    assert menu["name"] == "Animate" and chinese(menu["name_localizations"][ZH])
    # Only zh-CN is offered: other locales fall back to the default (en-US) texts.
    assert set(sora["name_localizations"]) == {ZH}
    stack.discord.assert_no_violations()  # Discord's name rule and length limits, per locale


async def test_zh_cn_blank_prompt_is_refused_in_chinese(stack: Stack) -> None:
    await stack.grant(10)
    text = await refused(
        stack.discord, await stack.discord.invoke_slash("sora", {"prompt": "   "}, locale=ZH)
    )
    assert chinese(text) and "`prompt`" in text and "提示词" in text and "2000" in text, text
    assert "Allowed" not in text
    await assert_nothing_charged(stack)


async def test_zh_cn_unknown_model_is_refused_in_chinese_naming_the_models(stack: Stack) -> None:
    await stack.grant(10)
    handle = await stack.discord.invoke_slash("sora", {"prompt": PROMPT, "model": "sora3-ultra"}, locale=ZH)
    text = await refused(stack.discord, handle)
    assert chinese(text) and "`model`" in text and "`sora3-ultra`" in text, text
    assert "Sora 2, Sora 2 Pro, Sora 2 Pro High" in text  # the names stay literal
    await assert_nothing_charged(stack)


async def test_zh_cn_non_image_attachment_is_refused_in_chinese(stack: Stack) -> None:
    await stack.grant(10)
    fake = stack.discord
    pdf = fake.make_attachment(b"%PDF-1.7\n", "brief.pdf", content_type="application/pdf")
    text = await refused(fake, await fake.invoke_slash("sora", {"prompt": PROMPT, "image": pdf}, locale=ZH))
    assert chinese(text) and "`brief.pdf`" in text and "PNG" in text, text
    await assert_nothing_charged(stack)


async def test_zh_cn_image_bytes_refused_after_deferring_in_chinese(stack: Stack) -> None:
    await stack.grant(10)
    fake = stack.discord
    video = fake.make_attachment(MP4_HEAD, "cat.png", width=64, height=48)
    handle = await fake.invoke_slash("sora", {"prompt": PROMPT, "image": video}, locale=ZH)
    await fake.wait_for_ack(handle)
    reply = await ephemeral_reply(fake, handle)
    assert chinese(reply.content) and "`cat.png`" in reply.content and "MP4" in reply.content, reply.content
    assert "video" not in reply.content
    await assert_nothing_charged(stack)


async def test_zh_cn_not_enough_credits_in_chinese(stack: Stack) -> None:
    await stack.grant(3)
    text = await refused(
        stack.discord, await stack.discord.invoke_slash("sora", {"prompt": PROMPT}, locale=ZH)
    )
    assert chinese(text) and "4" in text and "3" in text, text
    assert await jobs.count(stack.db) == 0 and await stack.balance() == 3


async def test_zh_cn_progress_and_result_are_in_chinese(stack: Stack) -> None:
    await stack.grant(10)
    stack.vendor.script_next(TaskScript(stages=("queuing", "generating"), advance="time", stage_seconds=0.1))
    fake = stack.discord
    handle = await fake.invoke_slash("sora", {"prompt": PROMPT}, locale=ZH)
    row = await stack.settle(handle)
    assert row.state == "succeeded" and row.locale == ZH
    original = fake.original_message(handle)
    embed = original.embeds[0]
    assert embed["title"] == "文字生成视频"
    assert [f["name"] for f in embed["fields"][:4]] == ["状态", "模型", "费用", "用时"]
    assert field(original, "状态") == "✅ 你的视频已生成"
    assert field(original, "费用") == "已花费 4 积分"
    assert embed["footer"]["text"].startswith(f"任务 #{row.id}")
    progress = [e.body["embeds"][0]["fields"][0]["value"] for e in original.edits if e.body.get("embeds")]
    assert progress and all(chinese(s) for s in progress), progress
    (result,) = fake.answers(handle)
    assert f"<@{stack.member_id}> 你的视频已生成（任务 #{row.id} · Sora 2）" in result.content
    labels = [c["label"] for row_ in result.data["components"] for c in row_["components"]]
    assert labels == ["再来一次", "变体", "详情"]
    fake.assert_no_violations()


async def test_zh_cn_failure_is_explained_in_chinese(stack: Stack) -> None:
    await stack.grant(10)
    stack.vendor.script_next(TaskScript(outcome="failed"))
    handle = await stack.discord.invoke_slash("sora", {"prompt": PROMPT}, locale=ZH)
    row = await stack.settle(handle)
    status = field(stack.discord.original_message(handle), "状态")
    # One sentence: what happened, the credits, what to try next — no vendor message nested in it.
    assert status == "❌ Sora 2 未能生成这个视频，你的 4 积分已退还——请重试，或换一个提示词。", status
    assert "GENERATION_FAILED" not in status
    # The English words are kept for logs and for every other locale.
    assert row.error_message and "could not make this video" in row.error_message
    assert await stack.balance() == 10


async def test_en_us_and_other_locales_are_unchanged(stack: Stack) -> None:
    await stack.grant(20)
    fake = stack.discord
    text = await refused(fake, await fake.invoke_slash("sora", {"prompt": "   "}, locale="zh-TW"))
    assert text == "`prompt` is empty. Allowed: 1 to 2000 characters."
    handle = await fake.invoke_slash("sora", {"prompt": PROMPT}, locale="en-US")
    row = await stack.settle(handle)
    original = fake.original_message(handle)
    assert field(original, "Status") == "✅ Your video is ready"
    assert field(original, "Cost") == "4 credits spent"
    (result,) = fake.answers(handle)
    assert result.content.startswith(f"<@{stack.member_id}> your video is ready (job #{row.id} · Sora 2)")
