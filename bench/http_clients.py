"""Benchmark: client CPU per conditional GET answered 304, newswatch's fetcher against other
HTTP clients, on the same nginx (``bench/nginx_feeds.py``).

Run from the repository root:
    python -m bench.http_clients [--feeds 1000] [--per-host 4] [--repeat 5]

Each client sends one conditional GET (``If-None-Match``) per feed, ``--per-host``
connections at a time, after a warm-up pass that opens the connections; the figure is the
client process's CPU per request (``time.process_time``: user + system, so it includes the
kernel's loopback work), the median of ``--repeat`` passes, each client in its own process:

- ``fetcher``: ``bot.feeds.fetcher.Fetcher.fetch`` (what a cycle does: checks, limits, httpx
  with httpcore's pool on the asyncio network backend of ``bot/feeds/asyncio_transport.py``);
- ``fetcher-anyio``: the same fetcher through ``httpx.AsyncHTTPTransport`` (httpcore's anyio
  backend), as before that backend;
- ``asyncio-transport``: ``AsyncioTransport.handle_async_request`` alone;
- ``httpx-transport``: ``httpx.AsyncHTTPTransport.handle_async_request`` alone;
- ``httpcore``: ``httpcore.AsyncConnectionPool.request`` alone;
- ``aiohttp``: ``aiohttp.ClientSession`` (only when aiohttp is importable: it is not a
  dependency of newswatch; install it into a scratch directory and pass ``--aiohttp-path``);
- ``raw``: a minimal HTTP/1.1 keep-alive client on asyncio streams that reads only the status
  line and headers: the floor for Python.

A client name ending in ``@uvloop`` (``fetcher@uvloop``) runs on uvloop's event loop (when it
is installed: the ``fast`` extra), the others on asyncio's.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, TextIO
from urllib.parse import urlsplit

from bot.app import event_loop
from bot.app.event_loop import EventLoopChoice, uvloop_installed

if TYPE_CHECKING:
    import httpx

CLIENTS = (
    "fetcher",
    "fetcher@uvloop",
    "fetcher-anyio",
    "asyncio-transport",
    "httpx-transport",
    "httpcore",
    "aiohttp",
    "raw",
)
Send = Callable[[str, str], Awaitable[int]]  # (url, etag) -> status


async def _timed(send: Send, targets: list[tuple[str, str]], per_host: int) -> float:
    gate = asyncio.Semaphore(per_host)

    async def one(url: str, etag: str) -> int:
        async with gate:
            return await send(url, etag)

    await asyncio.gather(*(one(u, e) for u, e in targets[: per_host * 4]))  # open connections
    started = time.process_time()
    statuses = await asyncio.gather(*(one(u, e) for u, e in targets))
    spent = time.process_time() - started
    if any(s != 304 for s in statuses):
        raise RuntimeError(f"expected only 304s, got {sorted(set(statuses))}")
    return spent / len(targets)


async def _fetcher(targets: list[tuple[str, str]], per_host: int) -> float:
    from bot.feeds.fetcher import Fetcher, FetchSettings

    async with Fetcher(FetchSettings(max_per_host=per_host)) as fetcher:

        async def send(url: str, etag: str) -> int:
            return (await fetcher.fetch(url, etag)).status or 0

        return await _timed(send, targets, per_host)


async def _fetcher_anyio(targets: list[tuple[str, str]], per_host: int) -> float:
    import httpx

    from bot.feeds.fetcher import Fetcher, FetchSettings

    limits = httpx.Limits(max_connections=20, max_keepalive_connections=20)
    transport = httpx.AsyncHTTPTransport(limits=limits)
    async with Fetcher(FetchSettings(max_per_host=per_host), transport=transport) as fetcher:

        async def send(url: str, etag: str) -> int:
            return (await fetcher.fetch(url, etag)).status or 0

        return await _timed(send, targets, per_host)


async def _asyncio_transport(targets: list[tuple[str, str]], per_host: int) -> float:
    import ssl

    import httpx

    from bot.feeds.asyncio_transport import AsyncioTransport

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    transport = AsyncioTransport(context, httpx.Limits(max_connections=20))
    return await _transport_alone(transport, targets, per_host)


async def _httpx_transport(targets: list[tuple[str, str]], per_host: int) -> float:
    import httpx

    transport = httpx.AsyncHTTPTransport(limits=httpx.Limits(max_connections=20))
    return await _transport_alone(transport, targets, per_host)


async def _transport_alone(
    transport: httpx.AsyncBaseTransport, targets: list[tuple[str, str]], per_host: int
) -> float:
    import httpx

    async def send(url: str, etag: str) -> int:
        request = httpx.Request("GET", url, headers={"If-None-Match": etag})
        response = await transport.handle_async_request(request)
        async for _ in response.aiter_raw():
            pass
        await response.aclose()
        return response.status_code

    try:
        return await _timed(send, targets, per_host)
    finally:
        await transport.aclose()


async def _httpcore(targets: list[tuple[str, str]], per_host: int) -> float:
    import httpcore

    async with httpcore.AsyncConnectionPool(max_connections=20) as pool:

        async def send(url: str, etag: str) -> int:
            response = await pool.request("GET", url, headers={"If-None-Match": etag})
            return response.status

        return await _timed(send, targets, per_host)


async def _aiohttp(targets: list[tuple[str, str]], per_host: int) -> float:
    import aiohttp  # type: ignore[import-not-found, unused-ignore]

    connector = aiohttp.TCPConnector(limit=20, limit_per_host=per_host)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def send(url: str, etag: str) -> int:
            async with session.get(url, headers={"If-None-Match": etag}) as response:
                await response.read()
                return int(response.status)

        return await _timed(send, targets, per_host)


async def _raw(targets: list[tuple[str, str]], per_host: int) -> float:
    parts = urlsplit(targets[0][0])
    idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(per_host):
        idle.put_nowait(await asyncio.open_connection(parts.hostname, parts.port))

    async def send(url: str, etag: str) -> int:
        reader, writer = await idle.get()
        path = urlsplit(url).path
        writer.write(
            f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nIf-None-Match: {etag}\r\n\r\n".encode()
        )
        head = await reader.readuntil(b"\r\n\r\n")  # a 304 has no body
        idle.put_nowait((reader, writer))
        return int(head[9:12])

    try:
        return await _timed(send, targets, per_host)
    finally:
        while not idle.empty():
            idle.get_nowait()[1].close()


RUNNERS = {
    "fetcher": _fetcher,
    "fetcher-anyio": _fetcher_anyio,
    "asyncio-transport": _asyncio_transport,
    "httpx-transport": _httpx_transport,
    "httpcore": _httpcore,
    "aiohttp": _aiohttp,
    "raw": _raw,
}


def run_one(client: str, targets_file: str, per_host: int, repeat: int) -> float:
    """In this process: the median CPU seconds per request of ``client`` over ``repeat`` passes."""
    with open(targets_file, encoding="utf-8") as f:
        targets = [tuple(t) for t in json.load(f)]
    name, _, loop = client.partition("@")
    runner = RUNNERS[name]
    choice = EventLoopChoice(loop or "asyncio")
    return statistics.median(
        event_loop.run(runner(targets, per_host), choice) for _ in range(repeat)
    )


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--per-host", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--clients", default=",".join(CLIENTS))
    parser.add_argument("--aiohttp-path", default="", help="a directory holding aiohttp")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: run one client, print
    parser.add_argument("--targets", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.aiohttp_path:
        sys.path.append(args.aiohttp_path)
    if args.one:
        print(run_one(args.one, args.targets, args.per_host, args.repeat))
        return 0
    from bench.nginx_feeds import NginxFeedServer, nginx_missing, nginx_version

    reason = nginx_missing()
    if reason:
        print(reason, file=out)
        return 1
    server = NginxFeedServer(args.feeds, 5, seed=1)
    rows: list[tuple[str, str]] = []
    try:
        targets = []
        for feed in range(args.feeds):
            with urllib.request.urlopen(server.url(feed)) as response:
                response.read()
                targets.append((server.url(feed), response.headers["ETag"]))
        targets_file = server.dir / "targets.json"
        targets_file.write_text(json.dumps(targets), encoding="utf-8")
        for client in [c.strip() for c in args.clients.split(",") if c.strip()]:
            if client == "aiohttp" and importlib.util.find_spec("aiohttp") is None:
                rows.append((client, "skipped: aiohttp is not installed (--aiohttp-path)"))
                continue
            if client.endswith("@uvloop") and not uvloop_installed():
                rows.append((client, "skipped: uvloop is not installed (the fast extra)"))
                continue
            argv_one = [sys.executable, "-m", "bench.http_clients", "--one", client]
            argv_one += ["--targets", str(targets_file), "--per-host", str(args.per_host)]
            argv_one += ["--repeat", str(args.repeat), "--aiohttp-path", args.aiohttp_path]
            done = subprocess.run(argv_one, capture_output=True, text=True)
            if done.returncode != 0:
                rows.append((client, f"failed: {done.stderr.strip()[-200:]}"))
                continue
            rows.append((client, f"{float(done.stdout.split()[-1]) * 1e6:.0f}"))
    finally:
        server.close()
    print(
        f"\n{args.feeds:,} conditional GETs answered 304 by {nginx_version()} on 127.0.0.1,"
        f" {args.per_host} connections, client CPU per request, median of {args.repeat}\n",
        file=out,
    )
    print("| Client | CPU µs per request |", file=out)
    print("| --- | ---: |", file=out)
    for client, figure in rows:
        print(f"| {client} | {figure} |", file=out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
