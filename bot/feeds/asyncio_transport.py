"""An httpx transport whose connection pool does its socket I/O on asyncio directly.

httpx's own ``AsyncHTTPTransport`` runs httpcore's pool on httpcore's anyio network backend:
every read and write opens an anyio cancel scope (``fail_after``), and before each request the
pool asks every idle connection whether the server closed it, which anyio answers by building
all its socket attributes and polling the socket. On a cycle of conditional GETs answered 304
that is a large part of the client's CPU (docs/performance.md).

This module plugs an asyncio network backend into httpcore through its public interface
(``httpcore.AsyncNetworkBackend`` / ``AsyncNetworkStream``, given to each
``httpcore.AsyncHTTPConnection``), keeps those connections in an asyncio-only pool
(``bot/feeds/connection_pool.py``: httpcore's pool rules without its thread lock, anyio events
and scans), and wraps that pool in an ``httpx.AsyncBaseTransport`` (httpx's public interface
for custom transports):

- a connection is an ``asyncio.Protocol`` that buffers what the event loop reads; a read
  waits for data with one timer (``loop.call_later``) instead of a cancel scope;
- "did the server close this idle connection?" is answered from what the protocol already
  saw (end of stream, an error, unexpected bytes), without a system call;
- TLS goes through ``loop.start_tls`` with httpx's SSL context; timeouts, connect/read/write
  errors and their causes (``socket.gaierror``, ``ssl.SSLError``…) map onto the same httpcore
  and then httpx exceptions as with httpx's transport, so callers see no difference.

Proxies keep httpx's own transport (``bot/feeds/fetcher.py`` decides): they are rare, and
TLS inside a proxy tunnel is best left to the code that is tested for it.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from typing import Any, Protocol, cast

import httpcore
import httpx

from bot.feeds.connection_pool import ConnectionPool

# A connection stops reading from the socket when this much is buffered and unread (a body
# read by a slow consumer); it resumes once the buffer is drained below it.
_READ_HIGH_WATER = 256 * 1024

SocketOption = (
    tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]
)


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())


class _Connection(asyncio.Protocol):
    """One TCP (or TLS) connection: the bytes the loop has read, and its end or error."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._eof = False
        self._lost = False
        self._error: BaseException | None = None
        self._reading_paused = False
        self._writing_paused = False
        self._read_waiter: asyncio.Future[None] | None = None
        self._drain_waiter: asyncio.Future[None] | None = None

    # asyncio.Protocol callbacks
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if len(self._buffer) > _READ_HIGH_WATER and not self._reading_paused:
            self._reading_paused = True
            assert self.transport is not None
            self.transport.pause_reading()
        self._wake_reader()

    def eof_received(self) -> bool:
        self._eof = True
        self._wake_reader()
        return False  # the transport closes itself

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = True
        self._eof = True
        if exc is not None and self._error is None:
            self._error = exc
        self._wake_reader()
        waiter, self._drain_waiter = self._drain_waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def pause_writing(self) -> None:
        self._writing_paused = True

    def resume_writing(self) -> None:
        self._writing_paused = False
        waiter, self._drain_waiter = self._drain_waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _wake_reader(self) -> None:
        waiter, self._read_waiter = self._read_waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # what the stream uses
    def readable(self) -> bool:
        """True when bytes, an end of stream or an error arrived: an idle connection that
        is readable was closed by the server (or sent something unexpected)."""
        return bool(self._buffer) or self._eof or self._error is not None

    async def wait(self, timeout: float | None, *, drain: bool = False) -> None:
        """Wait for data (or the end), or, with ``drain``, until writing may go on."""
        waiter = self._loop.create_future()
        if drain:
            self._drain_waiter = waiter
        else:
            self._read_waiter = waiter
        timer = self._loop.call_later(timeout, _expire, waiter) if timeout is not None else None
        try:
            await waiter
        finally:
            if timer is not None:
                timer.cancel()
            if drain:
                self._drain_waiter = None
            else:
                self._read_waiter = None

    def take(self, max_bytes: int) -> bytes:
        data = bytes(self._buffer[:max_bytes])
        del self._buffer[:max_bytes]
        if self._reading_paused and len(self._buffer) <= _READ_HIGH_WATER // 2:
            self._reading_paused = False
            if self.transport is not None and not self._lost:
                self.transport.resume_reading()
        return data


class AsyncioStream(httpcore.AsyncNetworkStream):
    """httpcore's view of one ``_Connection``."""

    def __init__(self, connection: _Connection) -> None:
        self._connection = connection
        self._closed = False

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        connection = self._connection
        if self._closed:
            raise httpcore.ReadError("the connection is closed")
        if not connection._buffer and not connection._eof:
            try:
                await connection.wait(timeout)
            except TimeoutError as exc:
                raise httpcore.ReadTimeout(exc) from exc
        if connection._buffer:
            return connection.take(max_bytes)
        if connection._error is not None:
            error = connection._error
            raise httpcore.ReadError(error) from error
        return b""  # the end of the stream

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        connection = self._connection
        transport = connection.transport
        if self._closed or connection._lost or transport is None or transport.is_closing():
            error = connection._error
            if error is not None:
                raise httpcore.WriteError(error) from error
            raise httpcore.WriteError("the connection is closed")
        transport.write(buffer)
        while connection._writing_paused and not connection._lost:
            try:
                await connection.wait(timeout, drain=True)
            except TimeoutError as exc:
                raise httpcore.WriteTimeout(exc) from exc
        if connection._lost and connection._error is not None:
            error = connection._error
            raise httpcore.WriteError(error) from error

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        transport = self._connection.transport
        if transport is not None:
            transport.close()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        connection = self._connection
        transport = connection.transport
        if self._closed or transport is None or connection._lost:
            raise httpcore.ConnectError("the connection is closed")
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                tls = await loop.start_tls(
                    transport, connection, ssl_context, server_hostname=server_hostname
                )
        except TimeoutError as exc:
            await self.aclose()
            raise httpcore.ConnectTimeout(exc) from exc
        except (OSError, EOFError) as exc:  # ssl.SSLError is an OSError
            await self.aclose()
            raise httpcore.ConnectError(exc) from exc
        except BaseException:  # cancelled too: close the half-open connection, then re-raise
            await self.aclose()
            raise
        if tls is None:  # the connection ended during the handshake
            await self.aclose()
            raise httpcore.ConnectError("the connection closed during the TLS handshake")
        connection.transport = tls
        return AsyncioStream(connection)

    def get_extra_info(self, info: str) -> Any:
        transport = self._connection.transport
        if info == "is_readable":
            return self._connection.readable()
        if transport is None:
            return None
        if info == "ssl_object":
            return transport.get_extra_info("ssl_object")
        if info == "client_addr":
            return transport.get_extra_info("sockname")
        if info == "server_addr":
            return transport.get_extra_info("peername")
        if info == "socket":
            return transport.get_extra_info("socket")
        return None


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    """Opens ``AsyncioStream`` connections on the running asyncio loop."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        local = (local_address, 0) if local_address else None
        # Happy eyeballs (RFC 8305) across the host's addresses, as anyio does; uvloop's
        # create_connection has no such option and tries the addresses in turn.
        # Happy eyeballs (RFC 8305) across the host's addresses, as anyio does; uvloop's
        # create_connection has no such option and tries the addresses in turn.
        delay = 0.25 if isinstance(loop, asyncio.BaseEventLoop) else None
        try:
            async with asyncio.timeout(timeout):
                if delay is None:
                    transport, connection = await loop.create_connection(
                        lambda: _Connection(loop), host, port, local_addr=local
                    )
                else:
                    transport, connection = await loop.create_connection(
                        lambda: _Connection(loop),
                        host,
                        port,
                        local_addr=local,
                        happy_eyeballs_delay=delay,
                    )
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(exc) from exc
        except OSError as exc:  # socket.gaierror (DNS) included
            raise httpcore.ConnectError(exc) from exc
        sock = transport.get_extra_info("socket")
        for option in socket_options or ():  # asyncio already sets TCP_NODELAY
            sock.setsockopt(*option)
        return AsyncioStream(connection)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                transport, connection = await loop.create_unix_connection(
                    lambda: _Connection(loop), path
                )
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(exc) from exc
        except OSError as exc:
            raise httpcore.ConnectError(exc) from exc
        sock = transport.get_extra_info("socket")
        for option in socket_options or ():
            sock.setsockopt(*option)
        return AsyncioStream(connection)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


# httpcore's exceptions as httpx raises them, most specific first (httpx's own mapping).
_EXCEPTIONS: tuple[tuple[type[Exception], type[httpx.HTTPError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.ProxyError, httpx.ProxyError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
)


def as_httpx_error(exc: Exception) -> Exception:
    """The httpx exception httpx's own transport raises for an httpcore one (else ``exc``)."""
    for source, target in _EXCEPTIONS:
        if isinstance(exc, source):
            error = target(str(exc))
            error.__cause__ = exc
            return error
    return exc


async def _parts_as_httpx(stream: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
    """The chunks of an httpcore response stream, its errors raised as httpx's."""
    try:
        async for part in stream:
            yield part
    except Exception as exc:  # httpcore's errors become httpx's (as in httpx); others re-raised
        error = as_httpx_error(exc)
        if error is exc:
            raise
        raise error from exc


class _ResponseStream(httpx.AsyncByteStream):
    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def __aiter__(self) -> AsyncIterator[bytes]:
        return _parts_as_httpx(self._stream)

    async def aclose(self) -> None:
        await self._stream.aclose()


class RequestTarget(Protocol):
    """The parts of a URL that ``AsyncioTransport.get`` reads: an ``httpx.URL``, or the
    fetcher's ``PlainURL`` (the same parts of a URL httpx would not change, without parsing)."""

    @property
    def raw_scheme(self) -> bytes: ...
    @property
    def raw_host(self) -> bytes: ...
    @property
    def port(self) -> int | None: ...
    @property
    def raw_path(self) -> bytes: ...


class DirectResponse:
    """What the fetcher reads of a response (``httpx.Response``'s names and meanings), made
    straight from httpcore's response by ``AsyncioTransport.get``.

    ``headers`` is an ``httpx.Headers`` (the same decoding of values), ``reason_phrase`` is
    httpx's, ``aiter_raw`` yields the raw non-empty chunks and closes the response at the end,
    with httpcore's errors raised as httpx's, as ``httpx.Response.aiter_raw`` does over
    ``AsyncioTransport.handle_async_request``'s stream.
    """

    __slots__ = ("_closed", "_stream", "extensions", "headers", "status_code")

    def __init__(self, response: httpcore.Response) -> None:
        self.status_code = response.status
        self.headers = httpx.Headers(response.headers)
        self.extensions = response.extensions
        self._stream: Any = response.stream
        self._closed = False

    @property
    def reason_phrase(self) -> str:
        reason = self.extensions.get("reason_phrase")
        if reason is None:
            return httpx.codes.get_reason_phrase(self.status_code)
        return bytes(reason).decode("ascii", errors="ignore")

    async def aiter_raw(self) -> AsyncIterator[bytes]:
        if self._closed:
            raise httpx.StreamClosed()
        async for part in _parts_as_httpx(self._stream):
            if part:
                yield part
        await self.aclose()

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            await self._stream.aclose()


class AsyncioTransport(httpx.AsyncBaseTransport):
    """HTTP/1.1 over httpcore's connection pool on the asyncio backend above; no proxy.

    ``handle_async_request`` is httpx's transport interface. ``get`` is the fetcher's own
    shorter way to the same pool for a GET: its caller gives the parsed URL and the header
    lines as bytes, in the order ``httpx.Request`` would send them, and gets a
    ``DirectResponse``. Building an ``httpx.Request`` and an ``httpx.Response`` around each
    conditional GET was about a quarter of the client's CPU per 304 (docs/performance.md,
    "Warm cycle pass (stop 27)"); the bytes on the wire are the same.
    """

    def __init__(self, ssl_context: ssl.SSLContext, limits: httpx.Limits) -> None:
        self.ssl_context = ssl_context
        self.pool = ConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=AsyncioBackend(),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        response = await self._send(core_request)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_ResponseStream(response.stream),
            extensions=response.extensions,
        )

    async def get(
        self, url: RequestTarget, headers: list[tuple[bytes, bytes]], extensions: dict[str, Any]
    ) -> DirectResponse:
        """GET ``url`` with exactly these header lines (``Host`` included) through the pool."""
        core_request = httpcore.Request(
            method=b"GET",
            url=httpcore.URL(
                scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path
            ),
            headers=headers,
            extensions=extensions,
        )
        return DirectResponse(await self._send(core_request))

    async def _send(self, core_request: httpcore.Request) -> httpcore.Response:
        """The pool's answer to ``core_request``, httpcore's errors raised as httpx's."""
        try:
            response = await self.pool.handle_async_request(core_request)
        except Exception as exc:  # httpcore's errors become httpx's (as in httpx); others re-raised
            error = as_httpx_error(exc)
            if error is exc:
                raise
            raise error from exc
        return response

    async def aclose(self) -> None:
        await self.pool.aclose()
