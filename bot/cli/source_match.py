"""`main.py match` for sources that are not feeds: read a Telegram channel, a page or a GDELT
query once, as the poller would on a first read, and show what is extracted and what alerts."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, TextIO

from bot.cli.match_report import item_json, item_text
from bot.core.errors import SourceError
from bot.core.matching import Matcher
from bot.core.models import FeedSpec, SourceKind
from bot.core.records import FeedState
from bot.core.sources import parse_source
from bot.feeds.sources.base import SourceReader

DECLARATION_PREFIXES = tuple(f"{k.value}:" for k in SourceKind if k is not SourceKind.FEED)


def resolve_source(text: str, configured: Sequence[FeedSpec]) -> FeedSpec | None:
    """The non-feed source ``text`` names: a declaration (``telegram:x``, ``page:URL …``,
    ``gdelt:query``), or a configured source's identity, target or title. None: a feed."""
    for spec in configured:
        if spec.kind is not SourceKind.FEED and text in (spec.url, spec.target, spec.title):
            return spec
    if not text.lower().startswith(DECLARATION_PREFIXES):
        return None
    spec = parse_source(text, "command line")
    for known in configured:  # `page:URL` alone: the selectors of the configured source
        if known.url == spec.url:
            return known
    return spec


async def run_source_match(
    spec: FeedSpec,
    reader: SourceReader,
    fetcher: Any,
    matcher: Matcher,
    *,
    as_json: bool,
    include_all: bool,
    out: TextIO,
    err: TextIO,
) -> int:
    """Print what one read of ``spec`` extracts (a page: every item, with its date as written
    and as read) and which items would alert. Returns 0, or 1 when the read failed."""
    now = datetime.now(UTC)
    if spec.kind is SourceKind.PAGE:
        return await _page(spec, fetcher, matcher, as_json, out, err, now)
    result, parsed = await reader.read(spec, FeedState(url=spec.url), now)
    if result.error or parsed is None:
        print(f"{spec.url}: {result.error or 'nothing read'}", file=err)
        return 1
    feed = parsed[0]
    alerting = 0
    if not as_json:
        print(f"== {spec.url}: {feed.title or spec.target} ({len(feed.items)} items)", file=out)
    for item in feed.items:
        found = matcher.match(item.title, item.summary)
        alerting += bool(found)
        if found or include_all:
            print(item_json(spec.url, item, found) if as_json else item_text(item, found), file=out)
    if not as_json:
        print(f"-- {alerting} of {len(feed.items)} items would alert", file=out)
    return 0


async def _page(
    spec: FeedSpec,
    fetcher: Any,
    matcher: Matcher,
    as_json: bool,
    out: TextIO,
    err: TextIO,
    now: datetime,
) -> int:
    from bot.core.errors import SelectorProblem
    from bot.feeds.sources.page import extract_page, page_items

    assert spec.selectors is not None
    fetched = await fetcher.fetch(spec.target)
    if fetched.error:
        print(f"{spec.url}: {fetched.error}", file=err)
        return 1
    try:
        extract = extract_page(
            fetched.body or b"", spec.target, spec.selectors, now, fetched.content_type
        )
    except SelectorProblem as exc:
        print(f"{spec.url}: {exc}", file=err)
        return 1
    items = page_items(extract, spec, now, first_read=False)
    if not as_json:
        selectors = ", ".join(
            f"{k}={getattr(spec.selectors, k)!r}"
            for k in ("item", "title", "link", "date", "summary")
            if getattr(spec.selectors, k)
        )
        print(f"== {spec.url}: {extract.title or spec.target}", file=out)
        print(f"   selectors: {selectors}", file=out)
        print(f"   {len(items)} items extracted", file=out)
    if not items:
        print(f"{spec.url}: selector {spec.selectors.item!r} matched 0 items", file=err)
        return 1
    alerting = 0
    for entry, item in zip(extract.entries, items, strict=True):
        found = matcher.match(item.title, item.summary)
        alerting += bool(found)
        if as_json:
            record = json.loads(item_json(spec.url, item, found))
            record["date_text"] = entry.date_text
            print(json.dumps(record, ensure_ascii=False), file=out)
            continue
        print(item_text(item, found), file=out)
        when = entry.published.strftime("%Y-%m-%d %H:%M UTC") if entry.published else None
        if entry.date_text is not None:
            print(f"    date: {entry.date_text!r} -> {when or 'not understood'}", file=out)
        elif spec.selectors.date:
            print("    date: none found (the first-seen time will be used)", file=out)
        if item.summary:
            print(f"    summary: {item.summary[:160]}", file=out)
    if not as_json:
        print(f"-- {alerting} of {len(items)} items would alert", file=out)
    return 0


__all__ = ["SourceError", "resolve_source", "run_source_match"]
