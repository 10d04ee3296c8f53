"""Fetcher connection handling: keep-alive connections survive 304s and error pages."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.fakes.feed_server import FeedServer


async def test_304s_and_error_pages_keep_the_connection_for_the_next_fetch(
    feed_server: FeedServer,
) -> None:
    """A warm cycle must not pay a new TCP (and TLS) connection per feed."""
    from bot.feeds.fetcher import Fetcher, FetchSettings

    feed_server.set("/a.xml", "<rss version='2.0'><channel><title>a</title></channel></rss>")
    feed_server.set("/gone.xml", "gone", status=404, content_type="text/plain")
    async with Fetcher(FetchSettings(max_per_host=1)) as fetcher:
        first = await fetcher.fetch(feed_server.url("/a.xml"))
        for _ in range(3):
            again = await fetcher.fetch(feed_server.url("/a.xml"), etag=first.etag)
            assert again.not_modified
            assert (await fetcher.fetch(feed_server.url("/gone.xml"))).status == 404
    peers = {hit.peer for hit in feed_server.hits}
    assert len(feed_server.hits) == 7
    assert len(peers) == 1, peers


RSS = b"<rss version='2.0'><channel><title>via proxy</title></channel></rss>"


class _ForwardProxy:
    """A minimal HTTP forward proxy on 127.0.0.1: records request lines, answers every one."""

    def __init__(self) -> None:
        self.request_lines: list[str] = []
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> str:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while line := await reader.readline():
            self.request_lines.append(line.decode().strip())
            while (await reader.readline()).strip():  # headers; a GET has no body
                pass
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n"
                b"Content-Length: %d\r\n\r\n%s" % (len(RSS), RSS)
            )
            await writer.drain()
        writer.close()


async def test_http_proxy_from_the_environment_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.feeds.fetcher import Fetcher, FetchSettings

    proxy = _ForwardProxy()
    async with proxy as proxy_url:
        monkeypatch.setenv("http_proxy", proxy_url)
        monkeypatch.delenv("no_proxy", raising=False)
        monkeypatch.delenv("NO_PROXY", raising=False)
        async with Fetcher(FetchSettings()) as fetcher:
            result = await fetcher.fetch("http://feeds.example.invalid/rss.xml")
    assert result.error is None, result.error
    assert result.body == RSS
    # A forward proxy gets the absolute URL in the request line.
    assert proxy.request_lines == ["GET http://feeds.example.invalid/rss.xml HTTP/1.1"]


async def test_no_proxy_hosts_are_fetched_directly(
    monkeypatch: pytest.MonkeyPatch, feed_server: FeedServer
) -> None:
    from bot.feeds.fetcher import Fetcher, FetchSettings

    feed_server.set("/a.xml", RSS)
    proxy = _ForwardProxy()
    async with proxy as proxy_url:
        monkeypatch.setenv("http_proxy", proxy_url)
        monkeypatch.setenv("no_proxy", "localhost,127.0.0.1")
        async with Fetcher(FetchSettings()) as fetcher:
            result = await fetcher.fetch(feed_server.url("/a.xml"))
    assert result.body == RSS
    assert proxy.request_lines == []
    assert len(feed_server.hits) == 1


async def test_requests_carry_the_default_headers_and_the_conditional_ones(
    feed_server: FeedServer,
) -> None:
    from bot.feeds.fetcher import Fetcher, FetchSettings

    feed_server.set("/a.xml", RSS)
    async with Fetcher(FetchSettings(user_agent="newswatch-test/1")) as fetcher:
        first = await fetcher.fetch(feed_server.url("/a.xml"))
        await fetcher.fetch(feed_server.url("/a.xml"), etag=first.etag)
    headers = [{k.lower(): v for k, v in hit.headers.items()} for hit in feed_server.hits]
    assert headers[0]["user-agent"] == "newswatch-test/1"
    assert "gzip" in headers[0]["accept-encoding"]
    assert "if-none-match" not in headers[0]
    assert headers[1]["if-none-match"] == first.etag


class _Nginx304Server:
    """Answers every request like nginx does a conditional GET that matches: a 304 with
    validators and no Content-Length (a 304 has no body by definition). Records one entry
    per TCP connection."""

    def __init__(self) -> None:
        self.connections = 0
        self.requests = 0
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> str:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/feed.xml"

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        while await reader.readline():
            while (await reader.readline()).strip():
                pass
            self.requests += 1
            writer.write(
                b"HTTP/1.1 304 Not Modified\r\nServer: nginx/1.22.1\r\n"
                b'Connection: keep-alive\r\nETag: "6b09dfdb-e1b"\r\n\r\n'
            )
            await writer.drain()
        writer.close()


async def test_a_304_without_content_length_keeps_the_connection() -> None:
    """nginx sends no Content-Length on a 304: the socket must still go back to the pool."""
    from bot.feeds.fetcher import Fetcher, FetchSettings

    server = _Nginx304Server()
    async with server as url, Fetcher(FetchSettings(max_per_host=1)) as fetcher:
        for _ in range(5):
            result = await fetcher.fetch(url, etag='"6b09dfdb-e1b"')
            assert result.not_modified, result
            assert result.etag == '"6b09dfdb-e1b"'
    assert server.requests == 5
    assert server.connections == 1


async def test_plain_http_feeds_never_load_the_ca_bundle(
    feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The https transport (httpx's CA bundle, 20-35 ms to load) is made on the first https
    URL; the http one has a TLS context that verifies and trusts no CA (it never starts TLS)."""
    import ssl

    from bot.feeds.asyncio_transport import AsyncioTransport
    from bot.feeds.fetcher import Fetcher, FetchSettings

    contexts: list[ssl.SSLContext] = []
    real = httpx.create_ssl_context

    def recording(*args: object, **kwargs: object) -> ssl.SSLContext:
        context = real(*args, **kwargs)  # type: ignore[arg-type]
        contexts.append(context)
        return context

    monkeypatch.setattr(httpx, "create_ssl_context", recording)
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    feed_server.set("/a.xml", "<rss version='2.0'><channel><title>a</title></channel></rss>")
    async with Fetcher(FetchSettings()) as fetcher:
        assert (await fetcher.fetch(feed_server.url("/a.xml"))).status == 200
        assert (await fetcher.fetch(feed_server.url("/a.xml"))).status == 200
        assert contexts == []  # no CA bundle loaded for plain http
        http = fetcher._routes.transport_for(httpx.URL(feed_server.url("/a.xml")))
        assert isinstance(http, AsyncioTransport)
        plain = http.ssl_context
        assert plain.verify_mode == ssl.CERT_REQUIRED and plain.check_hostname
        assert plain.cert_store_stats()["x509_ca"] == 0
        https = fetcher._routes.transport_for(httpx.URL("https://news.example.org/feed.xml"))
    # https: httpx's default verification (certifi), made once, on first use
    assert isinstance(https, AsyncioTransport) and contexts == [https.ssl_context]
    assert https.ssl_context.verify_mode == ssl.CERT_REQUIRED
    assert https.ssl_context.cert_store_stats()["x509_ca"] > 0
