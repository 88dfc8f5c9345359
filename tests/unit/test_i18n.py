"""The message catalogs: both languages carry the same keys and placeholders, every key the code uses
exists, every command/option/choice has its zh-CN name and description, and rendering picks the
member's language (zh-CN exactly; everything else en-US)."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any, cast

import discord
import pytest
from discord import app_commands

from bot import i18n
from bot.engine.member_jobs import state_key
from bot.engine.outcomes import of_error
from bot.errors import InsufficientCredits, InvalidRequest, UserError
from bot.i18n import EN, ZH, Msg, catalog, literal, msg, placeholders, t
from bot.providers.base import Kind, Orientation, ProviderError
from cogs.translator import SoraTranslator
from storage.states import JobState

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted([*ROOT.joinpath("bot").rglob("*.py"), *ROOT.joinpath("cogs").rglob("*.py")])
NAME_RULE = re.compile(r"^[-_\w]{1,32}$")  # Discord's rule; Python's \w covers \p{L}\p{N} and _
HAN = re.compile(r"[\u4e00-\u9fff]")


def test_both_catalogs_have_the_same_keys() -> None:
    en, zh = set(catalog(EN)), set(catalog(ZH))
    assert sorted(en - zh) == [], "keys missing from zh-CN.toml"
    assert sorted(zh - en) == [], "keys missing from en-US.toml"


def test_placeholders_match_between_languages() -> None:
    zh = catalog(ZH)
    wrong = {
        key: (sorted(placeholders(text)), sorted(placeholders(zh[key])))
        for key, text in catalog(EN).items()
        if placeholders(text) != placeholders(zh[key])
    }
    assert wrong == {}


def test_every_message_is_text_and_zh_cn_is_written_in_chinese() -> None:
    assert all(v.strip() for v in catalog(EN).values())
    # Names that are brands or literal values may stay as they are; sentences may not.
    latin = {k for k, v in catalog(ZH).items() if " " in catalog(EN)[k].strip() and not HAN.search(v)}
    # Punctuation around parameters only (": {words}.", " — “{prompt}”", "`{field}` ({label})", the
    # failure sentence's "{what}{said}，{credits}——{next}。").
    assert latin <= {
        "failure.sentence",
        "invalid.field_ref",
        "provider.freesora.reason",
        "provider.openai.said",
        "result.quoted",
    }


def _keys_in_source() -> dict[str, list[str]]:
    """Every string literal in bot/ and cogs/ shaped like a catalog key (``errors.x``) → where it is."""
    namespaces = {k.split(".", 1)[0] for k in catalog(EN)}
    found: dict[str, list[str]] = {}
    for path in SOURCES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and i18n.is_key(node.value)
                and node.value.split(".", 1)[0] in namespaces
            ):
                found.setdefault(node.value, []).append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_every_key_used_in_the_code_exists() -> None:
    used = _keys_in_source()
    assert len(used) > 150  # the scan found the code's keys (UserError("…"), t("…"), L("…"), msg("…"))
    missing = {key: where for key, where in used.items() if key not in catalog(EN)}
    assert missing == {}


def test_keys_built_at_run_time_exist() -> None:
    from cogs import buttons, credits, render

    built = [
        *(state_key(s) for s in JobState),
        *(f"kind.words.{k.value}" for k in Kind),
        *(f"job.kind.{k.value}" for k in Kind),
        *render.TVC_STEPS.values(),
        *credits.ENTRY_WORDS.values(),
        *(look[0] for look in buttons.LOOKS.values()),
        *(f"choice.orientation.{o.value}" for o in Orientation),
        *(f"period.{p}" for p in ("week", "month")),
        *(f"period.choice.{p}" for p in ("week", "month")),
    ]
    assert [k for k in built if k not in catalog(EN)] == []


def test_unknown_key_raises_instead_of_showing_the_key() -> None:
    with pytest.raises(KeyError):
        t("errors.no_such_message", ZH)


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("zh-CN", ZH),
        (discord.Locale.chinese, ZH),
        ("zh_cn", ZH),
        ("zh-TW", EN),
        (discord.Locale.taiwan_chinese, EN),
        ("en-GB", EN),
        ("fr", EN),
        (None, EN),
    ],
)
def test_locales_resolve_to_a_catalog(locale: object, expected: str) -> None:
    assert i18n.resolve(locale) == expected


def test_errors_render_per_locale_and_keep_english_for_logs() -> None:
    err = InsufficientCredits(balance=3, cost=4)
    assert err.message == (
        "Not enough credits: this costs 4 and your balance is 3. Ask a server manager for more."
    )
    assert HAN.search(err.render(ZH)) and "4" in err.render(ZH)
    assert err.render("zh-TW") == err.message

    bad = InvalidRequest("prompt", "invalid.empty", msg("allowed.chars_from_one", max=2000))
    assert (
        bad.message == "`prompt` is empty. Allowed: 1 to 2000 characters."
        and bad.allowed == "1 to 2000 characters"
    )
    zh = bad.render(ZH)
    assert "`prompt`" in zh and "提示词" in zh and "2000" in zh  # the field stays literal, named too
    literal_values = InvalidRequest("tier", "invalid.value_not_known", "sora2, sora2-pro", value="x")
    assert "sora2, sora2-pro" in literal_values.render(ZH)


def test_plain_words_stay_as_they_are() -> None:
    """Operator tools raise ``UserError`` with words, not keys: shown untranslated, never a KeyError."""
    err = UserError("--image cat.png: no such file")
    assert err.message == err.render(ZH) == "--image cat.png: no such file"


@pytest.mark.parametrize("text", ["providers.toml", "errors.no_such_message", "v1.2"])
def test_words_shaped_like_a_key_are_shown_not_looked_up(text: str) -> None:
    err = UserError(text)
    assert err.message == err.render(ZH) == text


def test_a_stored_message_round_trips_and_renders_later() -> None:
    inner = ProviderError(
        code="X",
        detail="d",
        user_key="provider.openai.field_refused",
        user_params={"field": "duration", "said": msg("provider.openai.said", words="bad value")},
        blame="user",
        retryable=False,
    )
    assert inner.user_message == "The video provider refused `duration`: bad value."
    stored = of_error(inner).sentence(model="Sora 2", cost=4).to_json()
    back = Msg.from_json(stored)
    assert back.render(EN) == (
        "The provider refused `duration` (the provider said “bad value”); your 4 credits were returned"
        " — try other settings."
    )
    zh = back.render(ZH)
    assert HAN.search(zh) and "`duration`" in zh and "bad value" in zh and "4" in zh
    assert literal("vendor words").render(ZH) == "vendor words"


# ---- the command tree, built offline ---------------------------------------------------------------


def _commands() -> list[app_commands.Command[Any, ..., Any] | app_commands.Group | app_commands.ContextMenu]:
    from cogs.animate import AnimateCog
    from cogs.credits import CreditsAdminGroup, CreditsGroup
    from cogs.jobs import JobsGroup
    from cogs.settings import SettingsGroup
    from cogs.sora import SoraCog
    from cogs.storyboard import StoryboardCog
    from cogs.tvc import TvcCog

    dummy = cast(Any, object())
    out: list[Any] = []
    for cog in (SoraCog(dummy), TvcCog(dummy), StoryboardCog(dummy)):
        out.extend(cog.get_app_commands())
    out.append(AnimateCog(dummy, dummy).menu)
    out.extend([CreditsGroup(dummy), CreditsAdminGroup(dummy), SettingsGroup(dummy, dummy), JobsGroup(dummy)])
    return out


def _walk(payload: dict[str, Any], path: str = "") -> list[tuple[str, dict[str, Any], bool]]:
    """(path, item, has_description) for a command payload, its options and their choices."""
    here = f"{path} {payload['name']}".strip()
    out = [(here, payload, payload.get("type", 1) in (1, 2) or "description" in payload)]
    for option in payload.get("options") or []:
        out.extend(_walk(option, here))
        for choice in option.get("choices") or []:
            out.append((f"{here} {option['name']}={choice['value']}", choice, False))
    return out


async def test_every_command_option_and_choice_has_zh_cn_name_and_description() -> None:
    client = discord.Client(intents=discord.Intents.none())
    tree = app_commands.CommandTree(client)
    translator = SoraTranslator()
    problems: list[str] = []
    count = 0
    for command in _commands():
        payload = await command.get_translated_payload(tree, translator)
        chat_input = payload.get("type", 1) == 1
        for path, item, described in _walk(payload):
            count += 1
            name = (item.get("name_localizations") or {}).get(ZH)
            if not name:
                problems.append(f"{path}: no zh-CN name")
            elif "value" not in item and chat_input and (not NAME_RULE.match(name) or name != name.lower()):
                problems.append(f"{path}: zh-CN name {name!r} breaks Discord's name rule")
            elif "value" in item and not 1 <= len(name) <= 100:
                problems.append(f"{path}: zh-CN choice name {name!r} is too long")
            if described and chat_input and "value" not in item:
                description = (item.get("description_localizations") or {}).get(ZH)
                if not description or len(description) > 100:
                    problems.append(f"{path}: zh-CN description {description!r}")
                if len(item["description"]) > 100:
                    problems.append(f"{path}: en-US description too long")
    assert count > 80
    assert problems == []
    await client.close()


async def test_the_translator_answers_only_for_zh_cn() -> None:
    from cogs.translator import L

    translator = SoraTranslator()
    context = app_commands.TranslationContext(app_commands.TranslationContextLocation.other, None)
    text = L("cmd.sora.description")
    assert text.message == t("cmd.sora.description", EN)
    assert await translator.translate(text, discord.Locale.chinese, context) == t("cmd.sora.description", ZH)
    assert await translator.translate(text, discord.Locale.taiwan_chinese, context) is None
    assert (
        await translator.translate(app_commands.locale_str("plain"), discord.Locale.chinese, context) is None
    )
    seconds = L("choice.seconds", seconds=15)
    assert seconds.message == "15 seconds"
    assert await translator.translate(seconds, discord.Locale.chinese, context) == "15 秒"
