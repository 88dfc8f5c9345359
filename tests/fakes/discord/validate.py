"""Checks what the bot sends against Discord's OpenAPI spec and its documented limits.

Two layers, because neither alone is enough:

* the OpenAPI 3.1 spec (``tests/specs/discord-openapi.json``) catches shape errors (wrong types, unknown
  enum values, missing required keys) — validated with jsonschema Draft 2020-12, every ``$ref``
  resolved inside the spec document through a ``referencing`` registry;
* Discord's prose docs win where they and the spec disagree (e.g. a modal takes at most 5
  components, a message's embeds at most 6000 characters in total, command names are lowercase),
  so those limits are checked by hand.

The spec is 1.2 MB: it is loaded once per process, lazily, and validators are cached per route.
"""

from __future__ import annotations

import functools
import json
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

_log = logging.getLogger(__name__)

SPEC_URI = "urn:discord-openapi"

Location = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    """One thing Discord would refuse: where in the body, which rule, and a readable message."""

    location: Location
    message: str
    source: str  # "schema" | "limit"

    @property
    def field(self) -> str:
        return ".".join(str(part) for part in self.location) or "<body>"


# ------------------------------------------------------------------------------------ the spec


SPEC_PATH = Path(__file__).resolve().parents[2] / "specs" / "discord-openapi.json"


@functools.cache
def load_spec() -> dict[str, Any]:
    """The parsed spec. Missing is an error: a fake that silently stops checking proves nothing."""
    if not SPEC_PATH.is_file():
        raise FileNotFoundError(f"discord-openapi.json not found at {SPEC_PATH} (see tests/specs/README.md)")
    with SPEC_PATH.open(encoding="utf-8") as fh:
        return _as_discord_parses(json.load(fh))


def _as_discord_parses(spec: dict[str, Any]) -> dict[str, Any]:
    """Discord coerces integer snowflakes (discord.py sends ``attachments[].id`` as the int file index)."""
    schemas = spec["components"]["schemas"]
    schemas["SnowflakeType"] = {"anyOf": [schemas["SnowflakeType"], {"type": "integer", "minimum": 0}]}
    return spec


@functools.cache
def _registry() -> Registry | None:
    spec = load_spec()
    if spec is None:
        return None
    resource: Resource[Any] = Resource.from_contents(spec, default_specification=DRAFT202012)
    registry: Registry[Any] = Registry().with_resource(SPEC_URI, resource)
    return registry


def _pointer(*parts: str) -> str:
    return "/".join(part.replace("~", "~0").replace("/", "~1") for part in parts)


@functools.cache
def _request_validator(method: str, route: str) -> Draft202012Validator | None:
    spec = load_spec()
    registry = _registry()
    if spec is None or registry is None:
        return None
    operation = spec["paths"].get(route, {}).get(method.lower(), {})
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" not in content:
        return None
    ref = f"{SPEC_URI}#/" + _pointer(
        "paths", route, method.lower(), "requestBody", "content", "application/json"
    )
    return Draft202012Validator({"$ref": ref + "/schema"}, registry=registry)


def has_request_schema(method: str, route: str) -> bool:
    return _request_validator(method, route) is not None


def _misses_shape(errors: list[ValidationError]) -> bool:
    """A union branch for another shape: its ``type`` discriminator or its JSON type does not match."""
    for error in errors:
        path = tuple(error.relative_path)
        if error.validator in ("enum", "const") and path == ("type",):
            return True
        if error.validator == "type" and path == ():
            return True
    return False


def _deepest(error: ValidationError) -> ValidationError:
    """Discord's unions (anyOf/oneOf) are discriminated by ``type``: follow the branch that matched it."""
    while error.context:
        branches: dict[Any, list[ValidationError]] = {}
        for sub in error.context:
            branches.setdefault(sub.relative_schema_path[0], []).append(sub)
        fitting = [errs for errs in branches.values() if not _misses_shape(errs)]
        if not fitting:
            return error
        error = best_match(e for errs in fitting for e in errs)
    return error


def _describe(error: ValidationError) -> str:
    """jsonschema quotes the whole offending value; a 4097-character string makes that unreadable."""
    value, limit = error.instance, error.validator_value
    sized = {
        "maxLength": "or fewer in length",
        "minLength": "or more in length",
        "maxItems": "or fewer items",
    }
    if error.validator in sized and isinstance(value, str | list):
        return f"must be {limit} {sized[error.validator]} (got {len(value)})"
    if error.validator in ("type", "enum", "const", "pattern", "minimum", "maximum"):
        shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
        return f"{shown} fails {error.validator} {limit!r}"
    return str(error.message)[:200]


def schema_problems(method: str, route: str, body: Any) -> list[Problem]:
    validator = _request_validator(method, route)
    if validator is None:
        return []
    problems = []
    for error in validator.iter_errors(body):
        best = _deepest(error)
        problems.append(Problem(tuple(best.absolute_path), _describe(best), "schema"))
    return problems


# ---------------------------------------------------------------------------------- the limits

CONTENT_MAX = 2000
EMBEDS_MAX = 10
EMBED_TOTAL_MAX = 6000
ACTION_ROWS_MAX = 5
ROW_BUTTONS_MAX = 5
CUSTOM_ID_MAX = 100
BUTTON_LABEL_MAX = 80
SELECT_OPTIONS_MAX = 25
COMPONENTS_V2_MAX = 40
TEXT_DISPLAY_TOTAL_MAX = 4000
ATTACHMENTS_MAX = 10
MODAL_COMPONENTS_MAX = 5
MODAL_TITLE_MAX = 45
COMMAND_OPTIONS_MAX = 25
COMMAND_CHOICES_MAX = 25
COMMAND_TOTAL_CHARS_MAX = 4000
CHAT_INPUT_COMMANDS_MAX = 100
CONTEXT_MENU_COMMANDS_MAX = 15

# Discord: ^[-_'\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$ — \w covers letters, digits and "_".
COMMAND_NAME_RE = re.compile(r"^[-_'\w\u0900-\u097F\u0E00-\u0E7F]{1,32}$")

_EMBED_LIMITS: dict[str, int] = {"title": 256, "description": 4096}


def _too_long(value: Any, limit: int, loc: Location, what: str) -> Iterator[Problem]:
    if isinstance(value, str) and len(value) > limit:
        yield Problem(loc, f"{what} must be {limit} or fewer in length (got {len(value)})", "limit")


def _embed_text_len(embed: dict[str, Any]) -> int:
    total = len(embed.get("title") or "") + len(embed.get("description") or "")
    for item in embed.get("fields") or []:
        total += len(item.get("name") or "") + len(item.get("value") or "")
    total += len((embed.get("footer") or {}).get("text") or "")
    total += len((embed.get("author") or {}).get("name") or "")
    return total


def embed_problems(embed: dict[str, Any], loc: Location) -> Iterator[Problem]:
    for key, limit in _EMBED_LIMITS.items():
        yield from _too_long(embed.get(key), limit, (*loc, key), f"embed {key}")
    fields = embed.get("fields") or []
    if len(fields) > 25:
        yield Problem((*loc, "fields"), f"an embed has at most 25 fields (got {len(fields)})", "limit")
    for index, item in enumerate(fields):
        yield from _too_long(item.get("name"), 256, (*loc, "fields", index, "name"), "field name")
        yield from _too_long(item.get("value"), 1024, (*loc, "fields", index, "value"), "field value")
        if not item.get("name") or not item.get("value"):
            yield Problem((*loc, "fields", index), "field name and value must not be empty", "limit")
    footer = embed.get("footer") or {}
    yield from _too_long(footer.get("text"), 2048, (*loc, "footer", "text"), "footer text")
    author = embed.get("author") or {}
    yield from _too_long(author.get("name"), 256, (*loc, "author", "name"), "author name")
    if _embed_text_len(embed) > EMBED_TOTAL_MAX:
        yield Problem(loc, f"embed text must total {EMBED_TOTAL_MAX} or fewer characters", "limit")


def _walk_components(components: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for component in components:
        yield component
        yield from _walk_components(component.get("components") or [])
        for key in ("accessory", "component"):
            if isinstance(component.get(key), dict):
                yield from _walk_components([component[key]])


def _leaf_problems(component: dict[str, Any], loc: Location) -> Iterator[Problem]:
    yield from _too_long(component.get("custom_id"), CUSTOM_ID_MAX, (*loc, "custom_id"), "custom_id")
    kind = component.get("type")
    if kind == 2:
        yield from _too_long(component.get("label"), BUTTON_LABEL_MAX, (*loc, "label"), "button label")
        is_link = component.get("style") == 5
        if is_link and not component.get("url"):
            yield Problem(loc, "a link button needs a url", "limit")
        if not is_link and component.get("style") != 6 and not component.get("custom_id"):
            yield Problem(loc, "a button needs a custom_id", "limit")
    if kind in (3, 5, 6, 7, 8):
        options = component.get("options") or []
        if len(options) > SELECT_OPTIONS_MAX:
            yield Problem((*loc, "options"), f"a select takes at most {SELECT_OPTIONS_MAX} options", "limit")
        yield from _too_long(component.get("placeholder"), 150, (*loc, "placeholder"), "placeholder")


def _action_row_problems(row: dict[str, Any], loc: Location) -> Iterator[Problem]:
    children = row.get("components") or []
    buttons = [c for c in children if c.get("type") == 2]
    selects = [c for c in children if c.get("type") in (3, 5, 6, 7, 8)]
    if len(buttons) > ROW_BUTTONS_MAX:
        yield Problem((*loc, "components"), f"an action row holds at most {ROW_BUTTONS_MAX} buttons", "limit")
    if selects and len(children) > 1:
        yield Problem((*loc, "components"), "a select menu must be alone in its action row", "limit")
    for index, child in enumerate(children):
        yield from _leaf_problems(child, (*loc, "components", index))


def component_problems(components: list[dict[str, Any]], loc: Location, *, v2: bool) -> Iterator[Problem]:
    if v2:
        count = sum(1 for _ in _walk_components(components))
        if count > COMPONENTS_V2_MAX:
            yield Problem(loc, f"at most {COMPONENTS_V2_MAX} components in total (got {count})", "limit")
        text = sum(len(c.get("content") or "") for c in _walk_components(components) if c.get("type") == 10)
        if text > TEXT_DISPLAY_TOTAL_MAX:
            yield Problem(
                loc, f"text displays must total {TEXT_DISPLAY_TOTAL_MAX} or fewer characters", "limit"
            )
    elif len(components) > ACTION_ROWS_MAX:
        yield Problem(loc, f"at most {ACTION_ROWS_MAX} action rows (got {len(components)})", "limit")
    for index, component in enumerate(components):
        if component.get("type") == 1:
            yield from _action_row_problems(component, (*loc, index))
        elif not v2:
            yield Problem(
                (*loc, index), "top-level components must be action rows without IS_COMPONENTS_V2", "limit"
            )
    if v2:
        for index, component in enumerate(_walk_components(components)):
            if component.get("type") != 1:
                yield from _leaf_problems(component, (*loc, f"#{index}"))


def message_problems(body: dict[str, Any], loc: Location = ()) -> list[Problem]:
    """Create/edit message bodies: channel messages, webhook (interaction) messages, callbacks."""
    problems: list[Problem] = []
    if not isinstance(body, dict):
        return problems
    problems.extend(_too_long(body.get("content"), CONTENT_MAX, (*loc, "content"), "content"))
    embeds = body.get("embeds") or []
    if len(embeds) > EMBEDS_MAX:
        problems.append(
            Problem((*loc, "embeds"), f"at most {EMBEDS_MAX} embeds (got {len(embeds)})", "limit")
        )
    for index, embed in enumerate(embeds):
        problems.extend(embed_problems(embed, (*loc, "embeds", index)))
    if sum(_embed_text_len(e) for e in embeds) > EMBED_TOTAL_MAX:
        problems.append(
            Problem((*loc, "embeds"), f"all embeds must total {EMBED_TOTAL_MAX} or fewer characters", "limit")
        )
    v2 = bool((body.get("flags") or 0) & (1 << 15))
    if v2 and (body.get("content") or embeds):
        problems.append(Problem(loc, "content and embeds cannot be used with IS_COMPONENTS_V2", "limit"))
    problems.extend(component_problems(body.get("components") or [], (*loc, "components"), v2=v2))
    attachments = body.get("attachments") or []
    if len(attachments) > ATTACHMENTS_MAX:
        problems.append(Problem((*loc, "attachments"), f"at most {ATTACHMENTS_MAX} attachments", "limit"))
    mentions = body.get("allowed_mentions") or {}
    for kind in ("users", "roles"):
        if kind in (mentions.get("parse") or []) and mentions.get(kind):
            problems.append(
                Problem(
                    (*loc, "allowed_mentions"), f"parse {kind!r} is mutually exclusive with {kind}", "limit"
                )
            )
    return problems


def modal_problems(data: dict[str, Any], loc: Location = ()) -> list[Problem]:
    problems = list(_too_long(data.get("title"), MODAL_TITLE_MAX, (*loc, "title"), "modal title"))
    problems.extend(_too_long(data.get("custom_id"), CUSTOM_ID_MAX, (*loc, "custom_id"), "custom_id"))
    components = data.get("components") or []
    if not 1 <= len(components) <= MODAL_COMPONENTS_MAX:
        problems.append(
            Problem((*loc, "components"), f"a modal takes 1-{MODAL_COMPONENTS_MAX} components", "limit")
        )
    for index, component in enumerate(_walk_components(components)):
        where = (*loc, "components", f"#{index}")
        problems.extend(
            _too_long(component.get("custom_id"), CUSTOM_ID_MAX, (*where, "custom_id"), "custom_id")
        )
        if component.get("type") == 4:
            problems.extend(_too_long(component.get("label"), 45, (*where, "label"), "text input label"))
            problems.extend(
                _too_long(component.get("placeholder"), 100, (*where, "placeholder"), "placeholder")
            )
            problems.extend(_too_long(component.get("value"), 4000, (*where, "value"), "text input value"))
        if component.get("type") == 18:
            problems.extend(_too_long(component.get("label"), 45, (*where, "label"), "label"))
    return problems


# ------------------------------------------------------------------------------------ commands


def _name_problems(name: Any, loc: Location, *, chat_input: bool) -> Iterator[Problem]:
    if not isinstance(name, str) or not 1 <= len(name) <= 32:
        yield Problem(loc, f"name must be 1-32 characters (got {name!r})", "limit")
        return
    if chat_input:
        if not COMMAND_NAME_RE.match(name):
            yield Problem(loc, f"name {name!r} does not match Discord's command name pattern", "limit")
        if name != name.lower():
            yield Problem(loc, f"name {name!r} must be lowercase", "limit")


def _choice_problems(choices: list[dict[str, Any]], loc: Location) -> Iterator[Problem]:
    if len(choices) > COMMAND_CHOICES_MAX:
        yield Problem(loc, f"at most {COMMAND_CHOICES_MAX} choices (got {len(choices)})", "limit")
    for index, choice in enumerate(choices):
        name = choice.get("name")
        if not isinstance(name, str) or not 1 <= len(name) <= 100:
            yield Problem((*loc, index, "name"), "choice name must be 1-100 characters", "limit")
        value = choice.get("value")
        if isinstance(value, str) and len(value) > 100:
            yield Problem(
                (*loc, index, "value"), "string choice value must be 100 or fewer characters", "limit"
            )


def _option_problems(options: list[dict[str, Any]], loc: Location, *, depth: int) -> Iterator[Problem]:
    if len(options) > COMMAND_OPTIONS_MAX:
        yield Problem(loc, f"at most {COMMAND_OPTIONS_MAX} options (got {len(options)})", "limit")
    seen_optional = False
    names: set[str] = set()
    kinds = {o.get("type") for o in options}
    if kinds & {1, 2} and kinds - {1, 2}:
        yield Problem(loc, "subcommands cannot be mixed with other option types", "limit")
    for index, option in enumerate(options):
        where = (*loc, index)
        yield from _name_problems(option.get("name"), (*where, "name"), chat_input=True)
        if option.get("name") in names:
            yield Problem((*where, "name"), f"duplicate option name {option.get('name')!r}", "limit")
        names.add(option.get("name", ""))
        description = option.get("description")
        if not isinstance(description, str) or not 1 <= len(description) <= 100:
            yield Problem((*where, "description"), "option description must be 1-100 characters", "limit")
        kind = option.get("type")
        if kind in (1, 2):
            if depth >= (2 if kind == 1 else 1):
                yield Problem(where, "subcommands nest at most group > subcommand", "limit")
            yield from _option_problems(option.get("options") or [], (*where, "options"), depth=depth + 1)
            continue
        if option.get("required"):
            if seen_optional:
                yield Problem(where, "required options must be placed before optional options", "limit")
        else:
            seen_optional = True
        choices = option.get("choices") or []
        yield from _choice_problems(choices, (*where, "choices"))
        if choices and option.get("autocomplete"):
            yield Problem(where, "autocomplete cannot be set together with choices", "limit")


def _command_chars(command: dict[str, Any]) -> int:
    total = len(command.get("name") or "") + len(command.get("description") or "")
    for option in command.get("options") or []:
        total += _command_chars(option)
        for choice in option.get("choices") or []:
            total += len(str(choice.get("name", ""))) + len(str(choice.get("value", "")))
    return total


def command_problems(command: dict[str, Any], loc: Location = ()) -> list[Problem]:
    kind = command.get("type", 1) or 1
    chat_input = kind == 1
    problems = list(_name_problems(command.get("name"), (*loc, "name"), chat_input=chat_input))
    for locale, name in (command.get("name_localizations") or {}).items():
        problems.extend(_name_problems(name, (*loc, "name_localizations", locale), chat_input=chat_input))
    description = command.get("description")
    if chat_input and (not isinstance(description, str) or not 1 <= len(description) <= 100):
        problems.append(Problem((*loc, "description"), "description must be 1-100 characters", "limit"))
    if not chat_input and description:
        problems.append(
            Problem((*loc, "description"), "user/message commands take an empty description", "limit")
        )
    if not chat_input and command.get("options"):
        problems.append(Problem((*loc, "options"), "user/message commands take no options", "limit"))
    problems.extend(_option_problems(command.get("options") or [], (*loc, "options"), depth=0))
    if _command_chars(command) > COMMAND_TOTAL_CHARS_MAX:
        problems.append(
            Problem(loc, f"a command totals at most {COMMAND_TOTAL_CHARS_MAX} characters", "limit")
        )
    return problems


def bulk_command_problems(commands: Any) -> list[Problem]:
    if not isinstance(commands, list):
        return [Problem((), "bulk overwrite takes a list of commands", "limit")]
    problems: list[Problem] = []
    seen: set[tuple[int, str]] = set()
    counts: dict[int, int] = {}
    for index, command in enumerate(commands):
        problems.extend(command_problems(command, (index,)))
        key = (command.get("type", 1) or 1, command.get("name", ""))
        if key in seen:
            problems.append(Problem((index, "name"), f"duplicate command name {key[1]!r}", "limit"))
        seen.add(key)
        counts[key[0]] = counts.get(key[0], 0) + 1
    if counts.get(1, 0) > CHAT_INPUT_COMMANDS_MAX:
        problems.append(Problem((), f"at most {CHAT_INPUT_COMMANDS_MAX} slash commands", "limit"))
    for kind in (2, 3):
        if counts.get(kind, 0) > CONTEXT_MENU_COMMANDS_MAX:
            problems.append(
                Problem((), f"at most {CONTEXT_MENU_COMMANDS_MAX} context menu commands", "limit")
            )
    return problems


# ------------------------------------------------------------------------------ per route glue

MESSAGE_ROUTES = {
    ("POST", "/channels/{channel_id}/messages"),
    ("PATCH", "/channels/{channel_id}/messages/{message_id}"),
    ("POST", "/webhooks/{webhook_id}/{webhook_token}"),
    ("PATCH", "/webhooks/{webhook_id}/{webhook_token}/messages/@original"),
    ("PATCH", "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}"),
}
CALLBACK_ROUTE = ("POST", "/interactions/{interaction_id}/{interaction_token}/callback")
COMMAND_BULK_ROUTES = {
    ("PUT", "/applications/{application_id}/commands"),
    ("PUT", "/applications/{application_id}/guilds/{guild_id}/commands"),
}
COMMAND_ONE_ROUTES = {
    ("POST", "/applications/{application_id}/commands"),
    ("POST", "/applications/{application_id}/guilds/{guild_id}/commands"),
    ("PATCH", "/applications/{application_id}/commands/{command_id}"),
    ("PATCH", "/applications/{application_id}/guilds/{guild_id}/commands/{command_id}"),
}


def limit_problems(method: str, route: str, body: Any) -> list[Problem]:
    key = (method, route)
    if key in MESSAGE_ROUTES:
        return message_problems(body)
    if key == CALLBACK_ROUTE and isinstance(body, dict):
        data = body.get("data") or {}
        if body.get("type") in (4, 7):
            return message_problems(data, ("data",))
        if body.get("type") == 9:
            return modal_problems(data, ("data",))
        if body.get("type") == 8:
            choices = data.get("choices") or []
            return list(_choice_problems(choices, ("data", "choices")))
        return []
    if key in COMMAND_BULK_ROUTES:
        return bulk_command_problems(body)
    if key in COMMAND_ONE_ROUTES and isinstance(body, dict):
        return command_problems(body)
    return []


def check_request(method: str, route: str, body: Any) -> list[Problem]:
    """Every problem Discord would raise about this body: schema first, then documented limits."""
    if body is None:
        return []
    limits = limit_problems(method, route, body)
    covered = {problem.location for problem in limits}
    schema = [p for p in schema_problems(method, route, body) if p.location not in covered]
    return schema + limits


def form_errors(problems: Iterable[Problem]) -> dict[str, Any]:
    """Discord's 50035 ``errors`` tree: ``{"content": {"_errors": [{"code", "message"}]}}``."""
    tree: dict[str, Any] = {}
    for problem in problems:
        node = tree
        for part in problem.location:
            node = node.setdefault(str(part), {})
        code = "BASE_TYPE_MAX_LENGTH" if "length" in problem.message else "BASE_TYPE_INVALID"
        node.setdefault("_errors", []).append({"code": code, "message": problem.message})
    return tree
