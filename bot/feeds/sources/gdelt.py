"""GDELT DOC 2.0 queries (``mode=ArtList``, ``format=json``) as a source: at most one request
per 5 seconds across every GDELT source, GDELT's empty and error answers told apart."""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

from bot.core.errors import FeedError, FeedErrorKind
from bot.core.models import FeedSpec, Item, ParsedFeed
from bot.core.records import FeedState
from bot.core.text import clean_title
from bot.core.urls import split_outlet_suffix
from bot.feeds.fetcher import Fetcher
from bot.feeds.sources.base import Parsed, SourceResult, key_items

DEFAULT_API_URL = "https://api.gdeltproject.org/api/v2/doc/doc"
MIN_GAP_SECONDS = 5.0  # GDELT: "Please limit requests to one every 5 seconds"
MAX_RECORDS = 250  # the API's maximum for ArtList
MIN_TIMESPAN_MINUTES = 15  # the API's shortest timespan
_RATE_LIMITED = "limit requests"


class GdeltLimiter:
    """One request at a time, starting at least ``gap`` seconds after the previous one.

    Shared by every GDELT source of a process; ``clock`` and ``sleep`` are injectable so
    tests check the spacing without waiting.
    """

    def __init__(
        self,
        gap: float = MIN_GAP_SECONDS,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ):
        self.gap = gap
        self.clock = clock
        self.sleep = sleep
        self._lock = asyncio.Lock()
        self._last: float | None = None

    async def run(self, request: Callable[[], Awaitable[Any]]) -> Any:
        async with self._lock:
            if self._last is not None:
                wait = self._last + self.gap - self.clock()
                if wait > 0:
                    await self.sleep(wait)
            try:
                return await request()
            finally:
                self._last = self.clock()


def timespan_minutes(poll_interval: float, backfill_hours: int, first_read: bool) -> int:
    """How far back a query looks: twice the poll interval (a late poll misses nothing; the
    overlap is removed by item keys), or the backfill window on the first read."""
    if first_read:
        return max(MIN_TIMESPAN_MINUTES, backfill_hours * 60)
    return max(MIN_TIMESPAN_MINUTES, math.ceil(2 * poll_interval / 60))


def query_url(base: str, query: str, minutes: int) -> str:
    return (
        f"{base}?query={quote(query, safe='')}&mode=ArtList&format=json"
        f"&timespan={minutes}min&maxrecords={MAX_RECORDS}&sort=DateDesc"
    )


def _seen(value: Any) -> datetime | None:
    """GDELT's ``seendate``: ``20261127T101500Z``."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.strptime(value.strip(), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def headline(title: str) -> str:
    """GDELT's title is the page's ``<title>``: drop an outlet suffix (``… - Le Monde``,
    ``… | Lefaso.net``), as Google News titles lose theirs, so the two compare equal."""
    if " | " in title:
        head, _, tail = title.rpartition(" | ")
        cut, outlet = split_outlet_suffix(f"{head} - {tail}")
        if outlet:
            return cut
    return split_outlet_suffix(title)[0]


def _field(article: Mapping[str, Any], key: str) -> str | None:
    value = article.get(key)
    return value.strip() if isinstance(value, str) and value.strip() else None


def parse_answer(body: bytes, spec: FeedSpec) -> tuple[ParsedFeed, bool]:
    """Items of an ArtList answer, and whether GDELT asked us to slow down.

    An empty body or ``{}`` is an empty answer (no article in the timespan), not an error.
    GDELT reports problems as plain text with status 200 (a bad query, the rate limit).
    """
    text = body.strip()
    if not text or text in (b"{}", b"[]"):
        return ParsedFeed(title=None), False
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError):
        message = " ".join(text[:300].decode("utf-8", "replace").split())
        limited = _RATE_LIMITED in message.lower()
        kind = FeedErrorKind.RATE_LIMITED if limited else FeedErrorKind.SOURCE
        error = FeedError(kind, f"GDELT answered with an error: {message}")
        return ParsedFeed(title=None, error=error), limited
    if not isinstance(data, dict):
        error = FeedError(FeedErrorKind.MALFORMED, "GDELT answer is not a JSON object")
        return ParsedFeed(title=None, error=error), False
    problem = next((data[k] for k in ("error", "errors", "message") if data.get(k)), None)
    if problem and not data.get("articles"):
        detail = " ".join(str(problem).split())[:300]
        limited = _RATE_LIMITED in detail.lower()
        kind = FeedErrorKind.RATE_LIMITED if limited else FeedErrorKind.SOURCE
        error = FeedError(kind, f"GDELT answered with an error: {detail}")
        return ParsedFeed(title=None, error=error), limited
    articles = data.get("articles") or []
    if not isinstance(articles, list):
        error = FeedError(FeedErrorKind.MALFORMED, "GDELT answer: 'articles' is not a list")
        return ParsedFeed(title=None, error=error), False
    items: list[Item] = []
    for article in articles:
        if not isinstance(article, dict):
            continue
        link = _field(article, "url")
        title = headline(clean_title(_field(article, "title")))
        if not link or urlsplit(link).scheme not in ("http", "https") or not title:
            continue
        domain = _field(article, "domain") or (urlsplit(link).hostname or "").removeprefix("www.")
        language = _field(article, "language")
        country = _field(article, "sourcecountry")
        where = ", ".join(v for v in (language, country) if v)
        items.append(
            Item(
                feed_url=spec.url,
                # The outlet, with the language and country GDELT reports, as alerts show it.
                source=f"{domain} ({where})" if where else domain,
                guid=None,
                link=link,
                title=title,
                summary="",
                published=_seen(article.get("seendate")),
                language=language,
                country=country,
            )
        )
    return ParsedFeed(title=spec.title or f"GDELT: {spec.target}", items=items), False


class GdeltReader:
    """Runs a source's query through the shared limiter and reads the answer."""

    def __init__(
        self,
        fetcher: Fetcher,
        base_url: str = DEFAULT_API_URL,
        *,
        limiter: GdeltLimiter | None = None,
        poll_interval: float = 300.0,
        backfill_hours: int = 24,
    ):
        self.fetcher = fetcher
        self.base_url = base_url
        self.limiter = limiter or GdeltLimiter()
        self.poll_interval = poll_interval
        self.backfill_hours = backfill_hours

    def url_for(self, spec: FeedSpec, first_read: bool) -> str:
        minutes = timespan_minutes(self.poll_interval, self.backfill_hours, first_read)
        return query_url(self.base_url, spec.target, minutes)

    async def read(
        self, spec: FeedSpec, state: FeedState, now: datetime
    ) -> tuple[SourceResult, Parsed | None]:
        url = self.url_for(spec, first_read=not state.first_success_at)
        fetched = await self.limiter.run(lambda: self.fetcher.fetch(url))
        result = SourceResult(
            url=spec.url,
            status=fetched.status,
            error=fetched.error,
            body_hash=fetched.body_hash,
            retry_after=fetched.retry_after,
            elapsed=fetched.elapsed,
        )
        if fetched.error:
            if fetched.status == 429 and result.retry_after is None:
                result.retry_after = self.limiter.gap
            return result, None
        parsed, limited = parse_answer(fetched.body or b"", spec)
        if parsed.error:
            result.error = parsed.error
            if limited:
                result.retry_after = max(self.limiter.gap, self.poll_interval / 2)
            return result, None
        return result, key_items(parsed)
