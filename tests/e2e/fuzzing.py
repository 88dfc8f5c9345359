"""Strategies and the harness ``test_fuzz.py`` drives every command with, through the fake Discord.

Options are drawn from each command's *synced* definition (its types, choices, lengths and ranges,
as Discord would let a member send them), so a new option is fuzzed without anyone writing it
down; ``OVERRIDES`` only sharpens what is drawn for some options by name (a model name that exists
next to one that does not, a date next to garbage). A modal the command opens is filled the same
way, from its text inputs (``storyboard:shots`` from the shot grammar).

Attachment options get an ``Upload``: a picture of some kind (a small PNG/JPEG/WebP, one cut short,
a text file or a video named ``.png``, an empty file, one Discord says is 11 MB, a 16.4-megapixel
"bomb" with or without Discord's measure of it, a GIF, a document, a video), each knowing whether
the bot should take it and, if not, words its refusal must contain. A message to right-click
("Animate") is a ``Post``: some text, some uploads and some embeds pointing at named links (which
the harness maps to addresses: an allowed host, a redirect inside, loopback and private ones).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from mimetypes import guess_type
from typing import Any

from discord import app_commands
from hypothesis import strategies as st

from storage.db import Database
from tests.fakes.discord import FakeDiscord, FakeInteraction, Role
from tests.fakes.pictures import encode, png_bomb

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
    """1-40 shots of half seconds that add up to ``total`` (more than a model takes, sometimes)."""

    @st.composite
    def board(draw: st.DrawFn) -> str:
        halves = total * 2
        if halves < 1:
            return "1 | a shot"
        count = draw(st.one_of(st.integers(1, min(16, halves)), st.integers(1, min(40, halves))))
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
    if kind == 11:
        return uploads()
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
    """What a member could type into the modal's text inputs: anything within each box's lengths
    (Discord's client enforces them), blank-looking or right at the limit too; a required box is
    never empty, and one the bot prefilled may be sent as it is (left out here)."""
    fields: dict[str, Strategy] = {}
    optional: dict[str, Strategy] = {}
    for box in text_inputs({"components": modal.get("components") or []}):
        required = box.get("required", True)
        low = max(box.get("min_length", 0), 1 if required else 0)
        high = box.get("max_length", 4000)
        edges = st.sampled_from(("", " ", "\n\n", "\u200b", "x" * high, "漢" * high, "😀" * high))
        values = st.one_of(overrides.get(box["custom_id"], text_values(low, high)), edges)
        values = values.filter(_between(low, high))
        (fields if required and not box.get("value") else optional)[box["custom_id"]] = values
    return st.fixed_dictionaries(fields, optional=optional)


def _between(low: int, high: int) -> Callable[[str], bool]:
    return lambda text: low <= len(text) <= high


# ------------------------------------------------------------------------------------ uploads

MP4_HEAD = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41" + b"\x00" * 64
MB = 1024 * 1024
NAMES = ("cat.png", "photo.jpg", "猫.png", "my picture.png", "a_b-c.png", "x" * 80 + ".png")


@dataclass(frozen=True)
class Upload:
    """A file a member attaches: its bytes, its name and what Discord says of it (``meta``).

    ``needles`` is empty for a picture the bot should take; otherwise its refusal must contain
    every one of them (besides the file's name in backticks, when ``named``)."""

    kind: str
    data: bytes = field(repr=False)
    filename: str
    meta: tuple[tuple[str, Any], ...] = ()
    needles: tuple[str, ...] = ()
    named: bool = True

    @property
    def usable(self) -> bool:
        return not self.needles

    def attach(self, fake: FakeDiscord) -> JSON:
        return fake.make_attachment(self.data, self.filename, **dict(self.meta))


def _picture(kind: str) -> bytes:
    return encode({"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}[kind], (64, 48))


def uploads() -> Strategy:
    """Any of the kinds of file a member attaches, under a drawn name."""
    png = _picture("png")

    def good(kind: str, name: str, measured: bool) -> Upload:
        data, stem = _picture(kind), name.rsplit(".", 1)[0]
        suffix = {"png": ".png", "jpeg": ".jpg", "webp": ".webp"}[kind]
        meta = (("width", 64), ("height", 48)) if measured else ()
        return Upload(kind, data, stem + suffix, meta)

    def bad(kind: str, name: str) -> Upload:
        stem = name.rsplit(".", 1)[0]
        made = {
            "truncated-png": (png[:60], ".png", (), ("damaged or incomplete",)),
            "truncated-jpeg": (_picture("jpeg")[:200], ".jpg", (), ("damaged or incomplete",)),
            "text-as-png": (b"just some words\n" * 4, ".png", (), ("not a PNG, JPEG or WebP",)),
            "video-as-jpg": (MP4_HEAD, ".jpg", (), ("a video (MP4)", "not a PNG, JPEG or WebP")),
            "empty": (b"", ".png", (), ("is empty",)),
            "over-10-MB": (png, ".png", (("size", 11 * MB),), ("11.0 MB", "at most 10.0 MB")),
            "bomb": (png_bomb(4100, 4000, 0), ".png", (), ("4100x4000", "16 megapixels")),
            "bomb-measured": (
                png_bomb(4100, 4000, 0),
                ".png",
                (("width", 4100), ("height", 4000)),
                ("4100x4000", "16 megapixels"),
            ),
            "gif": (b"GIF89a" + b"\x00" * 32, ".gif", (), ("GIF", "PNG, JPEG or WebP")),
            "document": (b"hello, world\n", ".txt", (), ("not a picture", "text/plain")),
            "video": (MP4_HEAD, ".mp4", (), ("is a video",)),
        }
        data, suffix, meta, needles = made[kind]
        return Upload(kind, data, stem + suffix, meta, needles)

    names = st.sampled_from(NAMES)
    kinds = ("png", "jpeg", "webp")
    bad_kinds = (
        "truncated-png",
        "truncated-jpeg",
        "text-as-png",
        "video-as-jpg",
        "empty",
        "over-10-MB",
        "bomb",
        "bomb-measured",
        "gif",
        "document",
        "video",
    )
    return st.one_of(
        st.builds(good, st.sampled_from(kinds), names, st.booleans()),
        st.builds(bad, st.sampled_from(bad_kinds), names),
    )


# -------------------------------------------------------------------------- messages ("Animate")

# Where an embed's picture may point, by name; the harness maps names to addresses. Every one but
# ``ALLOWED`` must be refused by the bot's fetcher without a connection to where it leads.
ALLOWED = "allowed"
LINKS = (
    ALLOWED,
    "inside",  # 127.0.0.2, serving a real picture
    "redirect-inside",  # an allowed host answering 302 to the one inside
    "private-10",
    "private-192",
    "link-local-metadata",
    "cgnat",
    "unspecified",
    "ipv6-loopback",
    "ipv6-mapped-inside",
    "ipv6-unique-local",
    "credentials",
)


@dataclass(frozen=True)
class Embed:
    """What Discord unfurled from a link in a message: ``style`` says where the picture sits."""

    style: str  # "image" (a picture's link), "rich-image", "rich-thumbnail" (not a picture to take)
    link: str  # a name in LINKS


@dataclass(frozen=True)
class Post:
    """A member's message, to right-click and pick "Animate" on."""

    content: str
    uploads: tuple[Upload, ...]
    embeds: tuple[Embed, ...]


def posts() -> Strategy:
    """A message a member could post: never empty (Discord refuses that)."""
    files = st.one_of(
        uploads(), st.builds(Upload, st.just("notes"), st.just(b"notes\n"), st.just("notes.txt"))
    )
    embeds = st.builds(
        Embed, st.sampled_from(("image", "image", "rich-image", "rich-thumbnail")), st.sampled_from(LINKS)
    )
    return st.builds(
        _postable,
        st.one_of(st.just(""), text_values(0, 2000)),
        st.one_of(st.just(()), st.lists(files, min_size=1, max_size=3).map(tuple)),  # half have none
        st.one_of(st.lists(embeds, min_size=1, max_size=2).map(tuple), st.just(())),
    )


def _postable(content: str, files: tuple[Upload, ...], embeds: tuple[Embed, ...]) -> Post:
    return Post(content if content or files or embeds else "look", files, embeds)


def embed_payload(embed: Embed, url: str) -> JSON:
    if embed.style == "image":
        return {"type": "image", "url": url, "thumbnail": {"url": url, "width": 64, "height": 48}}
    if embed.style == "rich-image":
        return {
            "type": "rich",
            "title": "a page",
            "url": url,
            "image": {"url": url, "width": 64, "height": 48},
        }
    return {
        "type": "rich",
        "title": "a page",
        "url": url,
        "thumbnail": {"url": url, "width": 64, "height": 48},
    }


def picked(post: Post, suffixes: tuple[str, ...]) -> Upload | Embed | None:
    """The picture "Animate" is to take: the first image attachment (by type or name), else the
    first embed's image, or its thumbnail when the embed is a picture's link; ``None`` if none."""
    for upload in post.uploads:
        content_type = str(dict(upload.meta).get("content_type") or guess_type(upload.filename)[0] or "")
        if content_type.startswith("image/") or upload.filename.lower().endswith(suffixes):
            return upload
    for embed in post.embeds:
        if embed.style in ("image", "rich-image"):
            return embed
    return None


# ----------------------------------------------------------------------------------- refusals


@dataclass
class Refusals:
    """Every refusal ``cogs.errors.friendly`` rendered: (message, reference id of an internal fault),
    and the errors they rendered (``errors``, unwrapped from discord.py's wrappers)."""

    seen: list[tuple[str, str | None]] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)

    def clear(self) -> None:
        self.seen.clear()
        self.errors.clear()

    def wrap(self, friendly: Callable[..., tuple[str, str | None]]) -> Callable[..., tuple[str, str | None]]:
        def recording(error: BaseException, locale: object = None) -> tuple[str, str | None]:
            answer = friendly(error, locale)
            self.seen.append(answer)
            wrapped = isinstance(error, app_commands.CommandInvokeError | app_commands.TransformerError)
            self.errors.append((error.__cause__ or error) if wrapped else error)
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


def _walk(components: list[JSON]) -> list[JSON]:
    found = []
    for c in components:
        found.append(c)
        found += _walk(c.get("components") or [])
        found += _walk([c[k] for k in ("accessory", "component") if isinstance(c.get(k), dict)])
    return found


def _enabled_buttons(message: Any) -> list[JSON]:
    if message.deleted:
        return []
    return [
        c
        for c in _walk(message.components)
        if c.get("type") == 2 and "custom_id" in c and not c.get("disabled")
    ]


def buttons_on(message: Any) -> list[str]:
    """The custom ids of the enabled buttons on ``message`` (a ``StoredMessage``)."""
    return [str(c["custom_id"]) for c in _enabled_buttons(message)]


def buttons(fake: FakeDiscord, handle: FakeInteraction) -> list[tuple[Any, str, str]]:
    """Every enabled button on what answered ``handle``: (message, label, custom_id)."""
    messages = [fake.original_message(handle)] if handle.original_message_id else []
    messages += fake.answers(handle)
    return [
        (m, str(c.get("label") or ""), str(c["custom_id"])) for m in messages for c in _enabled_buttons(m)
    ]
