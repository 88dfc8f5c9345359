"""Discord's message markdown, the part the bot writes, as HTML.

Why our own: Discord's markdown is not CommonMark (``>>>`` quotes the rest of the message, ``__``
underlines, ``<t:…:R>`` is a live timestamp, ``<@id>`` a mention, masked links only where Discord
allows them), and the pictures must show what a member sees, escapes included — the bot escapes
members' words (``cogs.inert``), so ``\\*`` must come out as a star, not as italics.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

ESCAPE = re.compile(r"\\([\\*_~`|>#\-\[\]()<:@!.])")
CODE_BLOCK = re.compile(r"```(?:[a-z0-9+-]*\n)?(.*?)```", re.S)
CODE = re.compile(r"`([^`]+)`")
TIMESTAMP = re.compile(r"&lt;t:(-?\d+)(?::([tTdDfFR]))?&gt;")
MENTION = re.compile(r"&lt;@!?(\d+)&gt;")
LINK = re.compile(r"\[([^\]]+)\]\((?:&lt;)?(https?://[^)\s]+?)(?:&gt;)?\)")
URL = re.compile(r"(?<![\"'=\w])(https?://[^\s<]+[^\s<.,:;\"')\]])")
STYLES = (
    (re.compile(r"\*\*(.+?)\*\*", re.S), "strong"),
    (re.compile(r"__(.+?)__", re.S), "u"),
    (re.compile(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])", re.S), "em"),
    (re.compile(r"(?<![\w_])_(?!\s)(.+?)(?<!\s)_(?![\w_])", re.S), "em"),
    (re.compile(r"~~(.+?)~~", re.S), "s"),
    (re.compile(r"\|\|(.+?)\|\|", re.S), "mark"),
)
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def relative(seconds: float) -> str:
    """``<t:…:R>`` as Discord words it (its thresholds: 45 s, 45 min, 22 h, 26 days, 11 months)."""
    ahead, span = seconds > 0, abs(seconds)
    for limit, size, one, many in (
        (45, 1, "a few seconds", "a few seconds"),
        (90, 60, "a minute", "a minute"),
        (45 * 60, 60, "a minute", "{} minutes"),
        (90 * 60, 3600, "an hour", "an hour"),
        (22 * 3600, 3600, "an hour", "{} hours"),
        (36 * 3600, 86400, "a day", "a day"),
        (26 * 86400, 86400, "a day", "{} days"),
        (float("inf"), 30 * 86400, "a month", "{} months"),
    ):
        if span < limit:
            count = max(1, round(span / size))
            words = one if count == 1 else many.format(count)
            return f"in {words}" if ahead else f"{words} ago"
    raise AssertionError("unreachable")


def timestamp(epoch: int, style: str, now: int) -> str:
    """A ``<t:epoch:style>`` as a reader in UTC sees it at ``now``."""
    if style == "R":
        return relative(epoch - now)
    at = datetime.fromtimestamp(epoch, UTC)
    date = f"{at.day} {MONTHS[at.month - 1]} {at.year}"
    forms = {
        "t": f"{at:%H:%M}",
        "T": f"{at:%H:%M:%S}",
        "d": f"{at:%d/%m/%Y}",
        "D": date,
        "f": f"{date} {at:%H:%M}",
        "F": f"{DAYS[at.weekday()]}, {date} {at:%H:%M}",
    }
    return forms.get(style, forms["f"])


class Markdown:
    """Renders text as one reader sees it at ``now``; ``names`` are the mentioned users' names."""

    def __init__(self, *, now: int, names: Mapping[str, str], links: bool = True) -> None:
        self.now = now
        self.names = names
        self.links = links  # masked links: in embeds and a bot's messages, yes

    def __call__(self, text: str) -> str:
        kept: list[str] = []

        def keep(fragment: str) -> str:
            kept.append(fragment)
            return f"\x00{len(kept) - 1}\x00"

        text = ESCAPE.sub(lambda m: keep(html.escape(m.group(1))), text)
        text = CODE_BLOCK.sub(lambda m: keep(f"<pre>{html.escape(m.group(1).strip())}</pre>"), text)
        text = CODE.sub(lambda m: keep(f"<code>{html.escape(m.group(1))}</code>"), text)
        out = html.escape(text, quote=False)
        out = TIMESTAMP.sub(lambda m: keep(self._time(m)), out)
        out = MENTION.sub(lambda m: keep(self._mention(m.group(1))), out)
        if self.links:
            out = LINK.sub(lambda m: keep(f'<a href="{m.group(2)}">{m.group(1)}</a>'), out)
        out = URL.sub(lambda m: keep(f'<a href="{m.group(1)}">{m.group(1)}</a>'), out)
        for pattern, tag in STYLES:
            out = pattern.sub(_wrap(tag), out)
        out = _blocks(out)
        while "\x00" in out:
            out = re.sub(r"\x00(\d+)\x00", lambda m: kept[int(m.group(1))], out)
        return out

    def _time(self, match: re.Match[str]) -> str:
        shown = timestamp(int(match.group(1)), match.group(2) or "f", self.now)
        return f'<span class="time">{html.escape(shown)}</span>'

    def _mention(self, user_id: str) -> str:
        name = self.names.get(user_id, "unknown-user")
        return f'<span class="mention">@{html.escape(name)}</span>'


def _wrap(tag: str) -> Callable[[re.Match[str]], str]:
    return lambda m: f"<{tag}>{m.group(1)}</{tag}>"


def _blocks(text: str) -> str:
    """Quotes (``> `` a line, ``>>> `` the rest), headings and list items; newlines as ``<br>``."""
    lines = text.split("\n")
    out: list[str] = []
    quote: list[str] = []
    rest = False
    for line in lines:
        if rest or line.startswith("&gt;&gt;&gt; "):
            rest = True
            quote.append(line.removeprefix("&gt;&gt;&gt; "))
            continue
        if line.startswith("&gt; "):
            quote.append(line[5:])
            continue
        if quote:
            out.append(_quote(quote))
            quote = []
        heading = re.match(r"^(#{1,3}) (.*)$", line)
        if heading:
            out.append(f"<h{len(heading.group(1))}>{heading.group(2)}</h{len(heading.group(1))}>")
        elif line.startswith(("- ", "* ")):
            out.append(f'<div class="li">{line[2:]}</div>')
        else:
            out.append(line + "<br>")
    if quote:
        out.append(_quote(quote))
    return "".join(out).removesuffix("<br>")


def _quote(lines: list[str]) -> str:
    return f"<blockquote>{'<br>'.join(lines)}</blockquote>"
