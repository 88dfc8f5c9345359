"""What every fake video vendor shares: ``FakeVendor``, a real aiohttp server on 127.0.0.1.

The fakes in ``nanophoto.py``, ``nanophoto_tvc.py``, ``freesora.py`` and ``openai_videos.py`` speak
different protocols but are driven the same way by tests::

    async with FakeSomething(...) as fake:          # or ``await fake.start()`` / ``await fake.stop()``
        fake.script_next(Script(...))               # how the next created jobs behave
        fake.fail_next("status", status=503)        # one vendor-shaped error (each fake's own envelope)
        fake.malformed_next("status")               # one truncated JSON answer
        fake.slow_next("status", 0.5)               # one late, otherwise normal, answer
        provider = Adapter(fake.profile(), http)    # a ProviderProfile with short timings
        ...
        assert fake.count(route="create") == 1      # every request is recorded

This module holds that machinery: start/stop on a random port (``base_url``), the configured keys
(``keys``, ``api_key``, ``api_keys``) and Bearer authentication, ``profile()``, the per-route queue
of forced answers (``force``, ``slow_next``, ``malformed_next``), the recorded requests
(``requests``, ``calls``, ``count``, ``calls_per_key``), the script queue, ``FakeClock``, the MP4
payload and the public link that serves it (``video_url``). A subclass adds its protocol:
``_add_routes`` (the handlers call ``_answer`` with the route's name and its logic), its bodies and
scripts, and overrides the small hooks where the vendors differ on purpose — ``_jobs`` (its jobs by
id, for ``video_url``), ``_json`` (how JSON is sent), ``_unauthorized`` (the 401 body),
``_profile_fields`` (vendor-specific profile fields), ``_body_fields`` (how a request body is read)
and ``_after`` (what else to note about an answer).
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, ClassVar, Self

from aiohttp import web
from pydantic import SecretStr

from bot.providers.base import ApiKey
from bot.providers.profiles import ProviderProfile, Timing

MP4_HEAD = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"


class FakeClock:
    """A settable clock for rate-limit windows and time-driven progressions."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class RecordedRequest:
    """One request as the fake received it (and, once answered, the HTTP status it got)."""

    route: str  # the route's name, e.g. "generate" | "status" | "video"
    method: str
    path: str
    json: Any  # the parsed JSON body, None when absent or not JSON (see ``text``)
    text: str
    key_name: str | None  # the configured key that authenticated the call, None if none matched
    user_agent: str | None
    content_type: str | None
    authorization: str | None = None  # the raw header (to check it never reaches a CDN)
    status: int | None = None  # the HTTP status answered (None while still being answered)
    at: float = 0.0  # the fake's clock when it arrived


@dataclass
class _Forced:
    remaining: int
    status: int | None
    body: Any
    delay: float
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)


def mp4_bytes(size: int) -> bytes:
    """A tiny MP4-looking payload: an ``ftyp`` box, then zeros up to ``size`` bytes."""
    if size <= len(MP4_HEAD):
        return MP4_HEAD[: max(size, 0)]
    return MP4_HEAD + bytes(size - len(MP4_HEAD))


def mp4_response(size: int) -> web.Response:
    return web.Response(body=mp4_bytes(size), headers={"Content-Type": "video/mp4"})


def not_found() -> web.Response:
    return web.Response(status=404, text="Not Found")


def json_response(data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    """JSON with ``Content-Type: application/json`` exactly (aiohttp's adds ``; charset=utf-8``)."""
    return web.Response(
        body=json.dumps(data).encode(),
        status=status,
        headers={"Content-Type": "application/json", **(headers or {})},
    )


async def read_json_body(request: web.Request) -> tuple[str, Any]:
    """The body as text, and parsed as JSON (None when absent or not JSON)."""
    text = await request.text() if request.can_read_body else ""
    try:
        parsed: Any = json.loads(text) if text else None
    except ValueError:
        parsed = None
    return text, parsed


Logic = Callable[[Any], web.Response]


class FakeVendor:
    """The base of the fake vendors: lifecycle, keys, profile, forced answers, recording.

    A subclass sets the class attributes (``ROUTES``: the route names ``force`` accepts;
    ``KEYED_ROUTES``: those ``calls_per_key`` counts; ``KIND``/``PROFILE_NAME``: the profile's kind
    and default name; ``MALFORMED_TEXT``: the default truncated body; ``DEFAULT_KEYS``; ``RECORD``:
    its ``RecordedRequest`` subclass, if it records more), implements ``_add_routes`` and passes its
    own arguments on to ``__init__``.
    """

    ROUTES: ClassVar[tuple[str, ...]] = ()
    KEYED_ROUTES: ClassVar[tuple[str, ...]] = ()
    KIND: ClassVar[str] = ""
    PROFILE_NAME: ClassVar[str] = ""
    MALFORMED_TEXT: ClassVar[str] = '{"status": "proce'
    DEFAULT_KEYS: ClassVar[Mapping[str, str]] = {}
    CLIENT_MAX_SIZE: ClassVar[int] = 1024**2  # aiohttp's default
    RECORD: ClassVar[type[RecordedRequest]] = RecordedRequest
    FINISHED: ClassVar[str] = "completed"  # the job state in which ``video_url`` serves its MP4

    def __init__(
        self,
        keys: Mapping[str, str] | None,
        *,
        clock: Callable[[], float] | None,
        default_clock: Callable[[], float] = time.monotonic,
        default_script: Any,
        video_size: int,
    ) -> None:
        self.keys: dict[str, str] = dict(self.DEFAULT_KEYS if keys is None else keys)
        self.clock: Callable[[], float] = clock or default_clock
        self.default_script = default_script
        self.video_size = video_size
        self.requests: list[Any] = []
        self._scripts: deque[Any] = deque()
        self._forced: dict[str, deque[_Forced]] = {r: deque() for r in self.ROUTES}
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    # ------------------------------------------------------------------ lifecycle

    def _add_routes(self, router: web.UrlDispatcher) -> None:
        raise NotImplementedError

    async def start(self) -> Self:
        app = web.Application(client_max_size=self.CLIENT_MAX_SIZE)
        self._add_routes(app.router)
        self._runner = web.AppRunner(app, shutdown_timeout=0.2, handler_cancellation=True, access_log=None)
        await self._runner.setup()
        self._port = await self._listen()
        return self

    async def _listen(self) -> int:
        """Serve the app on one more random 127.0.0.1 port; return the port."""
        assert self._runner is not None
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        await web.SockSite(self._runner, sock).start()
        return int(sock.getsockname()[1])

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def _url(self, port: int | None) -> str:
        if port is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return f"http://127.0.0.1:{port}"

    @property
    def base_url(self) -> str:
        return self._url(self._port)

    # ------------------------------------------------------------------ helpers for tests

    def api_key(self, name: str | None = None) -> ApiKey:
        """An ``ApiKey`` for a configured key (the first one by default)."""
        name = name or next(iter(self.keys))
        return ApiKey(name=name, secret=SecretStr(self.keys[name]))

    def api_keys(self) -> tuple[ApiKey, ...]:
        return tuple(self.api_key(n) for n in self.keys)

    def _profile_fields(self) -> dict[str, Any]:
        """The vendor's own ``ProviderProfile`` fields (limits, models, ...)."""
        return {}

    def profile(self, name: str | None = None, **overrides: Any) -> ProviderProfile:
        """A ``ProviderProfile`` of the fake's kind pointing at this fake, with short timings."""
        fields: dict[str, Any] = {
            "name": self.PROFILE_NAME if name is None else name,
            "kind": self.KIND,
            "base_url": self.base_url,
            "keys": self.api_keys(),
            **self._profile_fields(),
            "timing": Timing(
                expected=0.02, first_poll=0.01, poll_interval=0.01, timeout=5.0, backoff_max=0.05
            ),
            "request_timeout": 2.0,
        }
        fields.update(overrides)
        return ProviderProfile(**fields)

    # ------------------------------------------------------------------ scripting

    def script_next(self, *scripts: Any) -> None:
        """Queue behaviours for the next created jobs, in order (then ``default_script``)."""
        self._scripts.extend(scripts)

    def _next_script(self) -> Any:
        return self._scripts.popleft() if self._scripts else self.default_script

    def _step_index(self, advance: str, seconds: float, created_at: float, polls: int) -> int:
        """Which step (from 0) of its script a job is on: one per status check with
        ``advance="poll"``, one per ``seconds`` on the fake's clock with ``advance="time"``."""
        if advance == "time":
            return int((self.clock() - created_at) / seconds)
        return polls - 1

    def force(
        self,
        route: str,
        *,
        times: int = 1,
        status: int | None = 200,
        body: Any = None,
        delay: float = 0.0,
        content_type: str = "application/json",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Answer the next ``times`` calls of ``route`` with this instead of the normal logic.

        ``body``: a dict/list is sent as JSON, a str/bytes as it is. ``status=None`` and
        ``body=None`` with a ``delay`` means "answer normally, but late". Forced answers change no
        state: no job, no credits, no rate-limit count.
        """
        self._forced[route].append(_Forced(times, status, body, delay, content_type, dict(headers or {})))

    def malformed_next(
        self, route: str, *, status: int = 200, text: str | None = None, times: int = 1
    ) -> None:
        """The next calls answer with truncated JSON (``text``, by default ``MALFORMED_TEXT``)."""
        self.force(route, times=times, status=status, body=self.MALFORMED_TEXT if text is None else text)

    def slow_next(self, route: str, delay: float, *, times: int = 1) -> None:
        """Answer normally, after ``delay`` seconds."""
        self.force(route, times=times, status=None, body=None, delay=delay)

    # ------------------------------------------------------------------ reading what happened

    def calls(self, route: str | None = None, *, key_name: str | None = None) -> list[Any]:
        return [
            r
            for r in self.requests
            if (route is None or r.route == route) and (key_name is None or r.key_name == key_name)
        ]

    def count(self, route: str | None = None, *, key_name: str | None = None) -> int:
        return len(self.calls(route, key_name=key_name))

    @property
    def calls_per_key(self) -> Counter[str]:
        """Authenticated calls of the ``KEYED_ROUTES`` (the vendor's API proper), per key name."""
        return Counter(r.key_name for r in self.requests if r.key_name and r.route in self.KEYED_ROUTES)

    # ------------------------------------------------------------------ request plumbing

    def _json(self, data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
        """How this vendor sends JSON (forced dict/list bodies too)."""
        return json_response(data, status, headers)

    def _unauthorized(self) -> web.Response:
        """The vendor's answer to a call without a configured Bearer key."""
        raise NotImplementedError

    def _auth(self, rec: RecordedRequest) -> web.Response | None:
        """``_unauthorized()`` when no configured key authenticated ``rec``, else None."""
        return self._unauthorized() if rec.key_name is None else None

    def _key_name(self, authorization: str | None) -> str | None:
        if not authorization or not authorization.startswith("Bearer "):
            return None
        token = authorization.removeprefix("Bearer ").strip()
        return next((n for n, s in self.keys.items() if s == token), None)

    async def _body_fields(self, request: web.Request) -> dict[str, Any]:
        """The ``RECORD`` fields read from the body (by default ``text`` and ``json``)."""
        text, parsed = await read_json_body(request)
        return {"text": text, "json": parsed}

    async def _begin(self, request: web.Request, route: str) -> tuple[Any, _Forced | None]:
        """Record the request (authenticating its key) and pop the route's next forced answer."""
        auth = request.headers.get("Authorization")
        rec = self.RECORD(
            route=route,
            method=request.method,
            path=request.path,
            key_name=self._key_name(auth),
            authorization=auth,
            user_agent=request.headers.get("User-Agent"),
            content_type=request.headers.get("Content-Type"),
            at=self.clock(),
            **await self._body_fields(request),
        )
        self.requests.append(rec)
        forced = None
        queue = self._forced.get(route)
        if queue:
            forced = queue[0]
            forced.remaining -= 1
            if forced.remaining <= 0:
                queue.popleft()
        return rec, forced

    def _forced_response(self, forced: _Forced) -> web.Response | None:
        if forced.status is None and forced.body is None:
            return None
        status = forced.status or 200
        if isinstance(forced.body, dict | list):
            return self._json(forced.body, status, forced.headers)
        if isinstance(forced.body, bytes):
            data = forced.body
        else:
            data = ("" if forced.body is None else str(forced.body)).encode()
        return web.Response(
            body=data, status=status, headers={"Content-Type": forced.content_type, **forced.headers}
        )

    def _walk(
        self, job: Any, steps: tuple[Any, ...], fallback: tuple[Any, ...], seconds: float, *, done: str
    ) -> Any:
        """Move ``job`` along its script's ``steps``; return the step to report.

        ``job`` has ``state``, ``created_at``, ``polls`` and a ``script`` with ``advance`` and
        ``outcome``. While the job is on a step (see ``_step_index``) — forever when the outcome is
        ``"never"`` — that step is shown; past the last one the job turns ``done`` (the outcome says
        so) or fails (``self._fail(job)``), and the last step is shown from then on. ``fallback``
        stands in for an empty ``steps``.
        """
        shown = steps or fallback
        if job.state in (done, "failed"):
            return shown[-1]
        index = self._step_index(job.script.advance, seconds, job.created_at, job.polls)
        if index < len(steps) or job.script.outcome == "never":
            return shown[min(index, len(shown) - 1)]
        if job.script.outcome == done:
            job.state = done
        else:
            self._fail(job)
        return shown[-1]

    def _fail(self, job: Any) -> None:
        """End ``job`` as failed (and refund it, where the vendor does)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ the public video link

    def _jobs(self) -> Mapping[str, Any]:
        """The fake's jobs by id, for ``video_url``."""
        raise NotImplementedError

    def video_url(self, job_id: str) -> str:
        """The fake's own public link to a job's MP4, like a vendor's CDN (no key needed)."""
        return f"{self.base_url}/videos/{job_id}.mp4"

    def _add_video_route(self, router: web.UrlDispatcher) -> None:
        """Serve ``video_url`` as the route ``"video"``."""
        router.add_get("/videos/{job_id}.mp4", self._video_file)

    async def _video_file(self, request: web.Request) -> web.Response:
        """The job's MP4 once its ``state`` is ``FINISHED`` (its script's ``video_bytes`` when set, else
        sized by its ``video_size`` or the fake's), else 404."""

        def logic(rec: RecordedRequest) -> web.Response:
            job = self._jobs().get(request.match_info["job_id"])
            if job is None or job.state != self.FINISHED:
                return not_found()
            data = getattr(job.script, "video_bytes", None)
            if data is not None:  # a real video, made by the test
                return web.Response(body=data, headers={"Content-Type": "video/mp4"})
            size = job.script.video_size if job.script.video_size is not None else self.video_size
            return mp4_response(size)

        return await self._answer(request, "video", logic)

    def _after(self, rec: Any, resp: web.Response, forced: _Forced | None) -> None:
        """Note more about the answer on ``rec`` (``forced``: the forced answer sent, if one was)."""

    def _route(self, route: str, logic: Logic) -> Callable[[web.Request], Awaitable[web.Response]]:
        """A handler for a route whose logic needs only the recorded request (see ``_answer``)."""

        async def handle(request: web.Request) -> web.Response:
            return await self._answer(request, route, logic)

        return handle

    async def _answer(self, request: web.Request, route: str, logic: Logic) -> web.Response:
        """Record, then answer with the forced answer if one is queued, else with ``logic(rec)``."""
        rec, forced = await self._begin(request, route)
        resp: web.Response | None = None
        if forced is not None:
            if forced.delay:
                await asyncio.sleep(forced.delay)
            resp = self._forced_response(forced)
        sent = forced if resp is not None else None
        if resp is None:
            resp = logic(rec)
        rec.status = resp.status
        self._after(rec, resp, sent)
        return resp
