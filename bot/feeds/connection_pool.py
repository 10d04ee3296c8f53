"""A connection pool for httpcore's HTTP/1.1 connections, written for one asyncio event loop.

``AsyncioTransport`` (``bot/feeds/asyncio_transport.py``) used ``httpcore.AsyncConnectionPool``.
That pool is written for any async library and for threads: every request takes a thread
lock, waits on an anyio event for its connection, closes connections in a shielded anyio
cancel scope, and scans every connection of the pool (several times) when a request arrives
and when a response ends. On a cycle of conditional GETs answered 304 that bookkeeping cost
about 135 µs of CPU per request, more than the HTTP/1.1 exchange itself (docs/performance.md,
"Warm cycle pass (stop 27)").

``ConnectionPool`` keeps httpcore's connections (``httpcore.AsyncHTTPConnection``: connect,
TLS, HTTP/1.1, keep-alive expiry, "did the server close it?") and replaces only the pool
around them, with the same rules as httpcore's:

- a request reuses an idle connection to its origin that is still available (not expired,
  not closed by the server); expired or closed idle connections are closed and dropped
  first;
- else it opens a new connection while there are fewer than ``max_connections``;
- else it closes an idle connection to another origin and opens one;
- else it waits until a response ends (``PoolTimeout`` after the request's ``pool``
  timeout);
- a connection goes back to the pool when its response is closed (read to the end or not):
  kept when idle (at most ``max_keepalive_connections`` idle ones), dropped when closed, and
  closed when it is in any other state (a response given up half-way);
- a reused connection that turns out unavailable (``ConnectionNotAvailable``) is given back
  and the request tries again, as httpcore does.

It runs on one event loop and takes no lock: the pool's state only changes between awaits.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import sys
import time
from collections.abc import AsyncIterator, Iterable
from typing import Any

import httpcore

_SCHEMES = ("http", "https", "ws", "wss")


class ConnectionPool:
    """httpcore's connection pool interface (``handle_async_request``, ``aclose``,
    ``connections``) over ``httpcore.AsyncHTTPConnection``s, HTTP/1.1 only."""

    def __init__(
        self,
        *,
        ssl_context: ssl.SSLContext,
        max_connections: int | None,
        max_keepalive_connections: int | None,
        keepalive_expiry: float | None,
        network_backend: httpcore.AsyncNetworkBackend,
        socket_options: Iterable[Any] | None = None,
    ) -> None:
        self._ssl_context = ssl_context
        self._max_connections = max_connections if max_connections is not None else 2**31
        self._max_idle = (
            max_keepalive_connections if max_keepalive_connections is not None else 2**31
        )
        self._max_idle = min(self._max_idle, self._max_connections)
        self._keepalive_expiry = keepalive_expiry
        self._network_backend = network_backend
        self._socket_options = socket_options
        self._idle: list[httpcore.AsyncHTTPConnection] = []  # oldest first
        self._busy: set[httpcore.AsyncHTTPConnection] = set()
        self._waiters: list[asyncio.Future[None]] = []
        self._closed = False

    @property
    def connections(self) -> list[httpcore.AsyncHTTPConnection]:
        """Every connection of the pool: idle ones first, then those serving a request."""
        return [*self._idle, *self._busy]

    def _new_connection(self, origin: httpcore.Origin) -> httpcore.AsyncHTTPConnection:
        return httpcore.AsyncHTTPConnection(
            origin=origin,
            ssl_context=self._ssl_context,
            keepalive_expiry=self._keepalive_expiry,
            http1=True,
            http2=False,
            network_backend=self._network_backend,
            socket_options=self._socket_options,
        )

    async def handle_async_request(self, request: httpcore.Request) -> httpcore.Response:
        scheme = request.url.scheme.decode()
        if scheme == "":
            raise httpcore.UnsupportedProtocol(
                "Request URL is missing an 'http://' or 'https://' protocol."
            )
        if scheme not in _SCHEMES:
            raise httpcore.UnsupportedProtocol(
                f"Request URL has an unsupported protocol '{scheme}://'."
            )
        timeout = request.extensions.get("timeout", {}).get("pool")
        origin = request.url.origin
        while True:
            connection = await self._acquire(origin, timeout)
            try:
                response = await connection.handle_async_request(request)
            except httpcore.ConnectionNotAvailable:
                await self._release(connection)
                continue
            except BaseException:  # errors and cancelling alike: give the connection back
                await self._release(connection)
                raise
            return httpcore.Response(
                status=response.status,
                headers=response.headers,
                content=_PooledStream(response.stream, self, connection),
                extensions=response.extensions,
            )

    async def _acquire(
        self, origin: httpcore.Origin, timeout: float | None
    ) -> httpcore.AsyncHTTPConnection:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            closing: list[httpcore.AsyncHTTPConnection] = []
            chosen: httpcore.AsyncHTTPConnection | None = None
            # Expired idle connections, and those the server closed, are closed first.
            kept = []
            for connection in self._idle:
                if connection.is_closed():
                    continue
                if connection.has_expired():
                    closing.append(connection)
                    continue
                if (
                    chosen is None
                    and connection.can_handle_request(origin)
                    and connection.is_available()
                ):
                    chosen = connection
                    continue
                kept.append(connection)
            self._idle = kept
            if chosen is None:
                if len(self._idle) + len(self._busy) < self._max_connections:
                    chosen = self._new_connection(origin)
                elif self._idle:
                    closing.append(self._idle.pop(0))
                    chosen = self._new_connection(origin)
            if chosen is not None:
                self._busy.add(chosen)
            try:
                await _close_all(closing)
            except BaseException:  # cancelled while closing: the chosen one is not handed out
                if chosen is not None:
                    await self._release(chosen)
                raise
            if chosen is not None:
                return chosen
            await self._wait_for_release(deadline)

    async def _wait_for_release(self, deadline: float | None) -> None:
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            if deadline is None:
                await waiter
            else:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError
                async with asyncio.timeout(remaining):
                    await waiter
        except TimeoutError as exc:
            raise httpcore.PoolTimeout("timed out waiting for a connection") from exc
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)
            elif waiter.done() and not waiter.cancelled() and sys.exc_info()[0] is not None:
                self._wake_one()  # woken, but timed out or cancelled: pass the turn on

    async def _release(self, connection: httpcore.AsyncHTTPConnection) -> None:
        """Take ``connection`` back from a request: keep it idle, drop it, or close it."""
        self._busy.discard(connection)
        if connection.is_closed():
            pass
        elif self._closed or not connection.is_idle() or len(self._idle) >= self._max_idle:
            # an unfinished response, a pool being closed, or too many idle connections
            await _close_all([connection])
        else:
            self._idle.append(connection)
        self._wake_one()

    def _wake_one(self) -> None:
        while self._waiters:
            waiter = self._waiters.pop(0)
            if not waiter.done():
                waiter.set_result(None)
                return

    async def aclose(self) -> None:
        """Close every connection; a response still being read is closed when it ends."""
        self._closed = True
        closing, self._idle = self._idle, []
        busy, self._busy = list(self._busy), set()
        await _close_all([*closing, *busy])

    async def __aenter__(self) -> ConnectionPool:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


async def _close_all(connections: list[httpcore.AsyncHTTPConnection]) -> None:
    for connection in connections:
        with contextlib.suppress(Exception):  # a connection that fails to close is gone anyway
            await connection.aclose()


class _PooledStream:
    """A response body; closing it (or reaching its end) gives the connection back."""

    def __init__(
        self, stream: Any, pool: ConnectionPool, connection: httpcore.AsyncHTTPConnection
    ) -> None:
        self._stream = stream
        self._pool = pool
        self._connection = connection
        self._closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for part in self._stream:
                yield part
        except BaseException:  # as httpcore's pool: a broken read gives the connection back
            await self.aclose()
            raise

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            if hasattr(self._stream, "aclose"):
                await self._stream.aclose()
        finally:
            await self._pool._release(self._connection)
