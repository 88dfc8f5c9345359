"""A refused storyboard form keeps its text, and its example is one that would pass.

A wrong line used to throw away everything typed; now the refusal carries "Fix and resend", which
reopens the form filled in exactly as it was sent — for a line ``parse_shots`` refuses and for a
request the quote refuses alike — and only for the member who typed it. The form's example (its
placeholder) adds up to the chosen length: sent as it is, it makes the video.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.engine.shots import parse_shots
from storage import jobs
from tests.e2e.conftest import Stack
from tests.e2e.test_buttons import button_by_label, reply_to
from tests.e2e.test_storyboard import fsg, on_freesora, open_modal
from tests.fakes.discord import FakeInteraction
from tests.fakes.discord.records import StoredMessage
from tests.fakes.freesora import FakeFreeSora, TaskScript

__all__ = ["fsg", "on_freesora"]

SHOTS = "storyboard:shots"
PROMPT = "storyboard:prompt"
FIX = "Fix and resend"


def inputs(modal: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """The form's text inputs by custom_id, as Discord would show them."""
    assert modal is not None

    def walk(components: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for c in components:
            out += walk(c.get("components") or []) + ([c["component"]] if "component" in c else [])
            if c.get("type") == 4:
                out.append(c)
        return out

    return {c["custom_id"]: c for c in walk(modal["components"])}


async def refused(stack: Stack, typed: dict[str, str]) -> tuple[FakeInteraction, StoredMessage]:
    opened = await open_modal(stack, duration=15)
    submit = await stack.discord.invoke_modal_submit(opened, typed)
    return submit, await reply_to(stack.discord, submit)


async def reopen(stack: Stack, answer: StoredMessage, **who: Any) -> FakeInteraction:
    press = await stack.discord.invoke_component(answer, button_by_label(answer, FIX), **who)
    await stack.discord.wait_for_ack(press)
    return press


async def test_a_refused_line_reopens_the_form_as_it_was_typed(on_freesora: Stack, fsg: FakeFreeSora) -> None:
    stack = on_freesora
    await stack.grant(10_000)
    fsg.script_next(TaskScript())
    typed = {
        PROMPT: "Noir, neon, rain — *the* city at 3 a.m.",
        SHOTS: "5 | Skyline at dusk\n\n5 | A taxi pulls up  \n   The driver's eyes, close",
    }
    _, answer = await refused(stack, typed)
    assert answer.ephemeral and "Line 4 has no duration" in answer.content
    assert await jobs.count(stack.db) == 0

    press = await reopen(stack, answer)
    shown = inputs(press.modal)
    assert shown[SHOTS]["value"] == typed[SHOTS] and shown[PROMPT]["value"] == typed[PROMPT]  # exact

    fixed = typed[SHOTS].replace("   The driver's", "5 | The driver's")
    job = await stack.settle(await stack.discord.invoke_modal_submit(press, {SHOTS: fixed}))
    assert job.state == "succeeded" and job.request["prompt"] == typed[PROMPT]
    assert [s["scene"] for s in job.request["shots"]][-1] == "The driver's eyes, close"


async def test_a_refused_quote_keeps_the_text_too(on_freesora: Stack) -> None:
    """A scene longer than the model takes is refused by the quote, after the lines parsed."""
    stack = on_freesora
    await stack.grant(10_000)
    long_scene = "A slow pan across the harbour, " * 80  # 2,480 characters: over the model's 2,000
    typed = {SHOTS: f"10 | {long_scene}\n5 | Close-up: she smiles"}
    _, answer = await refused(stack, typed)
    assert "shot 1 scene" in answer.content and "2000" in answer.content, answer.content
    press = await reopen(stack, answer)
    assert inputs(press.modal)[SHOTS]["value"] == typed[SHOTS]
    assert "value" not in inputs(press.modal)[PROMPT]  # nothing typed there, nothing put back
    assert await jobs.count(stack.db) == 0


async def test_only_the_member_who_typed_it_can_reopen_it(on_freesora: Stack) -> None:
    stack = on_freesora
    await stack.grant(10_000)
    _, answer = await refused(stack, {SHOTS: "5 | Skyline\n5 | Taxi"})
    bob = stack.discord.add_member(stack.guild_id, "bob")
    press = await reopen(stack, answer, user=bob)
    assert press.modal is None
    (told,) = [m for m in stack.discord.messages.by_id.values() if m.interaction_id == press.id]
    assert told.ephemeral and "Only the member who wrote this storyboard" in told.content
    assert (await reopen(stack, answer)).modal is not None  # still works for its member


async def test_a_second_refusal_offers_the_second_text(on_freesora: Stack) -> None:
    stack = on_freesora
    await stack.grant(10_000)
    _, answer = await refused(stack, {SHOTS: "5 | Skyline\n5 | Taxi"})
    press = await reopen(stack, answer)
    again = {SHOTS: "5 | Skyline\n5 | Taxi\n6 | Eyes"}
    submit = await stack.discord.invoke_modal_submit(press, again)
    second = await reply_to(stack.discord, submit)
    assert "add up to 16 s" in second.content
    assert inputs((await reopen(stack, second)).modal)[SHOTS]["value"] == again[SHOTS]


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
@pytest.mark.parametrize("duration", [10, 15, 25])
async def test_the_forms_example_makes_the_video_it_describes(
    on_freesora: Stack, fsg: FakeFreeSora, duration: int, locale: str
) -> None:
    stack = on_freesora
    await stack.grant(10_000)
    fsg.script_next(TaskScript())
    handle = await stack.discord.invoke_slash("storyboard", {"duration": duration}, locale=locale)
    await stack.discord.wait_for_ack(handle)
    example = inputs(handle.modal)[SHOTS]["placeholder"]
    assert len(example) <= 100  # Discord's limit: it is shown whole, never cut
    assert sum(s.duration for s in parse_shots(example, duration)) == duration
    job = await stack.settle(await stack.discord.invoke_modal_submit(handle, {SHOTS: example}, locale=locale))
    assert job.state == "succeeded" and job.duration == duration
