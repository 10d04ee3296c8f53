"""The fetcher's asyncio network backend gives what httpx's own (anyio) transport gives.

Every answer and fault of the local feed server is fetched twice, once through the fetcher's
default transport (``bot.feeds.asyncio_transport``) and once through
``httpx.AsyncHTTPTransport``: the results must be the same, field for field. TLS is checked
against a real TLS server on 127.0.0.1 (a certificate made with the openssl command), and
keep-alive against a server that closes idle connections.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gzip
import shutil
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.app import event_loop
from bot.app.event_loop import EventLoopChoice, uvloop_installed
from bot.core.errors import FeedErrorKind
from bot.feeds.asyncio_transport import AsyncioTransport
from bot.feeds.fetcher import Fetcher, FetchResult, FetchSettings
from tests.fakes.feed_server import FeedServer, gzip_bomb, rss

BODY = rss([{"title": f"Item {i}", "link": f"https://example.org/{i}"} for i in range(30)])
BIG = rss([{"title": f"Item {i} " + "x" * 900, "link": f"https://e.org/{i}"} for i in range(1200)])

# path -> (route options, etag sent); each case is fetched by both transports
CASES: dict[str, tuple[dict[str, Any], bool]] = {
    "/ok.xml": ({}, False),
    "/not-modified.xml": ({}, True),
    "/big.xml": ({"body": BIG}, False),  # about 1.2 MB: reading pauses and resumes
    "/gzip.xml": ({"fault": "gzip"}, False),
    "/gzip-bomb.xml": ({"fault": "gzip-bomb"}, False),
    "/huge.xml": ({"fault": "huge"}, False),
    "/huge-chunked.xml": ({"fault": "huge-chunked"}, False),
    "/empty.xml": ({"fault": "empty"}, False),
    "/html.xml": ({"fault": "html"}, False),
    "/no-etag.xml": ({"fault": "no-etag"}, True),
    "/drop.xml": ({"fault": "drop"}, False),
    "/gone.xml": ({"status": 410, "body": b"gone"}, False),
    "/limited.xml": ({"status": 429, "headers": {"Retry-After": "120"}}, False),
    "/error.xml": ({"status": 500, "body": b"x" * 70_000}, False),  # not read: socket closed
    "/redirect.xml": ({"fault": "redirect", "target": "/ok.xml"}, False),
    "/moved.xml": ({"fault": "permanent-redirect", "target": "/ok.xml"}, False),
    "/loop.xml": ({"fault": "redirect-loop", "target": "/loop.xml"}, False),
    "/hang.xml": ({"fault": "hang"}, False),
}


def _comparable(result: FetchResult) -> dict[str, Any]:
    fields = dataclasses.asdict(result)
    fields.pop("elapsed")
    error = result.error
    fields["error"] = None if error is None else (error.kind, str(error), error.status)
    return fields


async def _fetch_all(
    server: FeedServer, transport: httpx.AsyncBaseTransport | None
) -> dict[str, dict[str, Any]]:
    # A read timeout short enough for /hang.xml, long enough for a loaded machine elsewhere.
    settings = FetchSettings(read_timeout=2.0, max_body_bytes=10 * 1024 * 1024)
    results = {}
    async with Fetcher(settings, transport=transport) as fetcher:
        for path, (_options, conditional) in CASES.items():
            etag = server.routes[path].etag if conditional and path in server.routes else None
            result = await fetcher.fetch(server.url(path), etag=etag)
            results[path] = _comparable(result)
        # the same connection pool, after all of that: still answering
        results["again"] = _comparable(await fetcher.fetch(server.url("/ok.xml")))
    return results


@pytest.mark.slow
async def test_every_answer_and_fault_fetches_as_with_httpx_transport(
    feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    gzip_bomb()  # built once, before timing starts: the first fetch must not wait for it
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    for path, (options, _conditional) in CASES.items():
        feed_server.set(path, options.pop("body", BODY), **options)
    ours = await _fetch_all(feed_server, None)  # the default: AsyncioTransport
    limits = httpx.Limits(max_connections=20, max_keepalive_connections=20)
    theirs = await _fetch_all(feed_server, httpx.AsyncHTTPTransport(limits=limits))
    assert ours == theirs
    # and the results are what each case is about
    assert ours["/ok.xml"]["status"] == 200 and ours["/ok.xml"]["body"] == BODY.encode()
    assert ours["/not-modified.xml"]["not_modified"] is True
    assert ours["/big.xml"]["body"] == BIG.encode()
    assert ours["/gzip.xml"]["body"] == BODY.encode()
    assert ours["/gzip-bomb.xml"]["error"][0] is FeedErrorKind.TOO_LARGE
    assert ours["/huge.xml"]["error"][0] is FeedErrorKind.TOO_LARGE
    assert ours["/huge-chunked.xml"]["error"][0] is FeedErrorKind.TOO_LARGE
    assert ours["/drop.xml"]["error"][0] is FeedErrorKind.NETWORK
    assert ours["/gone.xml"]["gone"] is True
    assert ours["/limited.xml"]["retry_after"] == 120.0
    assert ours["/moved.xml"]["final_url"] == feed_server.url("/ok.xml")
    assert ours["/loop.xml"]["error"][0] is FeedErrorKind.REDIRECT_LOOP
    assert ours["/hang.xml"]["error"][0] is FeedErrorKind.TIMEOUT
    assert ours["again"]["status"] == 200


async def test_connection_refused_is_a_connect_error() -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with Fetcher(FetchSettings()) as fetcher:
        result = await fetcher.fetch(f"http://127.0.0.1:{port}/feed.xml")
    assert result.error is not None and result.error.kind is FeedErrorKind.CONNECT


class _KeepAliveServer:
    """HTTP/1.1 on 127.0.0.1 in the test's loop: 304 with keep-alive; can close idle sockets."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.tls = tls
        self.connections = 0
        self.writers: list[asyncio.StreamWriter] = []
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.tls)
        return int(self.server.sockets[0].getsockname()[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.append(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                if b"if-none-match" in head.lower():
                    writer.write(b'HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\n\r\n')
                else:
                    body = gzip.compress(BODY.encode())
                    writer.write(
                        b'HTTP/1.1 200 OK\r\nETag: "v1"\r\nContent-Encoding: gzip\r\n'
                        b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
                    )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()

    async def close_idle(self) -> None:
        for writer in self.writers:
            writer.close()
        self.writers = []

    async def stop(self) -> None:
        await self.close_idle()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


LOOPS = [
    EventLoopChoice.ASYNCIO,
    pytest.param(
        EventLoopChoice.UVLOOP,
        marks=pytest.mark.skipif(not uvloop_installed(), reason="uvloop is not installed"),
    ),
]


@pytest.mark.parametrize("loop", LOOPS)
def test_a_connection_the_server_closed_while_idle_is_not_reused(loop: EventLoopChoice) -> None:
    event_loop.run(_idle_close_scenario(), loop)


async def _idle_close_scenario() -> None:
    server = _KeepAliveServer()
    port = await server.start()
    transport = AsyncioTransport(ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT), httpx.Limits())
    try:
        async with Fetcher(FetchSettings(), transport=transport) as fetcher:
            url = f"http://127.0.0.1:{port}/feed.xml"
            first = await fetcher.fetch(url)
            assert first.status == 200 and first.body == BODY.encode()
            assert (await fetcher.fetch(url, etag='"v1"')).not_modified
            assert server.connections == 1  # kept alive
            await server.close_idle()
            # Wait (a bounded number of loop turns) until the client side saw the close:
            # the pool asks exactly this before it hands out an idle connection.
            for _ in range(1000):
                if all(c.has_expired() for c in transport.pool.connections):
                    break
                await asyncio.sleep(0)
            assert all(c.has_expired() for c in transport.pool.connections)
            again = await fetcher.fetch(url, etag='"v1"')
            assert again.not_modified and again.error is None
            assert server.connections == 2
    finally:
        await server.stop()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """A self-signed certificate for 127.0.0.1 and localhost (openssl command line)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is not installed (apt-get install openssl)")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=newswatch test",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    yield cert, key


@pytest.mark.parametrize("loop", LOOPS)
def test_https_through_the_fetcher_verifies_and_keeps_alive(
    certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, loop: EventLoopChoice
) -> None:
    event_loop.run(_https_scenario(certificate, monkeypatch), loop)


async def _https_scenario(certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    cert, key = certificate
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert, key)
    server = _KeepAliveServer(tls=server_context)
    port = await server.start()
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    try:
        # Trusted through SSL_CERT_FILE, as httpx's default context reads it.
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))
        async with Fetcher(FetchSettings()) as fetcher:
            url = f"https://127.0.0.1:{port}/feed.xml"
            first = await fetcher.fetch(url)
            assert first.error is None and first.body == BODY.encode()
            assert (await fetcher.fetch(url, etag='"v1"')).not_modified
            assert server.connections == 1
        # Not trusted (the default CA bundle): a TLS error, and its cause is kept.
        monkeypatch.delenv("SSL_CERT_FILE")
        async with Fetcher(FetchSettings()) as fetcher:
            untrusted = await fetcher.fetch(url)
        assert untrusted.error is not None and untrusted.error.kind is FeedErrorKind.TLS
        assert "CERTIFICATE_VERIFY_FAILED" in str(untrusted.error)
    finally:
        await server.stop()


class _RecordingServer:
    """Records each request's bytes (request line and header lines) and answers as given."""

    def __init__(self, answer: bytes) -> None:
        self.answer = answer
        self.requests: list[bytes] = []
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> str:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/feeds/a%20b.xml?x=1&y=%C3%A9"

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await asyncio.gather(*self._handlers)  # each ends when its client has closed
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            while True:
                self.requests.append(await reader.readuntil(b"\r\n\r\n"))
                writer.write(self.answer)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the client closed the connection
        finally:
            writer.close()


ANSWERS = {
    "304 like nginx": (
        b'HTTP/1.1 304 Not Modified\r\nServer: nginx\r\nETag: "6b09-e1b"\r\n'
        b"Last-Modified: Sat, 28 Nov 2026 06:00:00 GMT\r\nCache-Control: max-age=600\r\n\r\n"
    ),
    "410 with a reason": b"HTTP/1.1 410 Gone Away\r\nContent-Length: 4\r\n\r\ngone",
    "503 without a reason": b"HTTP/1.1 503 \r\nContent-Length: 0\r\nRetry-After: 30\r\n\r\n",
    "200 with a latin-1 header": (
        b'HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nETag: "caf\xe9"\r\n'
        b"Content-Length: 5\r\n\r\n<rss>"
    ),
}


@pytest.mark.parametrize("answer", ANSWERS)
async def test_the_direct_get_sends_and_reads_what_httpx_request_and_response_do(
    answer: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fetcher's direct path (AsyncioTransport.get, no httpx.Request/Response built) puts
    the same bytes on the wire as httpx.Request through httpx's own transport, and reads the
    answer into the same FetchResult (status, validators, max-age, error text, body)."""
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    results = []
    wires = []
    server = _RecordingServer(ANSWERS[answer])
    async with server as url:
        for transport in (None, httpx.AsyncHTTPTransport()):
            server.requests = []
            async with Fetcher(FetchSettings(), transport=transport) as fetcher:
                if transport is None:  # the default transport takes the direct path
                    route = fetcher._routes.transport_for(httpx.URL(url))
                    assert isinstance(route, AsyncioTransport)
                result = await fetcher.fetch(url, etag='"6b09-e1b"', last_modified="Sat, 28 Nov")
                again = await fetcher.fetch(url)
            results.append((_comparable(result), _comparable(again)))
            wires.append(server.requests)
    assert results[0] == results[1]
    assert wires[0] == wires[1] and len(wires[0]) == 2
    first = wires[0][0].decode()
    assert first.startswith("GET /feeds/a%20b.xml?x=1&y=%C3%A9 HTTP/1.1\r\nHost: 127.0.0.1:")
    assert 'If-None-Match: "6b09-e1b"\r\nIf-Modified-Since: Sat, 28 Nov\r\n' in first
    assert "If-None-Match" not in wires[0][1].decode()
