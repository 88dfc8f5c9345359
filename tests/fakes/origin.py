"""A bare HTTP origin that counts every TCP connection it accepts, for the outbound-URL tests.

``bot.net`` must refuse some links without ever connecting, so the count is taken where no HTTP
library can hide a connection: in ``asyncio.start_server``'s accept callback, before a byte is read.
The HTTP is written by hand so a test can answer what real servers answer and libraries tidy away:
no ``Content-Length`` and a body that never ends, a lying ``Content-Length``, a server that never
answers, a redirect anywhere.

    async with Origin("127.0.0.2") as origin:
        origin.route("/cat.png", ok(PNG, "image/png"))
        ...
        assert origin.connections == 0
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from ipaddress import IPv4Address
from typing import Self

from bot.net import IPAddress, is_public

Handler = Callable[[asyncio.StreamWriter], Awaitable[None]]
STAND_IN = IPv4Address("127.0.0.1")  # the one loopback address a test may treat as a public host


def loopback_as_public(ip: IPAddress) -> bool:
    """An address policy for ``bot.net.Fetcher``: 127.0.0.1 plays a public host (an allowed origin
    a redirect can start from); every other address follows the real rule, 127.0.0.2 included."""
    return ip == STAND_IN or is_public(ip)


def ok(body: bytes, content_type: str = "application/octet-stream", *, length: bool = True) -> Handler:
    """200 with ``body``; ``length=False`` sends no ``Content-Length`` (the end is the closed socket)."""

    async def send(writer: asyncio.StreamWriter) -> None:
        head = f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nConnection: close\r\n"
        if length:
            head += f"Content-Length: {len(body)}\r\n"
        writer.write(head.encode() + b"\r\n" + body)
        await writer.drain()

    return send


def status(code: int, reason: str = "Nope") -> Handler:
    """An empty answer with ``code``."""

    async def send(writer: asyncio.StreamWriter) -> None:
        writer.write(f"HTTP/1.1 {code} {reason}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()

    return send


def redirect(location: str, code: int = 302) -> Handler:
    async def send(writer: asyncio.StreamWriter) -> None:
        writer.write(
            f"HTTP/1.1 {code} Found\r\nLocation: {location}\r\nContent-Length: 0\r\n"
            "Connection: close\r\n\r\n".encode()
        )
        await writer.drain()

    return send


def endless(content_type: str = "video/mp4", *, claimed: int | None = None) -> Handler:
    """200 and a body that never ends; ``claimed``: a ``Content-Length`` header to send with it."""

    async def send(writer: asyncio.StreamWriter) -> None:
        head = f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nConnection: close\r\n"
        if claimed is not None:
            head += f"Content-Length: {claimed}\r\n"
        writer.write(head.encode() + b"\r\n")
        chunk = b"\x00" * 16384
        while True:
            writer.write(chunk)
            await writer.drain()

    return send


def trickle(interval: float, content_type: str = "video/mp4") -> Handler:
    """200, then one byte every ``interval`` seconds, forever (each read is quick, the whole is not)."""

    async def send(writer: asyncio.StreamWriter) -> None:
        writer.write(f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\n\r\n".encode())
        while True:
            writer.write(b"\x00")
            await writer.drain()
            await asyncio.sleep(interval)

    return send


async def silent(writer: asyncio.StreamWriter) -> None:
    """Accept, read the request, never answer."""
    await asyncio.sleep(3600)


class Origin:
    """An HTTP/1.1 server on ``host`` (``port`` 0: any): ``route(path, handler)``; 404 for the rest."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.connections = 0  # counted at accept, before anything is read
        self.paths: list[str] = []  # request paths, in the order they arrived
        self._routes: dict[str, Handler] = {}
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def url(self, path: str = "/") -> str:
        return f"http://{self.host}:{self.port}{path}"

    def route(self, path: str, handler: Handler) -> str:
        """Serve ``path`` with ``handler``; returns its URL."""
        self._routes[path] = handler
        return self.url(path)

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._accept, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._server.wait_closed(), 1.0)

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        task = asyncio.ensure_future(self._serve(reader, writer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            path = head.split(b" ", 2)[1].decode()
            self.paths.append(path)
            handler = self._routes.get(path.split("?", 1)[0], status(404, "Not Found"))
            await handler(writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, IndexError):
            pass
        finally:
            writer.close()
