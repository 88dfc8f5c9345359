"""Embeds cut to Discord's limits (``cogs.limits``), checked with the fake Discord's own validator."""

from __future__ import annotations

import discord

from cogs.limits import URL, fit_embed, lines_within
from tests.fakes.discord.validate import embed_problems


def problems(embed: discord.Embed) -> list[str]:
    return [p.message for p in embed_problems(dict(embed.to_dict()), ())]


def test_an_embed_over_every_limit_is_cut_to_fit() -> None:
    embed = discord.Embed(title="t" * 300, description="d" * 5000, url="https://x.test/" + "u" * URL)
    for n in range(30):
        embed.add_field(name="n" * 300, value=f"{n}" + "v" * 2000)
    embed.set_image(url="https://cdn.test/" + "i" * URL)
    embed.set_thumbnail(url="https://cdn.test/small.png")
    embed.set_footer(text="f" * 3000)
    assert problems(embed)
    fitted = fit_embed(embed)
    assert problems(fitted) == []
    assert fitted.url is None and fitted.image.url is None  # a cut link would lead somewhere else
    assert fitted.thumbnail.url == "https://cdn.test/small.png"
    assert fitted.title and fitted.title.endswith("…") and len(fitted.title) == 256
    assert fitted.fields and fitted.fields[0].value and fitted.fields[0].value.startswith("0v")
    total = len(fitted.title) + len(fitted.description or "") + len(fitted.footer.text or "")
    total += sum(len(f.name or "") + len(f.value or "") for f in fitted.fields)
    assert total <= 6000


def test_an_embed_within_the_limits_is_left_alone() -> None:
    embed = discord.Embed(title="Text to video", description="a boat")
    embed.add_field(name="Status", value="✅")
    assert fit_embed(embed) is embed


def test_lines_are_kept_whole_with_a_mark_where_some_were_left_out() -> None:
    lines = [f"{n:02d} " + "x" * 497 for n in range(10)]  # 10 lines of 500
    text = lines_within(lines, 4096)
    assert len(text) <= 4096 and text.endswith("\n…")
    assert text.split("\n")[:-1] == lines[:8]
    assert lines_within(["short", "lines"], 4096) == "short\nlines"
    assert lines_within(["y" * 5000], 4096).endswith("…")
