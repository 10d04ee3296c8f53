"""Fetch feeds over HTTP with httpx: bounded concurrency, timeouts, caps, conditional GET."""

from __future__ import annotations

import asyncio
import email.utils
import hashlib
import ipaddress
import re
import socket
import ssl
import time
import urllib.request
import zlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit

import httpx

from bot.core.errors import FeedError, FeedErrorKind
from bot.core.urls import check_feed_url
from bot.feeds.asyncio_transport import AsyncioTransport, DirectResponse

_PERMANENT = (301, 308)
_REDIRECT = (301, 302, 303, 307, 308)


@dataclass(slots=True)
class FetchSettings:
    """Limits for one fetcher; built from the Config by the composition root."""

    max_concurrency: int = 20
    max_per_host: int = 4
    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    deadline: float = 60.0
    max_body_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 5
    user_agent: str = "newswatch/0.1"
    allow_private_addresses: bool = True  # False: public addresses only, at every hop


@dataclass(slots=True)
class FetchResult:
    """The outcome of fetching one feed. Exactly one of body / not_modified / error is set."""

    url: str
    status: int | None = None
    body: bytes | None = None
    body_hash: str | None = None
    not_modified: bool = False
    error: FeedError | None = None  # what went wrong, with its kind
    etag: str | None = None
    last_modified: str | None = None
    content_type: str | None = None
    final_url: str | None = None  # set when every redirect hop was permanent (301/308)
    retry_after: float | None = None  # seconds, from Retry-After
    max_age: int | None = None  # seconds, from Cache-Control max-age or Expires
    gone: bool = False  # 410
    elapsed: float = 0.0


class _Inflater:
    """Decompresses a gzip/deflate body incrementally, never producing more than asked for.

    httpx's own decoders inflate each network chunk whole: 64 KB of a gzip bomb becomes
    64 MB in one call. ``zlib``'s ``max_length`` bounds every step instead.
    """

    def __init__(self, encoding: str):
        self.encoding = encoding
        # 47 = 32 + 15: accept a gzip or zlib header; deflate falls back to a raw stream.
        self._obj = zlib.decompressobj(47 if encoding in ("gzip", "x-gzip") else 15)
        self._raw_fallback = encoding == "deflate"
        self._started = False

    def feed(self, data: bytes, limit: int) -> list[bytes]:
        """Inflate ``data``; stop (returning what was made) once ``limit`` bytes came out."""
        out: list[bytes] = []
        produced = 0
        pending = data
        while pending and produced <= limit:
            try:
                chunk = self._obj.decompress(pending, limit + 1 - produced)
            except zlib.error as exc:
                if self._raw_fallback and not self._started:
                    self._obj = zlib.decompressobj(-15)
                    self._raw_fallback = False
                    continue
                raise FeedError(
                    FeedErrorKind.BAD_ENCODING, f"corrupt {self.encoding} body: {exc}"
                ) from None
            self._started = True
            out.append(chunk)
            produced += len(chunk)
            pending = self._obj.unconsumed_tail
            if not chunk and not pending:
                break
        return out


def body_digest(body: bytes) -> str:
    return hashlib.blake2b(body, digest_size=16).hexdigest()


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    return _seconds_until(value, now)


def _seconds_until(http_date: str, now: datetime | None) -> float | None:
    """Seconds from ``now`` until an HTTP date (never negative); None when it is not a date."""
    try:
        when = email.utils.parsedate_to_datetime(http_date)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def parse_max_age(headers: httpx.Headers, now: datetime | None = None) -> int | None:
    """Freshness lifetime in seconds from Cache-Control max-age, else Expires."""
    control = headers.get("cache-control", "")
    match = re.search(r"max-age\s*=\s*(\d+)", control)
    if match:
        return int(match.group(1))
    expires = headers.get("expires")
    seconds = _seconds_until(expires, now) if expires else None
    return None if seconds is None else int(seconds)


# A URL that httpx.URL would leave as it is, so its parts can be read without it (27 µs a
# URL; a cycle of 304s parses each feed's once): http(s), a lowercase ASCII host name or IPv4
# address, an optional port, a path and query of characters httpx's percent-encoding keeps
# (its PATH_SAFE / QUERY_SAFE sets, ``%`` included), no fragment, no user info, no dot
# segment. Anything else goes through httpx.URL. tests/test_fetcher_urls.py checks the
# parts against httpx.URL's.
_PATH_CHARS = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in '"<>`{}?#')
_QUERY_CHARS = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in '"<>#')
_PLAIN_URL = re.compile(
    r"(https?)://([a-z0-9.-]+)(?::([0-9]{1,5}))?"
    rf"(/[{re.escape(_PATH_CHARS)}]*)?(?:\?([{re.escape(_QUERY_CHARS)}]*))?"
)
_IPV4_STYLE = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+")  # httpx's test for an IPv4 host
_DEFAULT_PORTS = {"http": 80, "https": 443}


class PlainURL:
    """The parts of a plain URL that the fetcher and its transports read, as httpx.URL
    gives them (``scheme``, ``host``, ``port``, ``raw_scheme``, ``raw_host``, ``raw_path``,
    ``netloc``)."""

    __slots__ = ("host", "port", "raw_path", "scheme")

    def __init__(self, scheme: str, host: str, port: int | None, raw_path: bytes) -> None:
        self.scheme = scheme
        self.host = host
        self.port = port
        self.raw_path = raw_path

    @property
    def raw_scheme(self) -> bytes:
        return self.scheme.encode("ascii")

    @property
    def raw_host(self) -> bytes:
        return self.host.encode("ascii")

    @property
    def netloc(self) -> bytes:
        port = "" if self.port is None else f":{self.port}"
        return f"{self.host}{port}".encode("ascii")


def plain_url(url: str) -> PlainURL | None:
    """``url``'s parts when httpx.URL would not change it (see _PLAIN_URL), else None."""
    match = _PLAIN_URL.fullmatch(url)
    if match is None:
        return None
    scheme, host, port_text, path, query = match.groups()
    if host.startswith("xn--") or ".xn--" in host:
        return None  # httpx.URL.host decodes IDNA labels
    if _IPV4_STYLE.fullmatch(host):
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            return None  # httpx.URL refuses it, with its own error
    if path and "." in path and not {".", ".."}.isdisjoint(path.split("/")):
        return None  # httpx.URL removes dot segments
    port = int(port_text) if port_text else None
    if port == _DEFAULT_PORTS[scheme]:
        port = None
    target = (path or "/") if query is None else f"{path or '/'}?{query}"
    return PlainURL(scheme, host, port, target.encode("ascii"))


class Fetcher:
    """httpx connection pools (transports) with global and per-host concurrency limits.

    Requests go straight to a transport (``bot.feeds.asyncio_transport.AsyncioTransport``:
    httpcore's pool on an asyncio network backend; httpx's ``AsyncHTTPTransport`` for
    proxies) rather than through an ``httpx.AsyncClient``: the client's extra layers (cookie
    jar, auth, event hooks, redirect and URL merging) cost about 0.1 ms of CPU per request,
    which is an eighth of a cycle of 304s, and newswatch uses none of them (it follows
    redirects itself, to record permanent moves and refuse unsafe targets). What the client
    would still give is kept here: default headers, per-request timeouts, and proxies from
    the environment (``http_proxy``, ``https_proxy``, ``all_proxy``, ``no_proxy``; see
    ``_ProxyRoutes``).
    """

    def __init__(self, settings: FetchSettings, transport: httpx.AsyncBaseTransport | None = None):
        self.settings = settings
        self._timeout = httpx.Timeout(
            connect=settings.connect_timeout,
            read=settings.read_timeout,
            write=settings.read_timeout,
            pool=settings.deadline,
        ).as_dict()
        limits = httpx.Limits(
            max_connections=settings.max_concurrency,
            max_keepalive_connections=settings.max_concurrency,
        )
        self._headers = {
            "User-Agent": settings.user_agent,
            "Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9,"
            " text/xml;q=0.9, */*;q=0.5",
            "Accept-Encoding": "gzip, deflate",
        }
        # The same header lines as bytes, for AsyncioTransport.get: httpx.Request encodes them
        # as ASCII; a default header that is not ASCII keeps every request on the httpx.Request
        # path, which raises as it always did.
        try:
            self._raw_headers: list[tuple[bytes, bytes]] | None = [
                (key.encode("ascii"), value.encode("ascii")) for key, value in self._headers.items()
            ]
        except UnicodeEncodeError:
            self._raw_headers = None
        self._routes = _ProxyRoutes(
            transport,
            limits,
            urllib.request.getproxies_environment() if transport is None else {},
        )
        self._global = asyncio.Semaphore(settings.max_concurrency)
        self._hosts: defaultdict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(settings.max_per_host)
        )

    async def aclose(self) -> None:
        await self._routes.aclose()

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def fetch(
        self, url: str, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResult:
        """Fetch ``url`` once. Never raises for network or HTTP trouble: see ``.error``,
        a FeedError naming the kind of failure where it happened."""
        started = time.monotonic()
        host = (urlsplit(url).hostname or "").lower()
        async with self._global, self._hosts[host]:
            try:
                async with asyncio.timeout(self.settings.deadline):
                    result = await self._fetch(url, etag, last_modified)
            except TimeoutError:
                result = FetchResult(
                    url=url,
                    error=FeedError(
                        FeedErrorKind.DEADLINE,
                        f"gave up after {self.settings.deadline:g}s (overall fetch deadline)",
                    ),
                )
        result.elapsed = time.monotonic() - started
        return result

    async def _fetch(self, url: str, etag: str | None, last_modified: str | None) -> FetchResult:
        reason = check_feed_url(url)
        if reason:
            return FetchResult(url=url, error=FeedError(FeedErrorKind.BAD_URL, reason))
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        current = url
        visited = {url}
        all_permanent = True
        for _hop in range(self.settings.max_redirects + 1):
            if not self.settings.allow_private_addresses:
                refused = await non_public_address(current)
                if refused:
                    prefix = "" if current == url else "redirect refused: "
                    error = FeedError(FeedErrorKind.PRIVATE_ADDRESS, f"{prefix}{refused}")
                    return FetchResult(url=url, error=error)
            try:
                result = await self._request(url, current, headers)
            except FeedError as exc:  # raised by _read: a body too large or badly encoded
                return FetchResult(url=url, error=exc)
            except httpx.TimeoutException as exc:
                return FetchResult(url=url, error=_timeout_error(exc))
            except httpx.TooManyRedirects:
                error = FeedError(FeedErrorKind.TOO_MANY_REDIRECTS, "too many redirects")
                return FetchResult(url=url, error=error)
            except (httpx.HTTPError, OSError) as exc:
                return FetchResult(url=url, error=network_error(exc))
            if isinstance(result, FetchResult):
                if all_permanent and current != url:
                    result.final_url = current
                return result
            status, location = result
            target = urljoin(current, location)
            reason = check_feed_url(target)
            if reason:
                error = FeedError(FeedErrorKind.BAD_URL, f"redirect refused: {reason}", status)
                return FetchResult(url=url, status=status, error=error)
            if target in visited:
                error = FeedError(FeedErrorKind.REDIRECT_LOOP, "redirect loop", status)
                return FetchResult(url=url, status=status, error=error)
            visited.add(target)
            all_permanent = all_permanent and status in _PERMANENT
            current = target
        error = FeedError(
            FeedErrorKind.TOO_MANY_REDIRECTS,
            f"too many redirects (more than {self.settings.max_redirects})",
        )
        return FetchResult(url=url, error=error)

    async def _request(
        self, original: str, url: str, headers: dict[str, str]
    ) -> FetchResult | tuple[int, str]:
        target = plain_url(url) or httpx.URL(url)
        transport = self._routes.transport_for(target)
        response: httpx.Response | DirectResponse
        if isinstance(transport, AsyncioTransport) and self._raw_headers is not None:
            # What httpx.Request("GET", ...) would send: Host first, then the headers in order.
            lines = [(b"Host", target.netloc), *self._raw_headers]
            for key, value in headers.items():
                lines.append((key.encode("ascii"), value.encode("ascii")))
            response = await transport.get(target, lines, {"timeout": self._timeout})
        else:
            request = httpx.Request(
                "GET",
                url,
                headers={**self._headers, **headers},
                extensions={"timeout": self._timeout},
            )
            response = await transport.handle_async_request(request)
        try:
            return await self._read(original, response)
        finally:
            await response.aclose()

    async def _read(
        self, original: str, response: httpx.Response | DirectResponse
    ) -> FetchResult | tuple[int, str]:
        status = response.status_code
        if status < 200 or status >= 300:
            # Read the (small) body of a 304, a redirect or an error page, so the
            # connection goes back to the pool: closing an unread response closes the
            # socket, and a warm cycle would then pay a new TCP connection per feed.
            await _drain_small_body(response)
        if status in _REDIRECT and response.headers.get("location"):
            return status, response.headers["location"]
        result = FetchResult(
            url=original,
            status=status,
            etag=response.headers.get("etag"),
            last_modified=response.headers.get("last-modified"),
            content_type=response.headers.get("content-type"),
            max_age=parse_max_age(response.headers),
        )
        if status == 304:
            result.not_modified = True
            return result
        if status >= 400:
            result.retry_after = parse_retry_after(response.headers.get("retry-after"))
            result.gone = status == 410
            result.error = FeedError(
                _STATUS_KINDS.get(status, FeedErrorKind.HTTP_STATUS),
                f"HTTP {status} {response.reason_phrase}".strip(),
                status,
            )
            return result
        if status >= 300:
            result.error = FeedError(
                FeedErrorKind.HTTP_STATUS, f"HTTP {status} without a usable Location", status
            )
            return result
        cap = self.settings.max_body_bytes
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > cap:
            raise self._too_large()
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        if encoding not in ("", "identity", "gzip", "x-gzip", "deflate"):
            result.error = FeedError(
                FeedErrorKind.BAD_ENCODING, f"unsupported Content-Encoding {encoding!r}"
            )
            return result
        inflater = _Inflater(encoding) if encoding not in ("", "identity") else None
        chunks: list[bytes] = []
        size = 0
        # Raw bytes, inflated here in bounded steps: the cap applies to the decompressed
        # size, and a gzip bomb never gets more than cap + 1 bytes into memory.
        async for raw in response.aiter_raw():
            for chunk in inflater.feed(raw, cap - size) if inflater else [raw]:
                size += len(chunk)
                if size > cap:
                    raise self._too_large()
                chunks.append(chunk)
        body = b"".join(chunks)
        result.body = body
        result.body_hash = body_digest(body)
        return result

    def _too_large(self) -> FeedError:
        return FeedError(
            FeedErrorKind.TOO_LARGE,
            f"body larger than {self.settings.max_body_bytes} bytes: cut off, not parsed",
        )


class _ProxyRoutes:
    """Which transport a URL goes through: the direct one, or a proxy from the environment.

    ``proxies`` is ``urllib.request.getproxies_environment()``: scheme -> proxy URL, plus
    ``no`` for the hosts that bypass proxies. One transport (one connection pool) per proxy.

    Direct requests go through ``direct`` when a caller gives one (tests), else through one
    ``AsyncioTransport`` per scheme, made when that scheme is first fetched. The https one
    verifies certificates against httpx's default CA bundle; loading it costs 20-35 ms of CPU, which
    a feed list of plain-http URLs never pays. The http one never starts TLS (a redirect to
    https is another request, through the https transport): its TLS context trusts no CA.
    """

    def __init__(
        self,
        direct: httpx.AsyncBaseTransport | None,
        limits: httpx.Limits,
        proxies: dict[str, str],
    ):
        self._direct = direct
        self._by_scheme_direct: dict[str, httpx.AsyncBaseTransport] = {}
        self._limits = limits
        self._no_proxy = proxies.get("no", "")
        self._by_scheme = {
            scheme: proxies.get(scheme) or proxies.get("all") for scheme in ("http", "https")
        }
        self._proxied: dict[str, httpx.AsyncBaseTransport] = {}

    def transport_for(self, url: httpx.URL | PlainURL) -> httpx.AsyncBaseTransport:
        proxy = self._by_scheme.get(url.scheme)
        if not proxy or self._bypass(url):
            return self._direct or self._direct_for(url.scheme)
        transport = self._proxied.get(proxy)
        if transport is None:
            transport = self._proxied[proxy] = httpx.AsyncHTTPTransport(
                limits=self._limits, proxy=proxy
            )
        return transport

    def _direct_for(self, scheme: str) -> httpx.AsyncBaseTransport:
        transport = self._by_scheme_direct.get(scheme)
        if transport is None:
            if scheme == "http":
                context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies, trusting no CA
            else:
                context = httpx.create_ssl_context()  # what httpx's own transport would use
            transport = AsyncioTransport(context, self._limits)
            self._by_scheme_direct[scheme] = transport
        return transport

    def _bypass(self, url: httpx.URL | PlainURL) -> bool:
        if not self._no_proxy:
            return False
        host = url.host if url.port is None else f"{url.host}:{url.port}"
        # The standard library's no_proxy rules (on POSIX, proxy_bypass reads the environment).
        return bool(urllib.request.proxy_bypass(host))

    async def aclose(self) -> None:
        direct = [self._direct] if self._direct is not None else []
        for transport in [*direct, *self._by_scheme_direct.values(), *self._proxied.values()]:
            await transport.aclose()


_NO_BODY = (204, 304)
_REUSE_BODY_LIMIT = 64 * 1024  # a larger unwanted body is not worth reading to keep a socket


async def _drain_small_body(response: httpx.Response | DirectResponse) -> None:
    if response.status_code in _NO_BODY:
        # No body by definition (RFC 9110), and servers such as nginx send a 304 without
        # Content-Length: h11 ends it at once, and the connection stays open.
        async for _ in response.aiter_raw():
            pass
        return
    declared = response.headers.get("content-length")
    if declared is None or not declared.isdigit() or int(declared) > _REUSE_BODY_LIMIT:
        return  # unknown or large: let the connection close instead
    read = 0
    async for raw in response.aiter_raw():
        read += len(raw)
        if read > _REUSE_BODY_LIMIT:
            return


_STATUS_KINDS = {410: FeedErrorKind.GONE, 429: FeedErrorKind.RATE_LIMITED}


def _timeout_error(exc: httpx.TimeoutException) -> FeedError:
    if isinstance(exc, httpx.ConnectTimeout):
        return FeedError(FeedErrorKind.CONNECT_TIMEOUT, "timeout: connect timeout")
    what = {
        httpx.ReadTimeout: "read timeout",
        httpx.WriteTimeout: "write timeout",
        httpx.PoolTimeout: "connection pool timeout",
    }.get(type(exc), "timeout")
    return FeedError(FeedErrorKind.TIMEOUT, f"timeout: {what}")


def network_error(exc: BaseException) -> FeedError:
    """The FeedError of a transport failure, its kind read from the exception chain.

    httpx keeps the cause: ``ConnectError`` from httpcore's, from ``socket.gaierror`` (DNS)
    or ``ssl.SSLError`` (TLS), so the kind comes from types, not from the message's words.
    """
    text = str(exc) or type(exc).__name__
    causes = _chain(exc)
    if any(isinstance(c, socket.gaierror) for c in causes):
        return FeedError(FeedErrorKind.DNS, f"DNS failure: {text}")
    if any(isinstance(c, ssl.SSLError | ssl.CertificateError) for c in causes):
        return FeedError(FeedErrorKind.TLS, f"TLS error: {text}")
    if isinstance(exc, httpx.ConnectError):
        return FeedError(FeedErrorKind.CONNECT, f"connection failed: {text}")
    if isinstance(exc, httpx.RemoteProtocolError):
        return FeedError(FeedErrorKind.NETWORK, f"connection dropped: {text}")
    return FeedError(FeedErrorKind.NETWORK, f"network error: {text}")


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and its causes (``raise … from``) and contexts, without cycles."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not s for s in seen):
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


async def non_public_address(url: str) -> str | None:
    """Why ``url``'s host may not be fetched with allow_private_addresses = false, or None.

    The host is resolved here (every address it resolves to must be public: not loopback,
    private, link-local, multicast, reserved or unspecified). httpx resolves it again to
    connect, so a DNS answer that changes in between (rebinding) is not caught.
    """
    import ipaddress
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    host = parts.hostname
    if not host:
        return None
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        port = 80
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError:
            return None  # the fetch reports the DNS failure itself
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    for address in addresses:
        if not address.is_global or address.is_multicast:
            return (
                f"{host} resolves to a non-public address ({address}) and"
                " allow_private_addresses is false"
            )
    return None
