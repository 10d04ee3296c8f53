"""A local feed server on 127.0.0.1 with ETag/Last-Modified/304 and injectable faults."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import threading
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.fakes.loopback import LoopbackHTTPServer


@dataclass
class Route:
    """What the server answers on one path."""

    body: bytes = b""
    content_type: str = "application/rss+xml; charset=utf-8"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    # fault: None | "drop" | "slow" (1 byte/s) | "hang" | "gzip" | "gzip-bomb" | "redirect"
    # | "redirect-loop" | "permanent-redirect" | "no-etag" | "html" (an HTML page)
    # | "empty" (200, no body) | "truncated" (first half of the body) | "wrong-encoding"
    # (Latin-1 bytes in a document that declares UTF-8)
    # | "huge" (``size`` bytes, Content-Length declared) | "huge-chunked" (no Content-Length)
    fault: str | None = None
    size: int = 11 * 1024 * 1024  # for "huge" / "huge-chunked"
    target: str | None = None  # for redirects
    # Seconds before the answer starts (a busy server, or a client whose event loop was
    # held meanwhile); a stopping server answers at once.
    delay: float = 0.0
    # Set: the answer waits until the test sets it (or the server stops).
    hold: threading.Event | None = None
    last_modified: str = field(default_factory=lambda: formatdate(usegmt=True))

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha1(self.body).hexdigest()[:16] + '"'


@dataclass
class Hit:
    path: str
    status: int
    at: float
    if_none_match: str | None
    peer: tuple[str, int] | None = None  # the client's address: one per TCP connection
    headers: dict[str, str] = field(default_factory=dict)  # the request's headers


class FeedServer(LoopbackHTTPServer):
    """``with FeedServer() as server: server.set("/a.xml", body); url = server.url("/a.xml")``."""

    def __init__(self) -> None:
        super().__init__()
        self.routes: dict[str, Route] = {}
        self.hits: list[Hit] = []
        self.lock = threading.Lock()
        self._stop = threading.Event()

    def _stopping(self) -> None:
        self._stop.set()  # ends held-open and dripping responses

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def set(self, path: str, body: bytes | str = b"", **options: Any) -> Route:
        data = body.encode("utf-8") if isinstance(body, str) else body
        route = Route(body=data, **options)
        with self.lock:
            self.routes[path] = route
        return route

    def hits_for(self, path: str) -> list[Hit]:
        with self.lock:
            return [h for h in self.hits if h.path == path]

    def statuses(self) -> list[int]:
        with self.lock:
            return [h.status for h in self.hits]

    def _record(self, path: str, status: int, req: BaseHTTPRequestHandler) -> None:
        with self.lock:
            self.hits.append(
                Hit(
                    path,
                    status,
                    time.monotonic(),
                    req.headers.get("If-None-Match"),
                    tuple(req.client_address[:2]),  # type: ignore[arg-type]
                    dict(req.headers.items()),
                )
            )

    def _handle(self, req: BaseHTTPRequestHandler) -> None:
        path = req.path
        with self.lock:
            route = self.routes.get(path)
        if route is None:
            self._record(path, 404, req)
            return self._send(req, 404, b"not found", "text/plain")
        fault = route.fault
        if route.delay > 0:
            self._stop.wait(route.delay)
        while route.hold is not None and not route.hold.wait(0.05) and not self._stop.is_set():
            pass
        if fault == "drop":
            self._record(path, 0, req)
            req.close_connection = True
            return None
        if fault == "hang":
            self._record(path, 0, req)
            self._stop.wait(60)
            return None
        if fault in ("redirect", "permanent-redirect", "redirect-loop"):
            status = 301 if fault == "permanent-redirect" else 302
            self._record(path, status, req)
            return self._send(req, status, b"", "text/plain", {"Location": route.target or path})
        if route.status != 200:
            self._record(path, route.status, req)
            return self._send(req, route.status, route.body, route.content_type, route.headers)
        etag = route.etag
        # RFC 9110: If-None-Match, when present, takes precedence over If-Modified-Since.
        inm = req.headers.get("If-None-Match")
        ims = req.headers.get("If-Modified-Since")
        fresh = inm == etag if inm is not None else ims == route.last_modified
        if fault != "no-etag" and fresh:
            self._record(path, 304, req)
            return self._send(req, 304, b"", None, {"ETag": etag})
        headers = dict(route.headers)
        if fault != "no-etag":
            headers.update({"ETag": etag, "Last-Modified": route.last_modified})
        body = route.body
        content_type = route.content_type
        if fault == "html":
            body = HTML_PAGE
            content_type = "text/html; charset=utf-8"
        elif fault == "empty":
            body = b""
        elif fault == "truncated":
            body = body[: len(body) // 2]
        elif fault == "wrong-encoding":
            body = body.decode("utf-8").encode("latin-1", errors="replace")
        elif fault == "huge-chunked":
            self._record(path, 200, req)
            return self._stream_chunked(req, route.size, content_type, headers)
        elif fault == "huge":
            body = (b"<!-- padding -->" * (route.size // 16 + 1))[: route.size]
        if fault == "gzip":
            body = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"
        elif fault == "gzip-bomb":
            body = gzip_bomb()
            headers["Content-Encoding"] = "gzip"
        self._record(path, 200, req)
        if fault == "slow":
            return self._drip(req, body, content_type, headers)
        return self._send(req, 200, body, content_type, headers)

    def _send(
        self,
        req: BaseHTTPRequestHandler,
        status: int,
        body: bytes,
        content_type: str | None,
        headers: dict[str, str] | None = None,
    ) -> None:
        try:
            req.send_response(status)
            if content_type:
                req.send_header("Content-Type", content_type)
            for key, value in (headers or {}).items():
                req.send_header(key, value)
            req.send_header("Content-Length", str(len(body)))
            req.end_headers()
            if body and req.command != "HEAD":
                req.wfile.write(body)
        except OSError:
            pass

    def _stream_chunked(
        self, req: BaseHTTPRequestHandler, size: int, content_type: str, headers: dict[str, str]
    ) -> None:
        """Send ``size`` bytes with chunked transfer encoding: no Content-Length to trust."""
        try:
            _start_response(req, content_type, {**headers, "Transfer-Encoding": "chunked"})
            chunk = b"<!-- padding -->" * 4096
            sent = 0
            while sent < size and not self._stop.is_set():
                req.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
            req.wfile.write(b"0\r\n\r\n")
            req.wfile.flush()
        except OSError:
            pass

    def _drip(
        self, req: BaseHTTPRequestHandler, body: bytes, content_type: str, headers: dict[str, str]
    ) -> None:
        try:
            _start_response(req, content_type, {**headers, "Content-Length": str(len(body))})
            for byte in body:
                if self._stop.wait(1.0):
                    return
                req.wfile.write(bytes([byte]))
                req.wfile.flush()
        except OSError:
            pass


_BOMB: list[bytes] = []


def gzip_bomb() -> bytes:
    """200 MB of zeros, gzipped to about 200 KB; built once per process (it takes a while)."""
    if not _BOMB:
        _BOMB.append(gzip.compress(b"\0" * (200 * 1024 * 1024), compresslevel=9))
    return _BOMB[0]


HTML_PAGE = (
    b"<!DOCTYPE html><html><head><title>Welcome</title></head>"
    b"<body><h1>Our news</h1><p>This is a web page, not a feed.</p></body></html>"
)


class Blackhole:
    """A listening socket whose accept queue is full: connecting to it times out (no SYN-ACK)."""

    def __init__(self) -> None:
        import socket

        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(0)
        self._fillers: list[socket.socket] = []
        for _ in range(4):  # fill the (tiny) backlog so later SYNs are dropped
            filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                filler.connect(("127.0.0.1", self.port))
            self._fillers.append(filler)
        time.sleep(0.05)

    @property
    def port(self) -> int:
        return int(self._listener.getsockname()[1])

    def url(self, path: str = "/feed.xml") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        for sock in [*self._fillers, self._listener]:
            sock.close()

    def __enter__(self) -> Blackhole:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _start_response(
    req: BaseHTTPRequestHandler, content_type: str, headers: dict[str, str]
) -> None:
    """Status 200, Content-Type and ``headers``, ready for a body written piece by piece."""
    req.send_response(200)
    req.send_header("Content-Type", content_type)
    for key, value in headers.items():
        req.send_header(key, value)
    req.end_headers()


def rss(items: list[dict[str, str]], title: str = "Test Feed", ttl: int | None = None) -> str:
    """A small RSS 2.0 document; each item dict may have title, link, guid, description, pubDate."""
    from xml.sax.saxutils import escape

    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<rss version="2.0"><channel>',
        f"<title>{escape(title)}</title><link>http://example.org/</link>",
        "<description>test</description>",
    ]
    if ttl:
        parts.append(f"<ttl>{ttl}</ttl>")
    for item in items:
        parts.append("<item>")
        for key in ("title", "link", "guid", "description", "pubDate"):
            if key in item:
                parts.append(f"<{key}>{escape(item[key])}</{key}>")
        parts.append("</item>")
    parts.append("</channel></rss>")
    return "\n".join(parts)


def rfc822(ts: float) -> str:
    return formatdate(ts, usegmt=True)
