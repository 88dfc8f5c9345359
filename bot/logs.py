"""Logging, configured once in ``bot/__main__.py``: plain or JSON lines, job context, no secrets.

Secrets are scrubbed on the root *handler*, not on a logger: a handler filter sees every record
that reaches the output, whichever library logged it (aiohttp, discord.py, ours), while a logger
filter would miss records propagated from child loggers. The filter renders the message first
(``msg % args``), then replaces every configured secret — the Discord token and each provider key,
matched exactly — and anything shaped like ``Bearer …`` or ``Authorization: …``, in the message,
the exception text and the stack text. Secrets learned after start-up (profiles are read after
logging is set up) are added with ``add_secrets``.

``job_id`` and ``interaction_id`` come from ``extra={...}`` when a call passes them, else from
the context variables set by ``log_context`` (which tasks inherit when they are created).
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

REDACTED = "***"
MIN_SECRET_LENGTH = 4  # a shorter "secret" would blank out ordinary words; such keys are not real

job_id_var: contextvars.ContextVar[int | None] = contextvars.ContextVar("job_id", default=None)
interaction_id_var: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "interaction_id", default=None
)

# `Authorization: Bearer x`, `'Authorization': 'Bot x'`, `authorization=x` ...
_AUTH_HEADER = re.compile(
    r"""(?P<head>authorization['"]?\s*[:=]\s*['"]?)(?:(?:bearer|bot|basic|token)\s+)?[^\s'",;}\]]+""",
    re.IGNORECASE,
)
_BEARER = re.compile(r"(?P<head>\bbearer\s+)[A-Za-z0-9._~+/=-]+", re.IGNORECASE)
# A Discord bot token: base64 user id . timestamp . HMAC (the shape, in case one is not configured).
_DISCORD_TOKEN = re.compile(r"\b[A-Za-z0-9_-]{23,28}\.[A-Za-z0-9_-]{6,7}\.[A-Za-z0-9_-]{27,}\b")
# An interaction token (a 15-minute credential) in a route: /webhooks/<app>/<token>,
# /interactions/<id>/<token>/callback, or discord.py's `'token': '…'` in a payload it logs.
_INTERACTION_TOKEN = re.compile(
    r"(?P<head>/(?:webhooks|interactions)/\d+/|['\"]token['\"]\s*:\s*['\"])[A-Za-z0-9._~-]{20,}"
)

_CONTEXT_FIELDS = ("job_id", "interaction_id")


@contextmanager
def log_context(*, job_id: int | None = None, interaction_id: int | None = None) -> Iterator[None]:
    """Tag every record logged inside the block (and in tasks created inside it)."""
    tokens: list[tuple[contextvars.ContextVar[int | None], contextvars.Token[int | None]]] = []
    if job_id is not None:
        tokens.append((job_id_var, job_id_var.set(job_id)))
    if interaction_id is not None:
        tokens.append((interaction_id_var, interaction_id_var.set(interaction_id)))
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


def tag_interaction(interaction_id: int) -> None:
    """Tag the rest of the current task (one interaction's handler, and the tasks it starts) with
    ``interaction_id``. discord.py runs each interaction in a task of its own, so nothing leaks."""
    interaction_id_var.set(interaction_id)


class Redactor:
    """Replaces known secrets and credential-shaped text in a string."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        for secret in secrets:
            secret = secret.strip()
            if len(secret) >= MIN_SECRET_LENGTH:
                self._secrets.add(secret)
        # Longest first, so a secret that contains another is replaced whole.
        self._ordered = sorted(self._secrets, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._ordered:
            if secret in text:
                text = text.replace(secret, REDACTED)
        text = _AUTH_HEADER.sub(lambda m: m.group("head") + REDACTED, text)
        text = _BEARER.sub(lambda m: m.group("head") + REDACTED, text)
        text = _INTERACTION_TOKEN.sub(lambda m: m.group("head") + REDACTED, text)
        return _DISCORD_TOKEN.sub(REDACTED, text)


class RedactingFilter(logging.Filter):
    """Renders and scrubs each record in place, so every formatter after it sees clean text."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not hide the record, nor leak its args
            message = f"{record.msg!s} (unformattable arguments)"
        record.msg = self.redactor(message)
        record.args = None
        if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.exc_info = None  # only the scrubbed text below is ever printed
        if record.exc_text:
            record.exc_text = self.redactor(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redactor(record.stack_info)
        for name, value in list(vars(record).items()):
            if name not in _STANDARD_ATTRS and isinstance(value, str):
                setattr(record, name, self.redactor(value))
        return True


class ContextFilter(logging.Filter):
    """Adds ``job_id`` / ``interaction_id`` from the context unless ``extra`` already set them."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "job_id", None) is None:
            record.job_id = job_id_var.get()
        if getattr(record, "interaction_id", None) is None:
            record.interaction_id = interaction_id_var.get()
        return True


class PlainFormatter(logging.Formatter):
    """``time LEVEL logger [job 7 interaction 9]: message`` — the context part only when known."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(context)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        parts = [
            f"{name.removesuffix('_id')} {value}"
            for name in _CONTEXT_FIELDS
            if (value := getattr(record, name, None)) is not None
        ]
        record.context = f" [{' '.join(parts)}]" if parts else ""
        return super().format(record)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, context, then exception text."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in _CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        for name, value in vars(record).items():
            if name not in _STANDARD_ATTRS and name not in entry and name != "context":
                entry[name] = (
                    value if isinstance(value, int | float | bool | str) or value is None else str(value)
                )
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False, default=str)


_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
    *_CONTEXT_FIELDS,
}

_installed: logging.Handler | None = None


def configure_logging(
    *,
    level: str = "INFO",
    fmt: Literal["plain", "json"] = "plain",
    secrets: Iterable[str] = (),
    stream: TextIO | None = None,
) -> RedactingFilter:
    """Install the one root handler (replacing an earlier one of ours); returns its redaction filter."""
    global _installed
    root = logging.getLogger()
    if _installed is not None:
        root.removeHandler(_installed)
        _installed.close()
    handler = logging.StreamHandler(stream or sys.stderr)
    redaction = RedactingFilter(Redactor(secrets))
    handler.addFilter(redaction)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else PlainFormatter())
    root.addHandler(handler)
    root.setLevel(level)
    logging.captureWarnings(True)
    _installed = handler
    return redaction


def add_secrets(secrets: Iterable[str]) -> None:
    """Scrub these too from now on (e.g. provider keys, read after logging was configured)."""
    if _installed is None:
        return
    for flt in _installed.filters:
        if isinstance(flt, RedactingFilter):
            flt.redactor.add(secrets)
