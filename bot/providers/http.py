"""HTTP discipline shared by every vendor adapter.

One ``aiohttp.ClientSession`` for the whole bot, an explicit timeout on every call, a
``User-Agent`` that says who we are (nanophoto's own client sends one; bot protection may expect
it), and one retry policy: jittered exponential backoff, bounded, and only for calls that are safe to
repeat. A create is not safe to repeat — a second POST may start (and bill) a second video — so it
is repeated only when the request provably never reached the vendor (connection refused, DNS
failure). Status checks and downloads are idempotent and are also repeated on 5xx and on
connection drops. A caller with a budget sets a gate (``bot.providers.attempts``): then every
attempt, retries included, waits for it and is counted by it.

HTTP error statuses never raise here: vendors put meaning in 4xx/5xx bodies (nanophoto reports a
failed task as HTTP 500 with a JSON body), so the adapter reads the response and decides. Only
transport failures raise, as ``TransportError``.

The API key is added per call from ``ApiKey.secret`` and never logged; every text that leaves this
module (log records, exception messages) is scrubbed of it as a second line of defence.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Self, TypeVar
from urllib.parse import urlsplit, urlunsplit

import aiohttp

from bot import metrics
from bot.net import USER_AGENT as USER_AGENT  # one User-Agent for every request the bot sends
from bot.net import Fetcher
from bot.providers import attempts
from bot.providers.attempts import RetryPolicy as RetryPolicy  # defined beside the gate; imported from here
from bot.providers.attempts import TransportError as TransportError
from bot.providers.base import ApiKey, scrub

log = logging.getLogger(__name__)

DEFAULT_MAX_BODY = 4 * 1024 * 1024  # a JSON status body is a few hundred bytes; cap the damage
CONNECT_TIMEOUT = 10.0

Sleep = Callable[[float], Awaitable[None]]
R = TypeVar("R")


@dataclass(frozen=True)
class HttpResponse:
    """A vendor answer, whatever its status.

    ``data`` is the parsed JSON body, or ``None`` when the body was empty, too large or not JSON
    (``text`` still holds what arrived). ``attempts`` says how many requests it took, which matters
    to vendors that count every request against an hourly budget.
    """

    status: int
    data: Any
    text: str
    headers: Mapping[str, str] = field(default_factory=dict)
    attempts: int = 1

    @property
    def is_json(self) -> bool:
        return self.data is not None


@dataclass(frozen=True)
class FormFile:
    """One file part of a multipart/form-data body."""

    name: str
    data: bytes = field(repr=False)
    filename: str
    content_type: str


@dataclass(frozen=True)
class BytesResponse:
    """A downloaded file, whatever its status; ``truncated``: it was cut at ``max_bytes``."""

    status: int
    body: bytes
    content_type: str
    truncated: bool
    attempts: int = 1


def retry_on_5xx(resp: HttpResponse) -> bool:
    """The default answer-based retry rule for idempotent calls: the vendor had a server fault."""
    return resp.status >= 500


def redact_url(url: str) -> str:
    """Drop query and credentials from a URL before it goes into a log or an error."""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _never_sent(exc: BaseException) -> bool:
    """True when the failure happened before any byte of the request left this machine."""
    return isinstance(exc, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError)


def _pointless_to_retry(exc: BaseException) -> bool:
    """A bad certificate or TLS setup will not fix itself in a second."""
    return isinstance(exc, aiohttp.ClientConnectorCertificateError | aiohttp.ClientSSLError)


class VendorHttp:
    """The bot's one HTTP client for vendor APIs.

    Pass an existing ``session`` to share it (the caller then closes it), or let this class create
    one lazily on first use (``close()`` then closes it). ``sleep`` and ``rng`` are injectable so
    tests of the retry policy run instantly and deterministically. The session is for the vendor's
    configured ``base_url``; a URL someone hands over (a member's image) goes through ``fetcher``,
    the bot's one ``bot.net.Fetcher`` (by default a new one that refuses private addresses).
    """

    def __init__(
        self,
        session: aiohttp.ClientSession | None = None,
        *,
        retry: RetryPolicy | None = None,
        sleep: Sleep | None = None,
        rng: random.Random | None = None,
        user_agent: str = USER_AGENT,
        max_body: int = DEFAULT_MAX_BODY,
        fetcher: Fetcher | None = None,
    ) -> None:
        self._session = session
        self._owns_session = session is None
        self.fetcher = fetcher or Fetcher()
        self._owns_fetcher = fetcher is None
        self.retry = retry or RetryPolicy()
        self._sleep: Sleep = sleep or asyncio.sleep
        self._rng = rng or random.Random()
        self.user_agent = user_agent
        self.max_body = max_body

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def session(self) -> aiohttp.ClientSession:
        """The shared session, created on first use (inside the running event loop)."""
        if self._session is None or (self._owns_session and self._session.closed):
            self._session = aiohttp.ClientSession(raise_for_status=False)
            self._owns_session = True
        return self._session

    async def close(self) -> None:
        if self._owns_session and self._session is not None and not self._session.closed:
            await self._session.close()
        if self._owns_fetcher:
            await self.fetcher.close()

    def _headers(
        self, key: ApiKey | None, extra: Mapping[str, str] | None, *, json_body: bool
    ) -> dict[str, str]:
        headers = {"User-Agent": self.user_agent, "Accept": "application/json"}
        if json_body:
            headers["Content-Type"] = "application/json"
        if extra:
            headers.update(extra)
        if key is not None:
            headers["Authorization"] = f"Bearer {key.secret.get_secret_value()}"
        return headers

    @staticmethod
    def _timeout(seconds: float) -> aiohttp.ClientTimeout:
        return aiohttp.ClientTimeout(total=seconds, sock_connect=min(seconds, CONNECT_TIMEOUT))

    async def request_json(
        self,
        method: str,
        url: str,
        *,
        key: ApiKey | None,
        timeout_s: float,
        idempotent: bool,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
        should_retry: Callable[[HttpResponse], bool] = retry_on_5xx,
    ) -> HttpResponse:
        """Send one JSON request and return status, parsed JSON (or ``None``) and text.

        Never raises on an HTTP status. ``idempotent`` must be True only for calls that are safe to
        repeat; those are retried when ``should_retry(response)`` says so (default: 5xx) and on
        transport failures. Non-idempotent calls are retried only when the request never left.
        Raises ``TransportError`` when no answer arrived after the last attempt.
        """
        hdrs = self._headers(key, headers, json_body=json_body is not None)
        body = None if json_body is None else json.dumps(json_body, separators=(",", ":"))
        return await self._request(method, url, key, hdrs, lambda: body, timeout_s, idempotent, should_retry)

    async def request_form(
        self,
        method: str,
        url: str,
        *,
        key: ApiKey | None,
        timeout_s: float,
        idempotent: bool,
        fields: Mapping[str, str],
        files: Sequence[FormFile] = (),
        headers: Mapping[str, str] | None = None,
        should_retry: Callable[[HttpResponse], bool] = retry_on_5xx,
    ) -> HttpResponse:
        """Send one multipart/form-data request; otherwise exactly like ``request_json``.

        The form is built afresh for every attempt: an ``aiohttp.FormData`` can be sent only once.
        """

        def form() -> aiohttp.FormData:
            data = aiohttp.FormData(default_to_multipart=True)
            for name, value in fields.items():
                data.add_field(name, value)
            for part in files:
                data.add_field(part.name, part.data, filename=part.filename, content_type=part.content_type)
            return data

        hdrs = self._headers(key, headers, json_body=False)
        return await self._request(method, url, key, hdrs, form, timeout_s, idempotent, should_retry)

    async def _request(
        self,
        method: str,
        url: str,
        key: ApiKey | None,
        hdrs: Mapping[str, str],
        body: Callable[[], Any],
        timeout_s: float,
        idempotent: bool,
        should_retry: Callable[[HttpResponse], bool],
    ) -> HttpResponse:
        """One request whose answer is read as JSON; ``body()`` gives the payload for each attempt."""

        async def once() -> HttpResponse:
            async with self.session().request(
                method, url, data=body(), headers=hdrs, timeout=self._timeout(timeout_s)
            ) as resp:
                raw = await resp.content.read(self.max_body + 1)
                text = raw[: self.max_body].decode(resp.charset or "utf-8", errors="replace")
                data: Any = None
                if len(raw) <= self.max_body and text.strip():
                    try:
                        data = json.loads(text)
                    except ValueError:
                        data = None
                return HttpResponse(status=resp.status, data=data, text=text, headers=dict(resp.headers))

        resp, attempts = await self._with_retries(
            method, url, key, once, idempotent=idempotent, should_retry=should_retry
        )
        return dataclasses.replace(resp, attempts=attempts)

    async def get_bytes(
        self,
        url: str,
        *,
        timeout_s: float,
        max_bytes: int,
        key: ApiKey | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> BytesResponse:
        """Download a (small) file, e.g. a finished video; retried like any idempotent call.

        Reads at most ``max_bytes`` (+1 to tell whether it was cut). Callers that decide how much
        to read from what the answer says use ``get_with``.
        """

        async def read(resp: aiohttp.ClientResponse) -> BytesResponse:
            raw = await resp.content.read(max_bytes + 1)
            return BytesResponse(
                status=resp.status,
                body=raw[:max_bytes],
                content_type=resp.content_type,
                truncated=len(raw) > max_bytes,
            )

        got, attempts = await self.get_with(
            url, read, timeout_s=timeout_s, key=key, headers=headers, should_retry=lambda r: r.status >= 500
        )
        return dataclasses.replace(got, attempts=attempts)

    async def get_with(
        self,
        url: str,
        read: Callable[[aiohttp.ClientResponse], Awaitable[R]],
        *,
        timeout_s: float,
        should_retry: Callable[[R], bool],
        key: ApiKey | None = None,
        accept: str = "*/*",
        headers: Mapping[str, str] | None = None,
        follow: bool = True,
    ) -> tuple[R, int]:
        """``GET`` and let ``read`` take what it needs from the open answer; ``follow``: redirects too
        (``False`` where the target is the vendor's to name: that URL goes through ``fetcher``).

        Retried like any idempotent call: on transport failures and when ``should_retry(result)``
        says so. Returns ``read``'s result and how many requests it took.
        """
        hdrs = self._headers(key, headers, json_body=False)
        hdrs["Accept"] = accept

        async def once() -> R:
            timeout = self._timeout(timeout_s)
            async with self.session().get(url, headers=hdrs, timeout=timeout, allow_redirects=follow) as resp:
                return await read(resp)

        return await self._with_retries("GET", url, key, once, idempotent=True, should_retry=should_retry)

    async def _with_retries(
        self,
        method: str,
        url: str,
        key: ApiKey | None,
        once: Callable[[], Awaitable[R]],
        *,
        idempotent: bool,
        should_retry: Callable[[R], bool],
    ) -> tuple[R, int]:
        """``once()`` under the retry policy; with a gate set (``attempts.gated``) every attempt
        first waits for the gate, which may also stop the retries (the previous outcome then stands)."""
        where = f"{method} {redact_url(url)}"
        who = key.name if key is not None else "-"
        limit = self.retry.attempts
        gate = attempts.current()
        outcome: tuple[R, int] | TransportError | None = None
        pause, what = 0.0, ""
        for attempt in range(1, limit + 1):
            if gate is not None:
                if not await gate.admit(key, attempt, pause):
                    break
            elif attempt > 1:
                await self._sleep(pause)
            last = attempt == limit
            try:
                result = await once()
                metrics.vendor_answer(key, url, getattr(result, "status", 0))
            except (aiohttp.ClientError, TimeoutError) as exc:
                metrics.vendor_failure(key, url, exc)
                if gate is not None:
                    gate.answered(key, False)
                never_sent = _never_sent(exc)
                may_retry = (idempotent or never_sent) and not _pointless_to_retry(exc)
                what = scrub(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__, key)
                outcome = TransportError(
                    f"{where} failed: {what}",
                    method=method,
                    url=redact_url(url),
                    maybe_sent=not never_sent,
                    attempts=attempt,
                )
                if last or not may_retry:
                    break
            else:
                failed = should_retry(result)
                if gate is not None:
                    gate.answered(key, not failed)
                if last or not idempotent or not failed:
                    return result, attempt
                outcome, what = (result, attempt), f"HTTP {getattr(result, 'status', '?')}"
            pause = self.retry.delay(attempt - 1, self._rng)
            log.info(
                "%s (key %s) attempt %d/%d: %s; retrying (%.2f s)", where, who, attempt, limit, what, pause
            )
        if outcome is None:  # the gate let not even the first try go out
            raise TransportError(
                f"{where} not sent: no room in key {who}'s budget before the deadline",
                method=method,
                url=redact_url(url),
                maybe_sent=False,
                attempts=0,
            )
        if isinstance(outcome, TransportError):
            log.warning("%s (key %s) failed after %d attempt(s): %s", where, who, outcome.attempts, what)
            raise outcome
        return outcome
