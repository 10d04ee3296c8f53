"""Plain data types shared by every stage of the pipeline."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.core.errors import FeedError

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class Problem:
    """One validation problem, printed as ``file:line: message`` (``where: message`` when
    ``line`` is 0: an environment variable, a directory, a whole file)."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        if self.line <= 0:
            return f"{self.path}: {self.message}"
        return f"{self.path}:{self.line}: {self.message}"


@dataclass(frozen=True, slots=True)
class Item:
    """One parsed feed entry. All text is plain (tags stripped, entities unescaped once)."""

    feed_url: str
    source: str
    guid: str | None
    link: str | None
    title: str
    summary: str
    published: datetime | None  # timezone-aware UTC, or None when the feed gave no usable date
    # The identity of the article or post this item is (a forwarded Telegram post: its
    # original, "telegram:channel/123"); items with the same origin are one item, whichever
    # source brings it first (see bot.core.sources.article_key).
    origin: str | None = None
    language: str | None = None  # as the source reports it (GDELT: "French")
    country: str | None = None  # the outlet's country, as the source reports it (GDELT)

    def __reduce__(self) -> tuple[type[Item], tuple[object, ...]]:
        """Pickled as its fields, rebuilt by one constructor call: parse workers send about
        50,000 items in a cold 1,000-feed cycle, and dataclasses' own ``__setstate__`` looks
        up the field list and sets each field apart, item by item (3x the cost)."""
        return (
            Item,
            (
                self.feed_url,
                self.source,
                self.guid,
                self.link,
                self.title,
                self.summary,
                self.published,
                self.origin,
                self.language,
                self.country,
            ),
        )


class SourceKind(StrEnum):
    """What a feed-list entry reads. Every kind goes through the same pipeline."""

    FEED = "feed"  # RSS, Atom, RDF or JSON Feed over http(s)
    TELEGRAM = "telegram"  # a public channel's web preview, t.me/s/<channel>
    PAGE = "page"  # a web page without a feed, read with CSS selectors
    GDELT = "gdelt"  # a GDELT DOC 2.0 query


@dataclass(frozen=True, slots=True)
class PageSelectors:
    """CSS selectors of a page source: one ``item`` per entry, the rest inside each item."""

    item: str
    title: str
    link: str
    date: str | None = None
    summary: str | None = None


@dataclass(frozen=True, slots=True)
class FeedSpec:
    """A source the user asked for: its identity (``url``) and an optional display name.

    For a feed ``url`` is the feed's http(s) URL; other kinds are named by their kind and
    target: ``telegram:<channel>``, ``page:<page URL>``, ``gdelt:<query>``.
    """

    url: str
    title: str | None = None
    origin: str = "default"  # "default", "env", a watchlist file, or "search"
    kind: SourceKind = SourceKind.FEED
    selectors: PageSelectors | None = None  # page sources only

    @property
    def target(self) -> str:
        """What is read: the feed URL, the channel name, the page URL or the GDELT query."""
        if self.kind is SourceKind.FEED:
            return self.url
        return self.url.partition(":")[2]


@dataclass(slots=True)
class ParsedFeed:
    """What the parser made of a fetched body."""

    title: str | None
    items: list[Item] = field(default_factory=list)
    ttl_minutes: int | None = None
    error: FeedError | None = None  # set when nothing usable could be parsed
    warning: str | None = None  # set when feedparser recovered from malformed input
    # Each item's title and summary as the watchlist matcher scans them
    # (``matching.match_text``), when the parse job made them (off the cycle's main process).
    match_texts: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class StoredAlert:
    """An alert just stored by a cycle, handed to the deliverer: its id, its story, and whether
    it opened that story."""

    alert_id: int
    story_id: int
    new_story: bool


@dataclass(slots=True)
class CycleReport:
    """Counts for the one-line cycle summary."""

    feeds_due: int = 0
    fetched: int = 0
    not_modified: int = 0
    unchanged_body: int = 0
    errors: int = 0
    items_new: int = 0
    alerts: int = 0
    duration: float = 0.0
    feed_errors: dict[str, FeedError] = field(default_factory=dict)
    due_urls: list[str] = field(default_factory=list)  # the feeds this cycle tried
    # The first storage failure of the cycle (disk full, read-only, locked past the busy
    # timeout): the service backs off and tells the admins once.
    storage_error: str | None = None

    def summary(self) -> str:
        return (
            f"cycle: feeds={self.feeds_due} fetched={self.fetched} 304={self.not_modified}"
            f" unchanged={self.unchanged_body} errors={self.errors} new_items={self.items_new}"
            f" alerts={self.alerts} duration={self.duration:.2f}s"
        )
