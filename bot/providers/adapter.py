"""``VendorAdapter``: what every vendor adapter does the same way, written once.

The vendors speak different protocols, but the discipline around each call is the same everywhere,
and copies of it drift apart. So it lives here, and an adapter keeps only its protocol:

- a call that gets no answer becomes the one ``transport`` fault (a create that may have reached the
  vendor is final: repeating it could start, and bill, a second video);
- an answer that is not a JSON object is the vendor's error when its status says so (a proxy's HTML
  502: the status is all there is), else unreadable — worth another poll, but final for a create;
- a create answer without the new task's id is final for the same reason;
- a status word nobody documented counts as running (and is logged) until the job's timeout;
- every fault is logged once, by key name, before it is raised.

A subclass names its vendor (``vendor``, ``words``), says how a bare HTTP status reads in
its error table (``_status_error``) and implements ``submit`` and ``poll``.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from bot.providers.base import (
    AnyRequest,
    ApiKey,
    ProviderError,
    RemoteTask,
    TaskSnapshot,
    TaskState,
    VideoSource,
    scrub,
)
from bot.providers.capabilities import Capabilities
from bot.providers.faults import logged, malformed, public_result, transport
from bot.providers.http import HttpResponse, TransportError, VendorHttp, retry_on_5xx
from bot.providers.profiles import ProviderProfile, Timing

R = TypeVar("R")


@dataclass(frozen=True)
class StatusWords:
    """A vendor's status vocabulary, by the state each word means (compared stripped, lower-case).

    Data rather than code, so each adapter's words read like the table of docs/vendors.md,
    "Normalised states", and a word missing from it is treated the same way by every adapter.
    """

    queued: frozenset[str] = frozenset()
    running: frozenset[str] = frozenset()
    succeeded: frozenset[str] = frozenset()
    failed: frozenset[str] = frozenset()

    def state(self, word: str) -> TaskState | None:
        """The state ``word`` means; ``None`` for a word the vendor never documented."""
        w = word.strip().lower()
        for state, words in (
            (TaskState.QUEUED, self.queued),
            (TaskState.RUNNING, self.running),
            (TaskState.SUCCEEDED, self.succeeded),
            (TaskState.FAILED, self.failed),
        ):
            if w in words:
                return state
        return None


class VendorAdapter(ABC):
    """The shared half of a ``VideoProvider``, bound to one profile and the bot's one HTTP client."""

    vendor: ClassVar[str]  # the adapter's name in log lines
    words: ClassVar[StatusWords]
    capabilities: Capabilities

    def __init__(self, profile: ProviderProfile, http: VendorHttp) -> None:
        self.profile = profile
        self.http = http
        self._base = profile.base_url.rstrip("/")

    @property
    def name(self) -> str:
        return self.profile.name

    @property
    def log(self) -> logging.Logger:
        """The adapter module's logger, so a fault's log line names the vendor's module."""
        return logging.getLogger(type(self).__module__)

    def timing_for(self, req: AnyRequest) -> Timing:
        """The profile's ``timing``, for every job alike; a vendor whose jobs differ widely in length
        (many shots, long clips) scales it by the request."""
        return self.profile.timing

    async def preflight(self, req: AnyRequest, key: ApiKey) -> None:  # noqa: B027 - a hook, empty by default
        """Most vendors need nothing asked before a create."""

    @abstractmethod
    async def submit(self, req: AnyRequest, key: ApiKey) -> RemoteTask: ...

    @abstractmethod
    async def poll(self, task: RemoteTask, key: ApiKey) -> TaskSnapshot: ...

    async def open_result(self, snap: TaskSnapshot, key: ApiKey) -> VideoSource:
        """The vendor's public video URL; no key is needed to fetch it."""
        return public_result(snap)

    # ------------------------------------------------------------------ calls

    async def _send(self, call: Awaitable[R], route: str, key: ApiKey, *, submit: bool) -> R:
        """``call``'s answer; no answer at all is the ``transport`` fault (final when ``submit``)."""
        try:
            return await call
        except TransportError as exc:
            raise self._logged(transport(exc, submit=submit), route, key) from None

    async def _post_json(
        self,
        path: str,
        body: Mapping[str, Any],
        key: ApiKey,
        route: str,
        *,
        submit: bool,
        should_retry: Callable[[HttpResponse], bool] = retry_on_5xx,
    ) -> HttpResponse:
        """``POST`` a JSON body; a create (``submit``) is repeated only if it provably never left."""
        call = self.http.request_json(
            "POST",
            self._base + path,
            key=key,
            json_body=body,
            timeout_s=self.profile.request_timeout,
            idempotent=not submit,
            should_retry=should_retry,
        )
        return await self._send(call, route, key, submit=submit)

    # ------------------------------------------------------------------ reading answers

    @abstractmethod
    def _status_error(self, resp: HttpResponse, route: str, key: ApiKey) -> ProviderError:
        """The vendor's error for an error status whose body says nothing readable."""

    def _json_object(self, resp: HttpResponse, route: str, key: ApiKey, *, submit: bool) -> dict[str, Any]:
        """``resp``'s JSON object; else the status's error, or ``malformed`` (final when ``submit``)."""
        if isinstance(resp.data, dict):
            return resp.data
        if resp.status >= 400:
            err = self._status_error(resp, route, key)
        else:
            err = malformed(
                f"HTTP {resp.status} body is not a JSON object: {scrub(resp.text[:200], key)!r}",
                resp.status,
                retryable=not submit,
            )
        raise self._logged(err, route, key)

    def _not_created(self, missing: str, resp: HttpResponse, route: str, key: ApiKey) -> ProviderError:
        """A create answer that lacks ``missing``: something may have been created and billed, and
        repeating it blindly could double that, so the fault is final."""
        detail = f"{route} answer has no {missing}: {scrub(resp.text[:200], key)!r}"
        return self._logged(malformed(detail, resp.status, retryable=False), route, key)

    def _remote_id(self, value: object, resp: HttpResponse, route: str, key: ApiKey, *, field: str) -> str:
        """``value`` as the new task's id (a non-empty string or number), else ``_not_created``."""
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
            return str(value)
        raise self._not_created(field, resp, route, key)

    def _state(self, word: str, task_id: str) -> TaskState:
        """The state ``word`` means; an undocumented word is logged and counts as running."""
        state = self.words.state(word)
        if state is None:
            self.log.warning(
                "%s %s: task %s has unknown status %r, treated as running",
                self.vendor,
                self.name,
                task_id,
                word,
            )
            return TaskState.RUNNING
        return state

    def _logged(self, err: ProviderError, route: str, key: ApiKey) -> ProviderError:
        return logged(self.log, self.vendor, self.name, err, route, key)
