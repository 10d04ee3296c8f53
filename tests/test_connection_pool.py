"""The fetcher's connection pool (``bot.feeds.connection_pool``) keeps httpcore's pool rules.

A small HTTP/1.1 server on 127.0.0.1 in the test's loop counts the connections it accepts and
the ones open at once; its ``/hold`` path answers only when the test releases it, ``/hang``
never answers. Every test waits on conditions (a request arrived, a future resolved), never
on time, except the pool timeout, which is the behaviour under test.
"""

from __future__ import annotations

import asyncio
import ssl

import httpcore
import httpx
import pytest

from bot.feeds.asyncio_transport import AsyncioBackend, AsyncioTransport
from bot.feeds.connection_pool import ConnectionPool
from bot.feeds.fetcher import Fetcher, FetchSettings


class _CountingServer:
    """304 with keep-alive; ``/big`` sends a 64 KB body; ``/hold`` waits for ``release``."""

    def __init__(self) -> None:
        self.accepted = 0
        self.open = 0
        self.most_open = 0
        self.held: asyncio.Queue[asyncio.Event] = asyncio.Queue()
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        self.open += 1
        self.most_open = max(self.most_open, self.open)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                path = head.split(b" ", 2)[1]
                if path == b"/hang":
                    await asyncio.Event().wait()
                if path == b"/hold":
                    gate = asyncio.Event()
                    await self.held.put(gate)
                    await gate.wait()
                if path == b"/big":
                    body = b"x" * 65536
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body))
                    writer.write(body)
                else:
                    writer.write(b'HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\n\r\n')
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self.open -= 1
            writer.close()

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()


def _pool(max_connections: int, max_idle: int | None = None) -> ConnectionPool:
    return ConnectionPool(
        ssl_context=ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT),
        max_connections=max_connections,
        max_keepalive_connections=max_idle,
        keepalive_expiry=5.0,
        network_backend=AsyncioBackend(),
    )


async def _get(
    pool: ConnectionPool, port: int, path: str = "/feed", pool_timeout: float = 30.0
) -> int:
    request = httpcore.Request(
        "GET",
        f"http://127.0.0.1:{port}{path}",
        headers=[(b"Host", f"127.0.0.1:{port}".encode())],
        extensions={"timeout": {"pool": pool_timeout, "read": 30.0, "connect": 10.0}},
    )
    response = await pool.handle_async_request(request)
    try:
        async for _ in response.stream:  # type: ignore[union-attr]
            pass
    finally:
        await response.aclose()
    return response.status


async def test_requests_reuse_idle_connections_up_to_the_limit() -> None:
    server = _CountingServer()
    port = await server.start()
    pool = _pool(max_connections=3)
    try:
        statuses = await asyncio.gather(*(_get(pool, port) for _ in range(30)))
        assert statuses == [304] * 30
        assert server.most_open <= 3
        assert server.accepted <= 3  # every later request reused a kept-alive connection
        assert len(pool.connections) == server.accepted
        assert all(c.is_idle() for c in pool.connections)
    finally:
        await pool.aclose()
        await server.stop()


async def test_a_request_waits_for_a_busy_pool_then_gets_the_connection() -> None:
    server = _CountingServer()
    port = await server.start()
    pool = _pool(max_connections=1)
    try:
        first = asyncio.create_task(_get(pool, port, "/hold"))
        gate = await server.held.get()  # the only connection is busy
        second = asyncio.create_task(_get(pool, port))
        for _ in range(20):
            await asyncio.sleep(0)
        assert not second.done()  # waiting for the pool, not on a second connection
        gate.set()
        assert await first == 304
        assert await second == 304
        assert server.accepted == 1
    finally:
        await pool.aclose()
        await server.stop()


async def test_a_busy_pool_times_out_with_a_pool_timeout() -> None:
    server = _CountingServer()
    port = await server.start()
    pool = _pool(max_connections=1)
    try:
        first = asyncio.create_task(_get(pool, port, "/hold"))
        gate = await server.held.get()
        with pytest.raises(httpcore.PoolTimeout):
            await _get(pool, port, pool_timeout=0.05)
        gate.set()
        assert await first == 304
        assert await _get(pool, port) == 304  # the pool still works, on the same connection
        assert server.accepted == 1
    finally:
        await pool.aclose()
        await server.stop()


async def test_a_cancelled_request_gives_its_connection_back() -> None:
    server = _CountingServer()
    port = await server.start()
    pool = _pool(max_connections=1)
    try:
        hung = asyncio.create_task(_get(pool, port, "/hang"))
        while server.accepted == 0:
            await asyncio.sleep(0.01)
        hung.cancel()
        with pytest.raises(asyncio.CancelledError):
            await hung
        # The connection was mid-response: closed, and its place in the pool is free.
        assert await _get(pool, port) == 304
        assert server.accepted == 2
        assert len(pool.connections) == 1
    finally:
        await pool.aclose()
        await server.stop()


async def test_a_response_closed_unread_closes_its_connection() -> None:
    server = _CountingServer()
    port = await server.start()
    pool = _pool(max_connections=2)
    try:
        request = httpcore.Request(
            "GET", f"http://127.0.0.1:{port}/big", headers=[(b"Host", b"127.0.0.1")]
        )
        response = await pool.handle_async_request(request)
        await response.aclose()  # 64 KB left unread: the connection cannot be reused
        assert pool.connections == []
        assert await _get(pool, port) == 304
        assert server.accepted == 2
    finally:
        await pool.aclose()
        await server.stop()


async def test_at_the_limit_an_idle_connection_to_another_origin_makes_room() -> None:
    one, two = _CountingServer(), _CountingServer()
    port_one, port_two = await one.start(), await two.start()
    pool = _pool(max_connections=1)
    try:
        assert await _get(pool, port_one) == 304
        assert await _get(pool, port_two) == 304  # the idle one to port_one was closed
        assert len(pool.connections) == 1
        while one.open:
            await asyncio.sleep(0.01)
        assert await _get(pool, port_one) == 304
        assert (one.accepted, two.accepted) == (2, 1)
    finally:
        await pool.aclose()
        await one.stop()
        await two.stop()


async def test_idle_connections_beyond_the_keepalive_limit_are_closed() -> None:
    server = _CountingServer()
    port = await server.start()
    pool = _pool(max_connections=4, max_idle=1)
    try:
        holds = [asyncio.create_task(_get(pool, port, "/hold")) for _ in range(3)]
        gates = [await server.held.get() for _ in range(3)]
        for gate in gates:
            gate.set()
        assert await asyncio.gather(*holds) == [304, 304, 304]
        assert len(pool.connections) == 1
    finally:
        await pool.aclose()
        await server.stop()


async def test_unsupported_schemes_are_refused_as_httpcore_refuses_them() -> None:
    pool = _pool(max_connections=1)
    with pytest.raises(httpcore.UnsupportedProtocol):
        await pool.handle_async_request(httpcore.Request("GET", "ftp://127.0.0.1/feed"))


async def test_the_fetcher_uses_this_pool_and_closes_it() -> None:
    server = _CountingServer()
    port = await server.start()
    transport = AsyncioTransport(ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT), httpx.Limits())
    assert isinstance(transport.pool, ConnectionPool)
    try:
        async with Fetcher(FetchSettings(max_per_host=2), transport=transport) as fetcher:
            url = f"http://127.0.0.1:{port}/feed"
            results = await asyncio.gather(*(fetcher.fetch(url, etag='"v1"') for _ in range(10)))
            assert all(r.not_modified and r.error is None for r in results)
            assert server.accepted <= 2
        assert transport.pool.connections == []
        while server.open:
            await asyncio.sleep(0.01)
    finally:
        await server.stop()
