"""``bot.net``: which links the bot fetches, and how it fetches the ones it does.

Address rules are checked on their own; the fetcher against ``tests.fakes.origin``, which counts
TCP connections at accept, so "refused" means "never connected", not "connected and then gave up".
Names resolve through a scripted resolver, and one loopback address (127.0.0.1) stands in for a
public host where a test needs one, while private targets listen on 127.0.0.2.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from ipaddress import IPv4Address, IPv6Address, ip_address

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from bot import media, videos
from bot.i18n import EN, ZH
from bot.media import ImageError
from bot.net import Fetcher, FetchFailed, LinkRefused, TooLarge, embedded_v4, is_public
from bot.providers.base import ProviderError
from bot.providers.http import VendorHttp
from bot.providers.images import fetch_image
from tests.fakes.origin import Origin, endless, loopback_as_public, ok, redirect, silent, status, trickle

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
BOUND = 5.0  # no test here may take longer; the fetcher's own limits are far shorter


class Names(AbstractResolver):
    """Scripted DNS: ``answers[name]`` is what a lookup gives (a callable: per call). Counts lookups."""

    def __init__(self, answers: Mapping[str, Sequence[str] | Callable[[int], Sequence[str]]]) -> None:
        self.answers = answers
        self.lookups = 0

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.lookups += 1
        answer = self.answers[host]
        found = answer(self.lookups) if callable(answer) else answer
        return [
            ResolveResult(
                hostname=host,
                host=a,
                port=port,
                family=socket.AF_INET6 if ":" in a else socket.AF_INET,
                proto=0,
                flags=0,
            )
            for a in found
        ]

    async def close(self) -> None:
        pass


# ---------------------------------------------------------------------------------- addresses

REFUSED = [
    "127.0.0.1",
    "127.255.0.9",
    "10.0.0.1",
    "172.16.5.4",
    "192.168.1.1",
    "169.254.169.254",  # a cloud's metadata service
    "100.64.0.1",  # CGNAT
    "0.0.0.0",
    "0.1.2.3",
    "224.0.0.1",
    "240.0.0.1",
    "255.255.255.255",
    "198.18.0.1",
    "::1",
    "::",
    "fe80::1",
    "fc00::1",
    "fd12:3456::1",
    "fec0::1",  # site-local
    "ff02::1",
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "::ffff:0.0.0.0",
    "::127.0.0.1",  # IPv4-compatible
    "::10.0.0.1",
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "2002:a00:1::",  # 6to4 of 10.0.0.1
    "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
    "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
]
PUBLIC = ["8.8.8.8", "1.1.1.1", "93.184.216.34", "2606:4700:4700::1111", "2001:4860:4860::8888"]


@pytest.mark.parametrize("address", REFUSED)
def test_addresses_that_are_not_public_are_refused(address: str) -> None:
    assert not is_public(ip_address(address))


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_allowed(address: str) -> None:
    assert is_public(ip_address(address))


@pytest.mark.parametrize(
    ("v6", "v4"),
    [
        ("::ffff:10.1.2.3", "10.1.2.3"),
        ("::10.1.2.3", "10.1.2.3"),
        ("2002:a01:203::", "10.1.2.3"),
        ("64:ff9b::a01:203", "10.1.2.3"),
    ],
)
def test_ipv6_forms_give_up_the_ipv4_address_they_carry(v6: str, v4: str) -> None:
    assert embedded_v4(IPv6Address(v6)) == IPv4Address(v4)


def test_refusal_tells_the_member_only_that_the_link_cannot_be_used() -> None:
    err = LinkRefused("10.0.0.1 is not a public address")
    for locale in (EN, ZH):
        text = err.render(locale)
        assert "10.0.0.1" not in text and "HTTP" not in text
    assert "cannot be used" in err.render(EN)
    assert "链接无法使用" in err.render(ZH)


# ---------------------------------------------------------------------------------- the URL


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/a.png",
        "file:///etc/passwd",
        "data:image/png;base64,AAAA",
        "javascript:alert(1)",
        "gopher://example.com/",
        "//example.com/a.png",
        "http:///a.png",
        "http://user:secret@example.com/a.png",
    ],
)
def test_only_http_links_to_a_host_are_taken(url: str) -> None:
    with pytest.raises(LinkRefused):
        Fetcher().check(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:a00:1]/",
        "http://0.0.0.0:8080/",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.64.0.1/",
        "http://[fe80::1]/",
        "http://[fc00::1]/",
        "http://2130706433/",  # 127.0.0.1 in the forms a system resolver still accepts
        "http://127.1/",
        "http://0x7f000001/",
        "http://017700000001/",
    ],
)
def test_literal_private_addresses_are_refused(url: str) -> None:
    with pytest.raises(LinkRefused):
        Fetcher().check(url)


def test_names_are_checked_when_resolved_not_before() -> None:
    assert Fetcher().check("https://cdn.example.com/a.png?sig=1").host == "cdn.example.com"


def test_an_address_is_trusted_only_inside_its_block() -> None:
    fetcher = Fetcher()
    with fetcher.trusting("127.0.0.1", 8080):
        fetcher.check("http://127.0.0.1:8080/cat.png")
        with pytest.raises(LinkRefused):
            fetcher.check("http://127.0.0.1:8081/cat.png")
    with pytest.raises(LinkRefused):
        fetcher.check("http://127.0.0.1:8080/cat.png")


# ---------------------------------------------------------------------------------- resolving


async def test_a_name_on_a_private_address_is_never_contacted() -> None:
    async with Origin("127.0.0.1") as origin, Fetcher(resolver=Names({"img.example": ["127.0.0.1"]})) as f:
        origin.route("/cat.png", ok(PNG, "image/png"))
        with pytest.raises(LinkRefused):
            await f.get(f"http://img.example:{origin.port}/cat.png", max_bytes=1024)
    assert origin.connections == 0


@pytest.mark.parametrize(
    "answer", [["93.184.216.34", "10.0.0.1"], ["2606:4700::1", "::ffff:127.0.0.1"], ["fe80::1"]]
)
async def test_one_private_address_among_a_names_addresses_refuses_it(answer: list[str]) -> None:
    async with Fetcher(resolver=Names({"mixed.example": answer})) as fetcher:
        with pytest.raises(LinkRefused):
            await fetcher.get("https://mixed.example/cat.png", max_bytes=1024)


async def test_the_address_checked_is_the_address_connected() -> None:
    """DNS rebinding: a second lookup would answer 127.0.0.2; the fetcher must not make one."""
    async with Origin("127.0.0.1") as public, Origin("127.0.0.2", port=public.port) as private:
        public.route("/v.mp4", ok(b"video", "video/mp4"))
        private.route("/v.mp4", ok(b"secret", "video/mp4"))
        names = Names({"cdn.example": lambda n: ["127.0.0.1"] if n == 1 else ["127.0.0.2"]})
        async with Fetcher(policy=loopback_as_public, resolver=names) as fetcher:
            got = await fetcher.get(f"http://cdn.example:{public.port}/v.mp4", max_bytes=1024)
    assert got.body == b"video" and names.lookups == 1
    assert (public.connections, private.connections) == (1, 0)


async def test_with_private_addresses_allowed_loopback_is_fetched() -> None:
    async with Origin("127.0.0.2") as origin, Fetcher(allow_private=True) as fetcher:
        got = await fetcher.get(origin.route("/cat.png", ok(PNG, "image/png")), max_bytes=1024)
    assert (got.status, got.body, got.content_type) == (200, PNG, "image/png")
    assert origin.connections == 1


# ---------------------------------------------------------------------------------- redirects


async def test_up_to_three_redirects_are_followed() -> None:
    async with Origin("127.0.0.1") as o, Fetcher(policy=loopback_as_public) as fetcher:
        for a, b in (("/a", "/b"), ("/b", o.url("/c")), ("/c", "d")):
            o.route(a, redirect(b))
        o.route("/d", ok(PNG, "image/png"))
        got = await fetcher.get(o.url("/a"), max_bytes=1024)
    assert got.body == PNG and got.url == o.url("/d")
    assert o.paths == ["/a", "/b", "/c", "/d"]


async def test_a_fourth_redirect_is_refused() -> None:
    async with Origin("127.0.0.1") as o, Fetcher(policy=loopback_as_public) as fetcher:
        for a, b in (("/a", "/b"), ("/b", "/c"), ("/c", "/d"), ("/d", "/e")):
            o.route(a, redirect(b, 301))
        o.route("/e", ok(PNG))
        with pytest.raises(LinkRefused):
            await fetcher.get(o.url("/a"), max_bytes=1024)
    assert o.paths == ["/a", "/b", "/c", "/d"]


async def test_a_redirect_to_a_private_address_is_refused_unseen() -> None:
    async with Origin("127.0.0.2") as private, Origin("127.0.0.1") as public:
        target = private.route("/cat.png", ok(PNG, "image/png"))
        start = public.route("/cat.png", redirect(target, 307))
        async with Fetcher(policy=loopback_as_public) as fetcher:
            with pytest.raises(LinkRefused):
                await fetcher.get(start, max_bytes=1024)
    assert (public.connections, private.connections) == (1, 0)


async def test_a_redirect_to_a_name_on_a_private_address_is_refused_unseen() -> None:
    async with Origin("127.0.0.2") as private, Origin("127.0.0.1") as public:
        private.route("/cat.png", ok(PNG, "image/png"))
        start = public.route("/go", redirect(f"http://internal.example:{private.port}/cat.png"))
        names = Names({"internal.example": ["127.0.0.2"]})
        async with Fetcher(policy=loopback_as_public, resolver=names) as fetcher:
            with pytest.raises(LinkRefused):
                await fetcher.get(start, max_bytes=1024)
    assert private.connections == 0


@pytest.mark.parametrize("location", ["file:///etc/passwd", "gopher://127.0.0.1/", "http://[::1]:80/"])
async def test_a_redirect_out_of_http_or_to_loopback_is_refused(location: str) -> None:
    async with Origin("127.0.0.1") as o, Fetcher(policy=loopback_as_public) as fetcher:
        with pytest.raises(LinkRefused):
            await fetcher.get(o.route("/a", redirect(location)), max_bytes=1024)


# ---------------------------------------------------------------------------------- size and time


async def test_the_cap_is_counted_on_a_stream_without_content_length() -> None:
    async with Origin() as o, Fetcher(allow_private=True) as fetcher:
        url = o.route("/v.mp4", endless())
        async with asyncio.timeout(BOUND):
            with pytest.raises(TooLarge) as caught:
                await fetcher.get(url, max_bytes=200_000)
    assert caught.value.size is None  # found by counting, not announced


async def test_a_content_length_over_the_cap_is_refused_before_the_body() -> None:
    async with Origin() as o, Fetcher(allow_private=True) as fetcher:
        with pytest.raises(TooLarge) as caught:
            await fetcher.get(o.route("/v.mp4", endless(claimed=10**9)), max_bytes=1024)
    assert caught.value.size == 10**9


async def test_a_body_within_the_cap_is_read_whole_without_content_length() -> None:
    async with Origin() as o, Fetcher(allow_private=True) as fetcher:
        got = await fetcher.get(o.route("/cat.png", ok(PNG, "image/png", length=False)), max_bytes=len(PNG))
    assert got.body == PNG


async def test_a_server_that_never_answers_times_out() -> None:
    async with Origin() as o, Fetcher(allow_private=True, read_timeout=0.2) as fetcher:
        started = time.monotonic()
        with pytest.raises(FetchFailed):
            async with asyncio.timeout(BOUND):
                await fetcher.get(o.route("/v.mp4", silent), max_bytes=1024)
    assert time.monotonic() - started < 2.0


async def test_a_trickling_body_is_cut_by_the_total_limit() -> None:
    async with Origin() as o, Fetcher(allow_private=True, read_timeout=1.0) as fetcher:
        started = time.monotonic()
        with pytest.raises(FetchFailed):
            async with asyncio.timeout(BOUND):
                await fetcher.get(o.route("/v.mp4", trickle(0.02)), max_bytes=10**6, time_limit=0.4)
    assert time.monotonic() - started < 2.0


async def test_connecting_is_bounded() -> None:
    """192.0.2.1 (TEST-NET-1) is never routed: either unreachable at once or silent until the limit."""
    names = Names({"blackhole.example": ["192.0.2.1"]})
    async with Fetcher(allow_private=True, resolver=names, connect_timeout=0.3) as fetcher:
        started = time.monotonic()
        with pytest.raises(FetchFailed):
            async with asyncio.timeout(BOUND):
                await fetcher.get("http://blackhole.example/v.mp4", max_bytes=1024)
    assert time.monotonic() - started < 2.0


# ---------------------------------------------------------------------------------- the callers


async def test_a_members_image_link_refused_is_never_fetched() -> None:
    async with Origin("127.0.0.1") as o, Fetcher() as fetcher:
        with pytest.raises(LinkRefused):
            await media.fetch_image(fetcher, o.route("/cat.png", ok(PNG, "image/png")))
        async with Fetcher(allow_private=True) as dev:
            with pytest.raises(ImageError, match="expired"):
                await media.fetch_image(dev, o.route("/gone.png", status(404)))
    assert o.connections == 1  # the 404, with private addresses allowed


async def test_a_vendor_adapter_fetching_a_members_image_uses_the_fetcher() -> None:
    async with Origin("127.0.0.1") as o, VendorHttp() as http:  # its own fetcher: private refused
        with pytest.raises(ProviderError) as caught:
            await fetch_image(http, o.route("/cat.png", ok(PNG)), timeout_s=2.0, max_bytes=1024)
    assert caught.value.user_key == "net.link_refused" and caught.value.blame == "user"
    assert o.connections == 0


async def test_a_video_link_that_fails_is_a_fetch_failure() -> None:
    async with Origin() as o, Fetcher(allow_private=True) as fetcher:
        with pytest.raises(FetchFailed):
            await videos.fetch(fetcher, o.route("/v.mp4", status(403, "Forbidden")), 1024)
        with pytest.raises(TooLarge):
            async with asyncio.timeout(BOUND):
                await videos.fetch(fetcher, o.route("/big.mp4", endless()), 50_000)
