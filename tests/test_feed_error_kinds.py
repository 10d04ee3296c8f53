"""Feed failures carry their kind from where they happen; failures stored as text before
migration 0015 get theirs once, from their words, and stay readable."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.errors import FeedErrorKind
from storage.db import open_database
from storage.migrations import apply_migrations, legacy_error_kind

K = FeedErrorKind

# What the fetcher, the parser and the source readers stored before kinds, and its kind.
LEGACY = [
    ("timeout: connect timeout", None, K.CONNECT_TIMEOUT),
    ("timeout: read timeout", None, K.TIMEOUT),
    ("gave up after 60s (overall fetch deadline)", None, K.DEADLINE),
    ("HTTP 500 Internal Server Error", 500, K.HTTP_STATUS),
    ("HTTP 404 Not Found", 404, K.HTTP_STATUS),
    ("HTTP 410 Gone", 410, K.GONE),
    ("HTTP 429 Too Many Requests", 429, K.RATE_LIMITED),
    ("HTTP 301 without a usable Location", 301, K.HTTP_STATUS),
    ("redirect loop", 302, K.REDIRECT_LOOP),
    ("too many redirects (more than 5)", None, K.TOO_MANY_REDIRECTS),
    ("redirect refused: only http(s) feeds are allowed, not 'ftp'", 301, K.BAD_URL),
    (
        "redirect refused: 127.0.0.1 resolves to a non-public address (127.0.0.1) and",
        None,
        K.PRIVATE_ADDRESS,
    ),
    ("localhost resolves to a non-public address (::1) and allow_…", None, K.PRIVATE_ADDRESS),
    ("feed URL has no host", None, K.BAD_URL),
    ("DNS failure: [Errno -2] Name or service not known", None, K.DNS),
    ("TLS error: [SSL: CERTIFICATE_VERIFY_FAILED]", None, K.TLS),
    ("connection failed: [Errno 111] Connection refused", None, K.CONNECT),
    ("connection dropped: Server disconnected", None, K.NETWORK),
    ("body larger than 10485760 bytes: cut off, not parsed", None, K.TOO_LARGE),
    ("corrupt gzip body: Error -3", None, K.BAD_ENCODING),
    ("unsupported Content-Encoding 'br'", None, K.BAD_ENCODING),
    ("not a feed: the server sent an HTML page", 200, K.NOT_A_FEED),
    ("not a valid RSS/Atom feed: syntax error", 200, K.NOT_A_FEED),
    ("not an RSS/Atom feed: looks like JSON (JSON Feed is not supported)", 200, K.NOT_A_FEED),
    ("malformed feed, no item could be read: x", 200, K.MALFORMED),
    ("JSON could not be parsed: Expecting value", 200, K.MALFORMED),
    ("empty body: the server sent no feed content", 200, K.EMPTY),
    ("parsing took longer than 20 s: body skipped", 200, K.PARSE_TIMEOUT),
    ("internal error: ValueError", None, K.INTERNAL),
    ("GDELT answered with an error: Please limit requests", 200, K.RATE_LIMITED),
    ("GDELT answered with an error: Invalid query", 200, K.SOURCE),
    ("GDELT answer is not a JSON object", 200, K.MALFORMED),
    ("selector 'article' matched 0 items on the page", 200, K.SOURCE),
    ("t.me/s/sahel has no public preview any more: the channel was deleted", 404, K.SOURCE),
    ("t.me/s/sahel?before=120: HTTP 429 Too Many Requests", 429, K.RATE_LIMITED),
    ("t.me/s/sahel answered with a page that is not a channel preview", 200, K.NOT_A_FEED),
    ("something new", 502, K.HTTP_STATUS),
    ("something new", None, K.UNKNOWN),
]


@pytest.mark.parametrize(("error", "status", "kind"), LEGACY)
def test_legacy_text_gets_its_kind(error: str, status: int | None, kind: FeedErrorKind) -> None:
    assert legacy_error_kind(error, status) == kind.value


def test_migration_0015_gives_old_failures_their_kind_and_keeps_their_text(tmp_path: Path) -> None:
    db = open_database(tmp_path / "old.db")
    # The database as it was before 0015: no kind column, failures as text only.
    db.execute("ALTER TABLE feeds DROP COLUMN last_error_kind")
    db.execute("DELETE FROM _migrations WHERE name = '0015_feed_error_kind'")
    rows = [
        ("https://a.example/rss", "DNS failure: [Errno -2] Name or service not known", None),
        ("https://b.example/rss", "HTTP 503 Service Unavailable", 503),
        ("https://c.example/rss", None, 200),  # healthy: no kind
    ]
    for url, error, status in rows:
        db.execute(
            "INSERT INTO feeds (url, status, last_error, last_status) VALUES (?, 'active', ?, ?)",
            [url, error, status],
        )
    assert apply_migrations(db) == ["0015_feed_error_kind"]
    stored = db.execute(
        "SELECT url, last_error, last_error_kind FROM feeds ORDER BY url"
    ).fetchall()
    assert stored == [
        ("https://a.example/rss", rows[0][1], "dns"),
        ("https://b.example/rss", "HTTP 503 Service Unavailable", "http_status"),
        ("https://c.example/rss", None, None),
    ]
    assert apply_migrations(db) == []  # once
