"""The README pictures' renderer (``tools/screenshots``): Discord's markdown and times as members
read them, the stable rewrite of a recording, and the one line a machine without Chromium gets."""

from __future__ import annotations

import pytest

from tools.screenshots import __main__ as cli
from tools.screenshots.markdown import Markdown, relative
from tools.screenshots.page import page
from tools.screenshots.snapshot import SEEN_AT, Stable


def test_relative_times_read_as_discord_words_them() -> None:
    assert relative(-3) == "a few seconds ago"
    assert relative(-70) == "a minute ago"
    assert relative(110) == "in 2 minutes"
    assert relative(-160) == "3 minutes ago"
    assert relative(2 * 3600) == "in 2 hours"


def test_markdown_keeps_escapes_quotes_and_live_parts() -> None:
    text = Markdown(now=1000, names={"42": "Alice"})
    assert text(r"a \*star\* and **bold**") == "a *star* and <strong>bold</strong>"
    assert text(">>> quoted\nstill quoted") == "<blockquote>quoted<br>still quoted</blockquote>"
    assert '<span class="time">in 2 minutes</span>' in text("ready <t:1120:R>")
    assert '<span class="mention">@Alice</span>' in text("<@42> done")
    assert text("[Open](https://x.example/v.mp4)") == '<a href="https://x.example/v.mp4">Open</a>'
    assert text("<b>not html</b>") == "&lt;b&gt;not html&lt;/b&gt;"


def test_a_recording_is_rewritten_the_same_way_every_run() -> None:
    stable = Stable({"http://127.0.0.1:5555": "https://discord.example"}, seen_wall=2000.0)
    out = stable.apply(
        {
            "content": "<@1234567890123456789> <t:1930:R>",
            "url": "http://127.0.0.1:5555/cdn/1234567890123456789/task_0123456789abcdef.mp4",
        }
    )
    assert out["content"] == f"<@1000000000000000001> <t:{SEEN_AT - 70}:R>"
    assert out["url"] == "https://discord.example/cdn/1000000000000000001/task_0000000000000001.mp4"


def test_a_page_draws_an_embed_with_its_fields_and_buttons() -> None:
    message = {
        "author": {"name": "soracord", "bot": True},
        "command": "video",
        "user": "Alice",
        "embeds": [{"title": "Text to video", "color": 0x5865F2, "fields": [{"name": "Cost", "value": "4"}]}],
        "components": [{"type": 1, "components": [{"type": 2, "style": 2, "label": "Again"}]}],
    }
    html = page({"scene": "x", "seen_at": SEEN_AT, "viewer": "Alice", "messages": [message]})
    assert "border-left-color:#5865f2" in html and "Alice</span> used" in html
    assert '<span class="button s2"><span>Again</span></span>' in html


def test_without_chromium_it_says_what_it_needs_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CHROMIUM", "/nowhere/chromium")
    assert cli.main(["render"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "apt-get install -y chromium" in err
