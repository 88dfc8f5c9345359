"""Strategies and the harness ``test_fuzz.py`` drives every command with, through the fake Discord.

Options are drawn from each command's *synced* definition (its types, choices, lengths and ranges,
as Discord would let a member send them), so a new option is fuzzed without anyone writing it
down; ``OVERRIDES`` only sharpens what is drawn for some options by name (a model name that exists
next to one that does not, a date next to garbage). A modal the command opens is filled the same
way, from its text inputs (``storyboard:shots`` from the shot grammar).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from storage.db import Database
from tests.fakes.discord import FakeDiscord, FakeInteraction, Role

JSON = dict[str, Any]
Strategy = st.SearchStrategy[Any]
DISCORD_INT = 2**53  # Discord's integer and number options are doubles
TEXT_MAX = 6000  # a string option without max_length

TRICKY = (
    "[click](https://evil.example)",
    "@everyone",
    "@here",
    "<@&1>",
    "<@1>",
    "**",
    "__",
    "~~",
    "||",
    "`",
    "```",
    "# ",
    "-# ",
    "> ",
    ">>> ",
    "1. ",
    "\n",
    "\u200b",
    "\u202e",
    "\x00",
    "😀",
    "漢字",
    "  ",
    "|",
    "\\",
    "{value}",
    "%s",
    "'",
    '"',
    "https://example.com/a_b",
    "-1",
    "0",
    "10",
    "1e309",
    "NaN",
    "2026-01-01",
)


def text_values(min_size: int = 0, max_size: int = TEXT_MAX) -> Strategy:
    """Short mixes of tricky fragments, and long runs up to ``max_size`` (where quoting breaks)."""
    fragment = st.one_of(st.sampled_from(TRICKY), st.text(max_size=12))
    mixed = st.lists(fragment, max_size=12).map("".join)
    unit = st.one_of(
        st.sampled_from(("x", "*", "[a](b) ", "漢", " ", "@everyone ")), st.text(min_size=1, max_size=4)
    )
    length = st.one_of(st.integers(1, 64), st.integers(1, max_size), st.just(max_size))  # long is rare else
    run = st.builds(lambda u, n: u * n, unit, length)
    return st.one_of(mixed, run).map(lambda s: s[:max_size]).filter(lambda s: len(s) >= min_size)


def shot_board(total: int) -> Strategy:
    """Storyboard text: any lines, or shots whose durations add up to ``total`` (which may pass)."""
    seconds = st.one_of(
        st.integers(-5, 30).map(str),
        st.sampled_from(("2.5", "2,5", "5s", "5 sec", "1e1", "-0", "٥", "inf", "nan", "1e-999999999", "")),
        text_values(0, 30),
    )
    scene = st.one_of(st.sampled_from(("a skyline", "rain", "")), text_values(0, 300))
    line = st.one_of(
        st.builds("{} | {}".format, seconds, scene),
        st.builds("{}|{}".format, seconds, scene),
        text_values(0, 80),
        st.just(""),
    )
    anything = st.lists(line, max_size=20).map("\n".join)
    return st.one_of(anything, adding_up(total, scene)).map(lambda s: s[:4000])


def adding_up(total: int, scene: Strategy) -> Strategy:
    """1-16 shots of half seconds that add up to ``total``."""

    @st.composite
    def board(draw: st.DrawFn) -> str:
        halves = total * 2
        count = draw(st.integers(1, min(16, halves)))
        cuts = sorted(draw(st.sets(st.integers(1, halves - 1), min_size=count - 1, max_size=count - 1)))
        bounds = [0, *cuts, halves]
        lines = [f"{(b - a) / 2:g} | {draw(scene) or 'a shot'}" for a, b in itertools.pairwise(bounds)]
        return "\n".join(lines)

    return board()


@dataclass
class Targets:
    """What user, channel and role options can name in the fake guild."""

    users: list[Any]
    channels: list[Any]
    roles: list[Role]


def option_values(definition: JSON, targets: Targets, overrides: Mapping[str, Strategy]) -> Strategy:
    """What a member could send for one option, as Discord would let them."""
    name, kind = definition["name"], definition["type"]
    choices = [c["value"] for c in definition.get("choices") or []]
    if choices:
        return st.sampled_from(choices)
    if name in overrides and kind == 3:
        return overrides[name]
    if kind == 3:
        low, high = definition.get("min_length", 1), definition.get("max_length", TEXT_MAX)
        return text_values(max(1, low), high)
    if kind == 4:
        return st.integers(
            definition.get("min_value", -DISCORD_INT), definition.get("max_value", DISCORD_INT)
        )
    if kind == 10:
        return st.floats(
            definition.get("min_value", -DISCORD_INT),
            definition.get("max_value", DISCORD_INT),
            allow_nan=False,
            allow_infinity=False,
        )
    if kind == 5:
        return st.booleans()
    if kind == 6:
        return st.sampled_from(targets.users)
    if kind == 7:
        return st.sampled_from(targets.channels)
    if kind == 8:
        return st.sampled_from(targets.roles)
    if kind == 9:
        return st.sampled_from([*targets.users, *targets.roles])
    raise LookupError(f"no strategy for option {name!r} of type {kind}")


def leaf_options(fake: FakeDiscord, guild_id: int, path: str) -> list[JSON]:
    """The synced option definitions of ``/path`` (``"credits-admin grant"``)."""
    root, *subs = path.split()
    command = next(c for c in fake.commands(guild_id) if c["name"] == root)
    options: list[JSON] = command.get("options") or []
    for sub in subs:
        options = next(o for o in options if o["name"] == sub).get("options") or []
    return options


def slash_paths(fake: FakeDiscord, guild_id: int) -> set[str]:
    """Every slash command and subcommand a member can run."""
    paths: set[str] = set()
    for command in fake.commands(guild_id):
        if command.get("type", 1) != 1:
            continue
        subs = [o for o in command.get("options") or [] if o["type"] in (1, 2)]
        if not subs:
            paths.add(command["name"])
        for sub in subs:
            inner = [o for o in sub.get("options") or [] if o["type"] == 1]
            paths.update(f"{command['name']} {sub['name']} {o['name']}" for o in inner)
            if not inner:
                paths.add(f"{command['name']} {sub['name']}")
    return paths


def text_inputs(component: JSON) -> list[JSON]:
    """The text inputs of a modal, wherever they sit (action rows, labels)."""
    if component.get("type") == 4:
        return [component]
    inner = [
        *(component.get("components") or []),
        *([component["component"]] if "component" in component else []),
    ]
    return [found for c in inner for found in text_inputs(c)]


def modal_values(modal: JSON, overrides: Mapping[str, Strategy]) -> Strategy:
    """What a member could type into the modal's text inputs (a required one is never empty)."""
    fields: dict[str, Strategy] = {}
    optional: dict[str, Strategy] = {}
    for box in text_inputs({"components": modal.get("components") or []}):
        required = box.get("required", True)
        low = max(box.get("min_length", 0), 1 if required else 0)
        high = box.get("max_length", 4000)
        values = overrides.get(box["custom_id"], text_values(low, high))
        values = values.filter(_between(low, high))
        (fields if required else optional)[box["custom_id"]] = values
    return st.fixed_dictionaries(fields, optional=optional)


def _between(low: int, high: int) -> Callable[[str], bool]:
    return lambda text: low <= len(text) <= high


@dataclass
class Refusals:
    """Every refusal ``cogs.errors.friendly`` rendered: (message, reference id of an internal fault)."""

    seen: list[tuple[str, str | None]] = field(default_factory=list)

    def wrap(self, friendly: Callable[..., tuple[str, str | None]]) -> Callable[..., tuple[str, str | None]]:
        def recording(error: BaseException, locale: object = None) -> tuple[str, str | None]:
            answer = friendly(error, locale)
            self.seen.append(answer)
            return answer

        return recording


TABLES = {
    "sqlite": "SELECT name FROM sqlite_master WHERE type = 'table'"
    " AND name NOT IN ('engine_alive', 'engine_processes') ORDER BY name",
    "postgres": "SELECT table_name AS name FROM information_schema.tables"
    " WHERE table_schema = 'public' AND table_name NOT IN ('engine_alive', 'engine_processes')"
    " ORDER BY table_name",
}


async def snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table: a refusal must leave all of them as they were (all but the engine's
    heartbeat, ``engine_alive``, and its lease, ``engine_processes``, which the running engine
    rewrites every few seconds by itself)."""
    tables = await db.fetchall(TABLES[db.backend])
    return {t["name"]: [tuple(r) for r in await db.fetchall(f'SELECT * FROM "{t["name"]}"')] for t in tables}


async def answered(fake: FakeDiscord, db: Database, handle: FakeInteraction) -> None:
    """Wait (bounded) until the bot has answered: at once, with a modal, or after deferring with a job
    or a refusal."""
    await fake.wait_for_ack(handle)
    async with asyncio.timeout(5):
        while handle.response_type == 5 and not handle.followup_ids:
            if await db.fetchone("SELECT id FROM jobs WHERE interaction_token = $1", (handle.token,)):
                return
            original = fake.original_message(handle) if handle.original_message_id else None
            if original is not None and not original.deleted and original.content:  # edited in place
                return
            await asyncio.sleep(0.01)


def shown_to(fake: FakeDiscord, handle: FakeInteraction) -> list[str]:
    """The text of every message that answered ``handle``."""
    messages = [fake.original_message(handle)] if handle.original_message_id else []
    messages += fake.answers(handle)
    return [m.content for m in messages if not m.deleted]
