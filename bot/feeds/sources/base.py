"""What every source kind hands the pipeline: a fetch outcome with the source's own state,
an optional admin notice and pause, plus keyed items; and the reader that picks the kind."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from bot.core.errors import FeedError, FeedErrorKind
from bot.core.models import FeedSpec, ParsedFeed, SourceKind
from bot.core.records import FeedState
from bot.feeds.fetcher import FetchResult

# A parsed body, the key of each of its items and each item's canonical link (or None).
Parsed = tuple[ParsedFeed, list[str], list[str | None]]


@dataclass(slots=True)
class SourceResult(FetchResult):
    """A FetchResult plus what only sources have.

    ``source_state`` is stored on the feed row (JSON) whether the read succeeded or not;
    ``notice`` goes to the admins once; ``pause`` pauses the source at once (a Telegram
    channel without a public preview), instead of after ``pause_after_failures`` failures.
    """

    source_state: dict[str, Any] | None = None
    notice: str | None = None
    pause: bool = False


class KindReader(Protocol):
    """Reads one kind of source: fetch (through the shared Fetcher) and parse."""

    async def read(
        self, spec: FeedSpec, state: FeedState, now: datetime
    ) -> tuple[SourceResult, Parsed | None]: ...


def source_state(state: FeedState) -> dict[str, Any]:
    """The stored JSON state of a source (empty when there is none or it is unreadable)."""
    raw = state.source_state
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def key_items(parsed: ParsedFeed) -> Parsed:
    """Each item's key and canonical link, exactly as for a feed's items."""
    from bot.core.urls import canonical_url, item_key

    canonical = [canonical_url(i.link) if i.link else None for i in parsed.items]
    keys = [
        item_key(i.guid, i.link, i.title, i.summary, canonical_link=c)
        for i, c in zip(parsed.items, canonical, strict=True)
    ]
    return parsed, keys, canonical


class SourceReader:
    """Dispatches a non-feed spec to the reader of its kind.

    Each kind's reader is made by its factory when a source of that kind is first read, and
    kept: a feed list without Telegram channels, pages or GDELT queries never imports their
    modules (a few milliseconds of every `poll --once`).
    """

    def __init__(self, factories: Mapping[SourceKind, Callable[[], KindReader]]):
        self._factories = dict(factories)
        self.readers: dict[SourceKind, KindReader] = {}

    def reader(self, kind: SourceKind) -> KindReader | None:
        """The reader of ``kind`` (made now if it is the first), or None when none is set up."""
        reader = self.readers.get(kind)
        if reader is None:
            factory = self._factories.get(kind)
            if factory is None:
                return None
            reader = self.readers[kind] = factory()
        return reader

    async def read(
        self, spec: FeedSpec, state: FeedState, now: datetime
    ) -> tuple[FetchResult, Parsed | None]:
        reader = self.reader(spec.kind)
        if reader is None:
            error = FeedError(FeedErrorKind.INTERNAL, f"{spec.kind} sources are not set up")
            return SourceResult(url=spec.url, error=error), None
        return await reader.read(spec, state, now)
