"""Name the kind of a feed's last failure (timeout, HTTP 5xx, not a feed...) from its message."""

from __future__ import annotations

import re
from enum import StrEnum


class FailureKind(StrEnum):
    TIMEOUT = "timeout"
    DEADLINE = "deadline"
    RATE_LIMITED = "rate limited"
    GONE = "gone (410)"
    NOT_FOUND = "not found (404)"
    HTTP_CLIENT = "HTTP 4xx"
    HTTP_SERVER = "HTTP 5xx"
    REDIRECT = "redirect"
    DNS = "DNS"
    TLS = "TLS"
    CONNECTION = "connection"
    TOO_LARGE = "too large"
    ENCODING = "encoding"
    NOT_A_FEED = "not a feed"
    MALFORMED = "malformed feed"
    EMPTY = "empty body"
    INTERNAL = "internal error"
    OTHER = "other"


# (pattern on the start of the fetcher's/parser's message, kind), first match wins.
_RULES: tuple[tuple[re.Pattern[str], FailureKind], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), kind)
    for pattern, kind in (
        (r"timeout\b", FailureKind.TIMEOUT),
        (r"gave up after .* deadline", FailureKind.DEADLINE),
        (r"HTTP 429\b", FailureKind.RATE_LIMITED),
        (r"HTTP 410\b", FailureKind.GONE),
        (r"HTTP 404\b", FailureKind.NOT_FOUND),
        (r"HTTP 3\d\d\b", FailureKind.REDIRECT),
        (r"HTTP 4\d\d\b", FailureKind.HTTP_CLIENT),
        (r"HTTP 5\d\d\b", FailureKind.HTTP_SERVER),
        (r"(too many redirects|redirect loop|redirect refused)", FailureKind.REDIRECT),
        (r"DNS failure", FailureKind.DNS),
        (r"TLS error", FailureKind.TLS),
        (r"(connection (failed|dropped)|network error)", FailureKind.CONNECTION),
        (r"body larger than", FailureKind.TOO_LARGE),
        (r"(corrupt \S+ body|unsupported Content-Encoding)", FailureKind.ENCODING),
        (r"(not a feed|not a valid RSS/Atom feed)", FailureKind.NOT_A_FEED),
        (r"malformed feed", FailureKind.MALFORMED),
        (r"empty body", FailureKind.EMPTY),
        (r"internal error", FailureKind.INTERNAL),
    )
)


def failure_kind(error: str | None, status: int | None = None) -> FailureKind | None:
    """The kind of a stored ``feeds.last_error`` (None when there is no error).

    ``status`` (``feeds.last_status``) decides when the message alone does not.
    """
    text = (error or "").strip()
    if not text:
        return None
    for pattern, kind in _RULES:
        if pattern.match(text):
            return kind
    if status is not None and 400 <= status < 600:
        return failure_kind(f"HTTP {status}")
    return FailureKind.OTHER
