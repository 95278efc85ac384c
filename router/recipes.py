"""Reading a recipe link safely, and turning its ingredient lines into list items.

The bot fetches pages users send, so the fetch must not become a way into the machine or
its network: http(s) only, every address the host resolves to must be public (checked
again at every redirect, and the connection goes to the vetted address itself, so a DNS
answer cannot change in between; IPv6 forms that carry an IPv4 address, 6to4, Teredo and
NAT64, are judged by that address too), at most 5 redirects, 10 s, HTML only, and 2 MB
counted after decompression, which is done here in bounded steps so that a small gzip bomb
never inflates past the cap in memory.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
import zlib
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from router.entities import parse_quantity_unit
from router.lexicon import lexicon
from router.normalize import clean_text
from router.types import Item

__all__ = ["RecipeReader", "RecipeResult", "ingredient_item", "is_public_address"]

USER_AGENT = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/130.0 Safari/537.36")
_TO_TASTE = re.compile(r"to taste|as needed|optional|for serving|לפי הטעם|לפי הצורך|לקישוט"
                       r"|حسب الرغبة|حسب الذوق|للتزيين", re.IGNORECASE)
_RANGE = re.compile(r"^(\d+(?:[.,]\d+)?)\s*[-–]\s*(\d+(?:[.,]\d+)?)$")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset=["']?([\w-]+)""", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class RecipeResult:
    """What reading a link gave: a title and items, or an error message key."""

    title: str = ""
    items: tuple[Item, ...] = ()
    error: str | None = None
    lines: tuple[str, ...] = field(default=(), compare=False)


_NAT64_WELL_KNOWN = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address reaches through: 6to4 (2002::/16), Teredo
    (2001::/32, its server and client), NAT64 (64:ff9b::/96) and IPv4-compatible (::/96)."""
    found: list[ipaddress.IPv4Address] = []
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)
    if ip in _NAT64_WELL_KNOWN or ip in _IPV4_COMPATIBLE:
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return found


def _globally_routable(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return bool(ip.is_global and not ip.is_multicast and not ip.is_reserved
                and not ip.is_loopback and not ip.is_link_local and not ip.is_private)


def is_public_address(address: str) -> bool:
    """True only for globally routable unicast addresses, through any IPv4 they embed."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return _globally_routable(ip.ipv4_mapped)
        if ip in _NAT64_LOCAL:
            return False  # a site's own translator: always inside its network
        if not all(_globally_routable(inner) for inner in _embedded_ipv4(ip)):
            return False
    return _globally_routable(ip)


def ingredient_item(line: str) -> Item | None:
    """One ingredient line as a list item: "2-3 ripe tomatoes, diced" → 3 tomatoes."""
    text = clean_text(line)
    if not text or _TO_TASTE.search(text):
        return None
    text = re.sub(r"\([^)]*\)", " ", text)
    text = re.split(r"[,;]| - ", text)[0]
    words = text.split()
    if words and _RANGE.match(words[0]):
        words[0] = _RANGE.match(words[0]).group(2)  # type: ignore[union-attr]
    quantity, unit, rest = parse_quantity_unit(words)
    while rest and rest[0].lower() in ("of", "של", "من"):
        rest = rest[1:]
    if not rest:
        return None
    name = " ".join(rest)[:100]
    # Kitchen measures are not how a shop sells things: keep the item, drop the spoonful.
    if unit in _KITCHEN_UNITS:
        quantity, unit = None, None
    return Item(name=lexicon().canonical(name), quantity=quantity, unit=unit)


_KITCHEN_UNITS = frozenset({"cup", "tbsp", "tsp", "כוס", "כף", "כפית", "كوب", "ملعقة"})


class _Inflater:
    """gzip or deflate, decompressed with a limit on what each step may produce."""

    def __init__(self, wbits: int) -> None:
        self.wbits = wbits
        self.raw_fallback = wbits == zlib.MAX_WBITS  # "deflate" is sometimes raw deflate
        self.started = False
        self.inflater = zlib.decompressobj(wbits)

    def feed(self, data: bytes, out: bytearray, room: int) -> None:
        """Inflate `data` into `out`, stopping once `room` more bytes were produced."""
        while data and room > 0:
            try:
                produced = self.inflater.decompress(data, room)
            except zlib.error:
                if self.started or not self.raw_fallback:
                    raise
                self.raw_fallback = False
                self.inflater = zlib.decompressobj(-zlib.MAX_WBITS)
                continue
            self.started = True
            out.extend(produced)
            room -= len(produced)
            data = self.inflater.unconsumed_tail
            if self.inflater.eof:
                # A gzip stream may hold several members one after another.
                data = self.inflater.unused_data
                self.inflater = zlib.decompressobj(self.wbits)
                self.started = False


def _inflater(encoding: str) -> _Inflater | None:
    """An inflater for a Content-Encoding; None for none; ValueError for one not asked for."""
    if encoding in ("", "identity"):
        return None
    if encoding in ("gzip", "x-gzip"):
        return _Inflater(16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        return _Inflater(zlib.MAX_WBITS)
    raise ValueError(encoding)


class RecipeReader:
    """Fetches a page under the rules above and reads its schema.org Recipe."""

    def __init__(self, allow_private: bool = False, timeout: float = 10.0,
                 max_bytes: int = 2_000_000, max_redirects: int = 5,
                 allowed_networks: tuple[str, ...] = ()) -> None:
        self.allow_private = allow_private
        # Exact exceptions to the public-only rule (a test server on one loopback address).
        self.allowed_networks = tuple(ipaddress.ip_network(n) for n in allowed_networks)
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects

    async def _vetted_address(self, host: str, port: int) -> str | None:
        """A public address of the host; "" when it does not resolve, None when refused."""
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM)
        except socket.gaierror:
            return ""
        addresses = [str(info[4][0]) for info in infos]
        if not addresses:
            return None
        def allowed(address: str) -> bool:
            ip = ipaddress.ip_address(address)
            return is_public_address(address) or any(ip in n for n in self.allowed_networks)

        if not self.allow_private and not all(allowed(a) for a in addresses):
            return None
        return addresses[0]

    async def _fetch(self, url: str) -> tuple[bytes, str, str] | str:
        """(body, content type, final url) or an error key."""
        async with httpx.AsyncClient(follow_redirects=False, verify=True,
                                     timeout=self.timeout, trust_env=False) as client:
            for _hop in range(self.max_redirects + 1):
                parts = urlsplit(url)
                if parts.scheme not in ("http", "https") or not parts.hostname:
                    return "recipe_bad_url"
                port = parts.port or (443 if parts.scheme == "https" else 80)
                address = await self._vetted_address(parts.hostname, port)
                if address is None:
                    return "recipe_refused"
                if not address:
                    return "recipe_failed"
                host_for_url = f"[{address}]" if ":" in address else address
                direct = urlunsplit((parts.scheme, f"{host_for_url}:{port}", parts.path or "/",
                                     parts.query, ""))
                headers = {"Host": parts.netloc.rsplit("@", 1)[-1], "User-Agent": USER_AGENT,
                           "Accept": "text/html,application/xhtml+xml",
                           # Only what `_inflate` can decode in bounded steps.
                           "Accept-Encoding": "gzip, deflate"}
                async with client.stream("GET", direct, headers=headers, extensions={
                        "sni_hostname": parts.hostname}) as response:
                    if response.status_code in (301, 302, 303, 307, 308):
                        location = response.headers.get("location")
                        if not location:
                            return "recipe_failed"
                        url = urljoin(url, location)
                        continue
                    if response.status_code != 200:
                        return "recipe_failed"
                    kind = response.headers.get("content-type", "").lower()
                    if "html" not in kind:
                        return "recipe_not_html"
                    declared = response.headers.get("content-length")
                    if declared and declared.isdigit() and int(declared) > self.max_bytes:
                        return "recipe_too_big"
                    body = await self._body(response)
                    if body is None:
                        return "recipe_too_big"
                    if isinstance(body, str):
                        return body
                    return body, kind, url
            return "recipe_refused"

    async def _body(self, response: httpx.Response) -> bytes | str | None:
        """The decompressed body; None past `max_bytes`, an error key when undecodable.

        httpx's own decoding inflates each network chunk whole, and one 64 KB chunk of a
        gzip bomb is 64 MB; here the raw bytes are inflated at most up to the cap.
        """
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        try:
            inflate = _inflater(encoding)
        except ValueError:
            return "recipe_failed"
        body = bytearray()
        async for raw in response.aiter_raw():
            if inflate is None:
                body.extend(raw)
            else:
                try:
                    inflate.feed(raw, body, self.max_bytes + 1 - len(body))
                except zlib.error:
                    return "recipe_failed"
            if len(body) > self.max_bytes:
                return None
        return bytes(body)

    @staticmethod
    def decode(body: bytes, content_type: str) -> str:
        """The page as text: the declared charset, a <meta charset>, or a good guess."""
        declared = re.search(r"charset=([\w-]+)", content_type)
        meta = _META_CHARSET.search(body[:4096])
        for candidate in (declared.group(1) if declared else None,
                          meta.group(1).decode("ascii", "ignore") if meta else None):
            if candidate:
                try:
                    return body.decode(candidate)
                except (LookupError, UnicodeDecodeError):
                    continue
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError:
            from charset_normalizer import from_bytes

            best = from_bytes(body).best()
            return str(best) if best is not None else body.decode("utf-8", "replace")

    async def read(self, url: str) -> RecipeResult:
        """The recipe behind a link, or a result whose `error` says why not."""
        try:
            fetched = await asyncio.wait_for(self._fetch(url), timeout=self.timeout)
        except (TimeoutError, httpx.TimeoutException):
            return RecipeResult(error="recipe_timeout")
        except httpx.HTTPError:
            return RecipeResult(error="recipe_failed")
        if isinstance(fetched, str):
            return RecipeResult(error=fetched)
        body, kind, final_url = fetched
        html = self.decode(body, kind)
        try:
            from recipe_scrapers import scrape_html

            scraper: Any = scrape_html(html, final_url, supported_only=False)
            lines = [str(line) for line in scraper.ingredients()]
            title = str(scraper.title() or "")
        except Exception:  # any page without a readable recipe, whatever the parser raises
            return RecipeResult(error="recipe_not_found")
        items = [item for item in (ingredient_item(line) for line in lines) if item]
        if not items:
            return RecipeResult(error="recipe_not_found")
        return RecipeResult(title=clean_text(title)[:100], items=tuple(items[:40]),
                            lines=tuple(lines))

