"""Echoed text is inert (``cogs.inert``), quoted values are short (``bot.errors.quoted``), and vendor
text loses every configured key (``bot.engine.scrub``)."""

from __future__ import annotations

import re

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from pydantic import SecretStr

from bot.engine.scrub import Scrubber
from bot.errors import QUOTE_LIMIT, InvalidRequest, quoted
from bot.i18n import Msg, literal, msg
from bot.providers.base import ApiKey
from bot.providers.profiles import ProviderProfile
from cogs.inert import ZWSP, clip, inert, inert_msg, link_target

MARKDOWN = "\\*_~|`[]<>#-+.@"
ESCAPED = re.compile(r"\\(.)", re.DOTALL)
text_with_markdown = st.text(
    alphabet=st.sampled_from([*MARKDOWN, "a", "1", " ", "\n", "e", "h", "r", "v", "y", "o"])
)


def unescaped(shown: str) -> str:
    return ESCAPED.sub(r"\1", shown).replace("@" + ZWSP, "@")


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        ("[a](https://x) [b](https://y)", "\\[a\\](https://x) \\[b\\](https://y)"),  # both, not the first
        ("**b** __u__ ~~s~~ ||sp|| `c`", "\\*\\*b\\*\\* \\_\\_u\\_\\_ \\~\\~s\\~\\~ \\|\\|sp\\|\\| \\`c\\`"),
        ("# h\n-# s\n> q\n>>> q\n 1. l\n- i\n+ j", "\\# h\n\\-# s\n\\> q\n\\>>> q\n 1\\. l\n\\- i\n\\+ j"),
        (
            "@everyone @here <@1> <@&2> <#3> <t:4:R>",
            f"@{ZWSP}everyone @{ZWSP}here \\<@1> \\<@&2> \\<#3> \\<t:4:R>",
        ),
        ("snake_case in a-b, 5 > 4", "snake_case in a-b, 5 > 4"),  # nothing to escape: left alone
        ("see https://x.com/a_b_(c)*", "see https://x.com/a_b_(c)*"),  # an address stays whole
    ],
)
def test_inert_escapes_markdown_masked_links_and_mentions(typed: str, shown: str) -> None:
    assert inert(typed) == shown


@given(text_with_markdown)
def test_inert_reads_as_typed_and_starts_no_markdown(text: str) -> None:
    assume("://" not in text)
    shown = inert(text)
    assert unescaped(shown) == text
    bare = ESCAPED.sub("", shown)  # what is left once every escape pair is gone
    assert not set(bare) & set("*~|`[]<")
    assert "@everyone" not in shown and "@here" not in shown
    for line in shown.splitlines():  # no heading, quote or list: the line starts escaped
        assert not re.match(r"\s*([#>+-]|\d+\.)", line), line


@given(st.one_of(st.text(), text_with_markdown), st.integers(2, 300))
def test_inert_within_a_limit_never_cuts_an_escape(text: str, limit: int) -> None:
    assume("://" not in text)
    shown = inert(text, limit)
    assert len(shown) <= limit
    if shown != inert(text):  # cut: what is left is whole escapes, the start of what was typed
        kept = shown.removesuffix("…")
        assert (len(kept) - len(kept.rstrip("\\"))) % 2 == 0
        assert text.startswith(unescaped(kept))


def test_clip_drops_a_backslash_left_alone_at_the_cut() -> None:
    assert clip("abc\\*def", 5) == "abc…"
    assert clip("ab\\\\*def", 5) == "ab\\\\…"  # an escaped backslash is whole
    assert clip("short", 5) == "short"


def test_inert_msg_escapes_parameters_not_the_template() -> None:
    said = msg(
        "provider.openai.field_refused",
        field="input_reference",
        said=msg("provider.openai.said", words="**no**"),
    )
    assert inert_msg(said).render() == "The video provider refused `input_reference`: \\*\\*no\\*\\*."


def test_link_target_keeps_a_link_closed() -> None:
    assert link_target("https://x/a) [c](https://e") == "https://x/a%29%20%5Bc%5D%28https://e"
    assert link_target("javascript:alert(1)") is None and link_target(None) is None


def test_a_quoted_value_is_one_short_line_without_backticks() -> None:
    assert quoted(f"a`b\n{'x' * 6000}") == "aˋb " + "x" * (QUOTE_LIMIT - 5) + "…"
    assert quoted(42) == 42
    error = InvalidRequest("tier", "invalid.value_not_known", "sora2", value="y" * 6000)
    assert len(error.render()) < 300 and "…" in error.render()


def profile(name: str, *secrets: str) -> ProviderProfile:
    keys = tuple(ApiKey(name=f"k{i}", secret=SecretStr(s)) for i, s in enumerate(secrets))
    return ProviderProfile(name=name, kind="nanophoto", base_url="https://vendor.example", keys=keys)


def test_the_scrubber_blanks_every_key_of_every_profile_in_text_messages_and_fields() -> None:
    scrub = Scrubber.of(
        {"a": profile("a", "sk-aaaa-1111", "sk-aaaa-2222"), "b": profile("b", "np-bbbb-3333")}
    )
    nested = msg("failure.sentence", said=msg("failure.said", words="key sk-aaaa-2222 and np-bbbb-3333"))
    assert scrub.msg(nested) == msg("failure.sentence", said=msg("failure.said", words="key *** and ***"))
    fields = scrub.fields({"stage": "using sk-aaaa-1111", "progress_pct": 5, "video_url": None})
    assert fields == {"stage": "using ***", "progress_pct": 5, "video_url": None}
    assert scrub.value(Msg("common.literal", {"text": "fine"})) == literal("fine")
