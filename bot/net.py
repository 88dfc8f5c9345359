"""The one fetcher for URLs that no operator configured: members' images and vendors' results.

A member can point the bot at any link (an embed behind "Animate"), and a vendor can answer with any
``videoUrl``; fetched blindly, either makes the bot a way into the network it runs in (a cloud's
metadata service at 169.254.169.254, a database on 10.x, an admin page on 127.0.0.1). So every such
fetch goes through ``Fetcher``:

- ``http``/``https`` only, and a host is refused when *any* address it resolves to is not public
  (loopback, private, link-local, CGNAT, multicast, reserved, unspecified, site-local), including
  IPv6 forms that carry such an IPv4 address (mapped, compatible, 6to4, NAT64);
- the connection goes to the addresses that were checked: the check lives in the connector's
  resolver, so nothing resolves the name a second time (no DNS rebinding between check and connect);
- redirects are followed by hand, each target checked the same way, at most ``max_redirects``;
- connect, read and total timeouts, and a size cap counted on the bytes as they arrive
  (``Content-Length`` can only make a refusal earlier, never let more in);
- no cookies, no proxy from the environment, no credentials of any kind.

A refusal is one error, ``LinkRefused``, whose message tells the member only that the link cannot be
used — never what the target answered (a refused target is never contacted). ``allow_private`` (the
``FETCH_ALLOW_PRIVATE`` setting) lifts the address rule for development and tests, whose fakes run on
127.0.0.1; it is off by default.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Self

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from bot.errors import UserError

log = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
AddressPolicy = Callable[[IPAddress], bool]  # True: the bot may connect to this address

SCHEMES = frozenset({"http", "https"})
REDIRECTS = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 3
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 30.0
TOTAL_TIMEOUT = 120.0
CHUNK = 64 * 1024

CGNAT = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT: a provider's private space
NAT64 = ipaddress.ip_network("64:ff9b::/96")

try:
    USER_AGENT = f"soracord/{version('soracord')} (+discord bot)"
except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
    USER_AGENT = "soracord/0.0.0 (+discord bot)"


class LinkRefused(UserError):
    """The bot will not fetch this link (its scheme, its address, or too many redirects).

    ``reason`` is for the log only; members see the catalog message, which names no address.
    """

    def __init__(self, reason: str) -> None:
        super().__init__("net.link_refused")
        self.reason = reason


class TooLarge(Exception):
    """The answer is larger than the caller can use (``size``: what ``Content-Length`` said, if it did)."""

    def __init__(self, size: int | None) -> None:
        super().__init__(f"larger than allowed ({size} bytes)" if size else "larger than allowed")
        self.size = size


class FetchFailed(Exception):
    """No usable answer arrived (network failure, timeout); the message is for the log."""


# ---------------------------------------------------------------------------------- addresses


def embedded_v4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 form carries (mapped, compatible, 6to4, NAT64), if it carries one."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in NAT64 or int(ip) >> 32 == 0:  # NAT64 well-known prefix; deprecated ::a.b.c.d
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.teredo is not None:
        return ip.teredo[1]
    return None


def is_public(ip: IPAddress) -> bool:
    """The default policy: only addresses on the public internet (and so is any IPv4 inside)."""
    if (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    ):
        return False
    if isinstance(ip, ipaddress.IPv4Address):
        return ip not in CGNAT
    if ip.is_site_local or ip.scope_id:
        return False
    inner = embedded_v4(ip)
    return inner is None or is_public(inner)


def allow_any(ip: IPAddress) -> bool:
    """The development policy (``FETCH_ALLOW_PRIVATE``): every address, loopback included."""
    return True


def literal_address(host: str) -> IPAddress | None:
    """``host`` as an IP address when it is written as one; ``None`` for a name.

    A host that looks numeric but is no canonical address (``127.1``, ``2130706433``, ``0x7f.1``) is
    refused: the system resolver would map it onto an address no check here has seen.
    """
    bare = host.strip("[]")
    if ":" in bare:
        try:
            return ipaddress.IPv6Address(bare)
        except ValueError:
            raise LinkRefused(f"{host!r} is not a valid IPv6 address") from None
    try:
        return ipaddress.IPv4Address(bare)
    except ValueError:
        pass
    try:
        socket.inet_aton(bare.rstrip("."))
    except OSError:
        return None
    raise LinkRefused(f"{host!r} is an IPv4 address in a non-canonical form")


class CheckedResolver(AbstractResolver):
    """Resolves a name and refuses it when any of its addresses is not allowed.

    The connector connects to exactly what this returns, so the addresses checked are the ones used.
    ``allowed(address, port)`` decides; ``inner`` does the lookup (aiohttp's threaded resolver, i.e.
    ``loop.getaddrinfo``, unless a test gives another).
    """

    def __init__(self, allowed: Callable[[IPAddress, int], bool], inner: AbstractResolver | None = None):
        self._allowed = allowed
        self._inner = inner

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if self._inner is None:
            self._inner = aiohttp.ThreadedResolver()
        found = await self._inner.resolve(host, port, family)
        if not found:
            raise OSError(f"{host} has no address")
        for entry in found:
            ip = ipaddress.ip_address(entry["host"])
            if not self._allowed(ip, port):
                raise LinkRefused(f"{host} resolves to {ip}, which is not a public address")
        return found

    async def close(self) -> None:
        if self._inner is not None:
            await self._inner.close()


# ------------------------------------------------------------------------------------ fetching


def _for_log(url: str) -> str:
    """``url`` without what may be secret in it (signed query, credentials, fragment)."""
    try:
        return str(URL(url).with_user(None).with_query(None).with_fragment(None))
    except (ValueError, TypeError):
        return "<not a URL>"


@dataclass(frozen=True)
class Download:
    """A whole answer read into memory (at most the cap): status, body, type and the final URL."""

    status: int
    body: bytes
    content_type: str
    url: str


class Answer:
    """The final answer after redirects, open for reading; ``chunks()`` enforces the size cap."""

    def __init__(self, resp: aiohttp.ClientResponse, max_bytes: int) -> None:
        self._resp = resp
        self.max_bytes = max_bytes
        self.status = resp.status
        self.content_type = resp.content_type
        self.content_length = resp.content_length
        self.url = str(resp.url)

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body as it arrives; ``TooLarge`` as soon as it passes ``max_bytes``."""
        if self.content_length is not None and self.content_length > self.max_bytes:
            raise TooLarge(self.content_length)
        got = 0
        try:
            async for chunk in self._resp.content.iter_chunked(CHUNK):
                got += len(chunk)
                if got > self.max_bytes:
                    raise TooLarge(None)
                yield chunk
        except aiohttp.ClientError as exc:
            raise FetchFailed(f"reading the body failed: {type(exc).__name__}") from None

    async def read(self) -> bytes:
        out = bytearray()
        async for chunk in self.chunks():
            out += chunk
        return bytes(out)


class Fetcher:
    """One shared client for URLs nobody configured; build it once from the settings and pass it in.

    ``policy`` says which addresses are public (default ``is_public``; ``allow_private=True`` means
    ``allow_any``); ``resolver`` looks names up (default ``loop.getaddrinfo``). Tests inject both, e.g.
    a policy that treats one loopback address as a public host.
    """

    def __init__(
        self,
        *,
        allow_private: bool = False,
        policy: AddressPolicy | None = None,
        resolver: AbstractResolver | None = None,
        max_redirects: int = MAX_REDIRECTS,
        connect_timeout: float = CONNECT_TIMEOUT,
        read_timeout: float = READ_TIMEOUT,
        total_timeout: float = TOTAL_TIMEOUT,
        user_agent: str = USER_AGENT,
    ) -> None:
        self.policy: AddressPolicy = policy or (allow_any if allow_private else is_public)
        self.max_redirects = max_redirects
        self.total_timeout = total_timeout
        self._timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=connect_timeout, connect=connect_timeout, sock_read=read_timeout
        )
        self._resolver = resolver
        self._user_agent = user_agent
        self._trusted: set[tuple[IPAddress, int]] = set()
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def allowed(self, ip: IPAddress, port: int) -> bool:
        return (ip, port) in self._trusted or self.policy(ip)

    @contextmanager
    def trusting(self, host: str, port: int) -> Iterator[None]:
        """Allow one address and port while the block runs (the CLI serving a local file to itself)."""
        entry = (ipaddress.ip_address(host), port)
        self._trusted.add(entry)
        try:
            yield
        finally:
            self._trusted.discard(entry)

    def check(self, url: str | URL) -> URL:
        """The URL, parsed, when its scheme and (literal) address may be fetched; ``LinkRefused`` if not.

        Names are checked when they are resolved, at connect time (``CheckedResolver``).
        """
        try:
            parsed = URL(url) if isinstance(url, str) else url
        except (ValueError, TypeError):
            raise LinkRefused("not a URL") from None
        if parsed.scheme not in SCHEMES:
            raise LinkRefused(f"scheme {parsed.scheme!r} is not http(s)")
        host = parsed.raw_host
        if not host:
            raise LinkRefused("no host")
        if parsed.user is not None or parsed.password is not None:
            raise LinkRefused("credentials in the URL")
        ip = literal_address(host)
        if ip is not None and not self.allowed(ip, parsed.port or 0):
            raise LinkRefused(f"{ip} is not a public address")
        return parsed

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(resolver=CheckedResolver(self.allowed, self._resolver))
            self._session = aiohttp.ClientSession(
                connector=connector,
                cookie_jar=aiohttp.DummyCookieJar(),  # nothing one host sets travels to the next
                trust_env=False,  # no proxy from the environment: the connection is the one checked
                # The cap counts bytes as they arrive; a compressed body could inflate past it in one
                # chunk, so none is asked for and none is unpacked (pictures and videos gain nothing).
                auto_decompress=False,
                headers={"User-Agent": self._user_agent, "Accept-Encoding": "identity"},
            )
        return self._session

    async def _follow(self, url: URL) -> aiohttp.ClientResponse:
        """GET ``url``, following at most ``max_redirects`` redirects, each target checked first."""
        for hop in range(self.max_redirects + 1):
            try:
                resp = await self._client().get(url, allow_redirects=False, timeout=self._timeout)
            except aiohttp.ClientError as exc:
                raise FetchFailed(f"GET {url.host}: {type(exc).__name__}: {exc}") from None
            location = resp.headers.get("Location")
            if resp.status not in REDIRECTS or not location:
                return resp
            resp.release()
            if hop == self.max_redirects:
                raise LinkRefused(f"more than {self.max_redirects} redirects")
            try:
                url = self.check(resp.url.join(URL(location)))
            except ValueError:
                raise LinkRefused("a redirect to something that is not a URL") from None
        raise AssertionError("unreachable")  # pragma: no cover

    @asynccontextmanager
    async def open(
        self, url: str, *, max_bytes: int, time_limit: float | None = None
    ) -> AsyncIterator[Answer]:
        """The answer to ``GET url`` (any status), open for reading within the size cap and time limit.

        Raises ``LinkRefused`` (never contacted), ``FetchFailed`` (no answer, or too slow) and, from
        ``Answer.chunks``, ``TooLarge``.
        """
        try:
            checked = self.check(url)
            async with asyncio.timeout(self.total_timeout if time_limit is None else time_limit):
                resp = await self._follow(checked)
                try:
                    yield Answer(resp, max_bytes)
                finally:
                    resp.release()
        except LinkRefused as exc:
            log.warning("refused to fetch %s: %s", _for_log(url), exc.reason)
            raise
        except TimeoutError:
            raise FetchFailed(f"GET {_for_log(url)}: timed out") from None

    async def get(self, url: str, *, max_bytes: int, time_limit: float | None = None) -> Download:
        """``open`` and read the whole body (any status); ``TooLarge`` past ``max_bytes``."""
        async with self.open(url, max_bytes=max_bytes, time_limit=time_limit) as answer:
            body = await answer.read()
            return Download(answer.status, body, answer.content_type, answer.url)

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None
