"""A fake of GDELT's DOC 2.0 API (``/api/v2/doc/doc``) on 127.0.0.1: ArtList JSON per query,
empty answers, GDELT's plain-text errors and rate-limit message, and HTTP 429."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes.loopback import LoopbackHTTPServer

PATH = "/api/v2/doc/doc"
RATE_LIMIT_TEXT = (
    "Please limit requests to one every 5 seconds or contact kalev.leetaru5@gmail.com for"
    " larger queries."
)


def article(
    url: str,
    title: str,
    *,
    at: datetime | None = None,
    domain: str | None = None,
    language: str = "French",
    country: str = "Mali",
) -> dict[str, Any]:
    """One ArtList article, shaped as GDELT sends it."""
    moment = (at or datetime.now(UTC)).astimezone(UTC)
    return {
        "url": url,
        "url_mobile": "",
        "title": title,
        "seendate": moment.strftime("%Y%m%dT%H%M%SZ"),
        "socialimage": "",
        "domain": domain or url.split("/")[2].removeprefix("www."),
        "language": language,
        "sourcecountry": country,
    }


@dataclass
class Answer:
    articles: list[dict[str, Any]] = field(default_factory=list)
    # None | "empty" | "blank" | "error" (text) | "error-json" | "rate-text" | "429"
    mode: str | None = None


@dataclass
class Request:
    query: str
    params: dict[str, str]
    at: float


class FakeGdelt(LoopbackHTTPServer):
    """``server.answer(query, Answer(...))``; ``api_url`` goes to ``gdelt_api_url``."""

    def __init__(self) -> None:
        super().__init__()
        self.answers: dict[str, Answer] = {}
        self.requests: list[Request] = []
        self.lock = threading.Lock()

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{PATH}"

    def answer(self, query: str, answer: Answer) -> None:
        with self.lock:
            self.answers[query] = answer

    def _handle(self, req: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(req.path)
        params = {k: v[0] for k, v in parse_qs(parts.query).items()}
        query = params.get("query", "")
        with self.lock:
            self.requests.append(Request(query, params, time.monotonic()))
            answer = self.answers.get(query, Answer(mode="empty"))
        if parts.path != PATH:
            return self._send(req, 404, "text/html", "not found")
        if params.get("mode", "").lower() != "artlist" or params.get("format") != "json":
            return self._send(req, 200, "text/html", "Invalid mode or format.")
        if answer.mode == "429":
            return self._send(req, 429, "text/plain", RATE_LIMIT_TEXT, {"Retry-After": "10"})
        if answer.mode == "rate-text":
            return self._send(req, 200, "text/html", RATE_LIMIT_TEXT)
        if answer.mode == "error":
            text = "Your search contained a keyword that is too short or too common."
            return self._send(req, 200, "text/html", text)
        if answer.mode == "error-json":
            body = json.dumps({"error": "Invalid query: the phrase is too short."})
            return self._send(req, 200, "application/json", body)
        if answer.mode == "blank":
            return self._send(req, 200, "application/json", "")
        if answer.mode == "empty":
            return self._send(req, 200, "application/json", "{}")
        body = json.dumps({"articles": answer.articles}, ensure_ascii=False)
        return self._send(req, 200, "application/json; charset=utf-8", body)

    @staticmethod
    def _send(
        req: BaseHTTPRequestHandler,
        status: int,
        content_type: str,
        text: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        data = text.encode("utf-8")
        req.send_response(status)
        req.send_header("Content-Type", content_type)
        req.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            req.send_header(key, value)
        req.end_headers()
        req.wfile.write(data)
