"""A PostgreSQL URL fit to print: ``migrate --to`` is handed a URL that may carry a password, and no
line it prints, no error text it passes on and no lock file it writes may show it. Here is how a URL
is masked, how its passwords are found, and how they are scrubbed from any text."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from bot.logs import MIN_SECRET_LENGTH

MASK = "***"


def shown_url(url: str) -> str:
    """``url`` fit to print: a password in the user part or in a ``password=`` parameter is ``***``."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:  # not a URL we can take apart: show only its scheme
        return url.split("://", 1)[0] + "://" + MASK if "://" in url else MASK
    netloc = parts.netloc
    if password is not None:
        user, host = netloc.rsplit("@", 1)
        netloc = f"{user.split(':', 1)[0]}:{MASK}@{host}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(k.lower() == "password" for k, _ in pairs):
            masked = [(k, MASK if k.lower() == "password" else v) for k, v in pairs]
            query = urlencode(masked, safe="/*")
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def passwords(url: str) -> list[str]:
    """Every password ``url`` carries (the user part's, a ``password=`` parameter's), raw and quoted."""
    found: list[str] = []
    with contextlib.suppress(ValueError):
        parts = urlsplit(url)
        raw = parts.netloc.rsplit("@", 1)[0].partition(":")[2] if "@" in parts.netloc else ""
        found += [raw, unquote(raw)]
        found += [v for k, v in parse_qsl(parts.query, keep_blank_values=True) if k.lower() == "password"]
    return [p for p in found if p]


def scrub(text: str, url: str) -> str:
    """``text`` (an error's words) with ``url`` shown masked and any of its passwords replaced."""
    text = text.replace(url, shown_url(url))
    for secret in sorted(passwords(url), key=len, reverse=True):
        if len(secret) >= MIN_SECRET_LENGTH:  # a shorter one would blank out ordinary letters
            text = text.replace(secret, MASK)
    return text


@contextlib.contextmanager
def argv_masked(url: str) -> Iterator[None]:
    """Hide the URL's password from ``sys.argv`` while the lock file records the command line
    (``--to=URL`` would put it in the first three words the lock file keeps, readable by anyone)."""
    saved = sys.argv[:]
    sys.argv[:] = [scrub(arg, url) for arg in saved]
    try:
        yield
    finally:
        sys.argv[:] = saved
