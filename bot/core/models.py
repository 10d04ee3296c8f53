"""Plain data types shared by every stage of the pipeline."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


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


@dataclass(frozen=True, slots=True)
class FeedSpec:
    """A feed the user asked for: its URL and an optional display name."""

    url: str
    title: str | None = None
    origin: str = "default"  # "default", "env", a watchlist file, or "search"


@dataclass(slots=True)
class ParsedFeed:
    """What the parser made of a fetched body."""

    title: str | None
    items: list[Item] = field(default_factory=list)
    ttl_minutes: int | None = None
    error: str | None = None  # set when nothing usable could be parsed
    warning: str | None = None  # set when feedparser recovered from malformed input
