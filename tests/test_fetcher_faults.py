"""Fetcher details behind the fault table: bounded decompression, encodings, header parsing."""

from __future__ import annotations

import asyncio
import gzip
import zlib
from datetime import UTC, datetime

import httpx
import pytest

from bot.core.errors import FeedError, FeedErrorKind
from bot.feeds.fetcher import Fetcher, FetchResult, FetchSettings, parse_max_age, parse_retry_after
from tests.fakes.feed_server import FeedServer, rss

BODY = rss([{"title": "Bamako", "guid": "1", "link": "https://x.example/1"}] * 50).encode()


def fetch(url: str, **settings: float) -> FetchResult:
    async def go() -> FetchResult:
        async with Fetcher(FetchSettings(**settings)) as fetcher:  # type: ignore[arg-type]
            return await fetcher.fetch(url)

    return asyncio.run(go())


@pytest.mark.parametrize(
    ("encoding", "payload"),
    [
        ("gzip", gzip.compress(BODY)),
        ("deflate", zlib.compress(BODY)),  # zlib-wrapped, as the RFC says
        ("deflate", zlib.compress(BODY)[2:-4]),  # raw deflate, as some servers send
        ("identity", BODY),
    ],
    ids=["gzip", "deflate-zlib", "deflate-raw", "identity"],
)
def test_content_encodings_are_decoded(encoding: str, payload: bytes) -> None:
    with FeedServer() as server:
        server.set("/f.xml", payload, headers={"Content-Encoding": encoding})
        result = fetch(server.url("/f.xml"))
    assert result.error is None, result.error
    assert result.body == BODY


def test_corrupt_gzip_is_a_clear_error() -> None:
    with FeedServer() as server:
        garbage = b"\x1f\x8b\x08\x00garbage-garbage"
        server.set("/f.xml", garbage, headers={"Content-Encoding": "gzip"})
        result = fetch(server.url("/f.xml"))
    assert result.error is not None and "corrupt gzip body" in str(result.error)
    assert result.error.kind is FeedErrorKind.BAD_ENCODING


def test_unsupported_encoding_is_a_clear_error() -> None:
    with FeedServer() as server:
        server.set("/f.xml", BODY, headers={"Content-Encoding": "br"})
        result = fetch(server.url("/f.xml"))
    assert result.error == FeedError(
        FeedErrorKind.BAD_ENCODING, "unsupported Content-Encoding 'br'"
    )


@pytest.mark.parametrize("cap", [1000, len(BODY) - 1])
def test_gzip_over_the_cap_is_cut_off(cap: int) -> None:
    with FeedServer() as server:
        server.set("/f.xml", BODY, fault="gzip")
        result = fetch(server.url("/f.xml"), max_body_bytes=cap)
    assert result.body is None
    assert result.error is not None and "cut off, not parsed" in str(result.error)
    assert result.error.kind is FeedErrorKind.TOO_LARGE


def test_body_exactly_at_the_cap_is_accepted() -> None:
    with FeedServer() as server:
        server.set("/f.xml", BODY, fault="gzip")
        result = fetch(server.url("/f.xml"), max_body_bytes=len(BODY))
    assert result.body == BODY


def test_redirect_to_file_scheme_is_refused() -> None:
    with FeedServer() as server:
        server.set("/f.xml", "", status=302, headers={"Location": "file:///etc/passwd"})
        result = fetch(server.url("/f.xml"))
    assert result.error is not None and str(result.error).startswith("redirect refused")
    assert result.error.kind is FeedErrorKind.BAD_URL


def test_too_many_redirects() -> None:
    with FeedServer() as server:
        for i in range(8):
            server.set(f"/r{i}.xml", "", fault="redirect", target=f"/r{i + 1}.xml")
        result = fetch(server.url("/r0.xml"), max_redirects=3)
    assert result.error == FeedError(
        FeedErrorKind.TOO_MANY_REDIRECTS, "too many redirects (more than 3)"
    )


NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        (" 5 ", 5.0),
        ("Thu, 01 Jan 2026 13:00:00 GMT", 3600.0),
        ("Thu, 01 Jan 2026 11:00:00 GMT", 0.0),  # in the past: no wait
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value, NOW) == seconds


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"Cache-Control": "public, max-age=900"}, 900),
        ({"Cache-Control": "no-cache"}, None),
        ({"Expires": "Thu, 01 Jan 2026 12:30:00 GMT"}, 1800),
        ({"Cache-Control": "max-age=60", "Expires": "Thu, 01 Jan 2026 12:30:00 GMT"}, 60),
        ({"Expires": "0"}, None),
        ({}, None),
    ],
)
def test_parse_max_age(headers: dict[str, str], seconds: int | None) -> None:
    assert parse_max_age(httpx.Headers(headers), NOW) == seconds
