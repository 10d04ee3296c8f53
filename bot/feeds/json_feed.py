"""JSON Feed 1.0 and 1.1 (https://jsonfeed.org/version/1.1) read into the same ``ParsedFeed`` as
RSS and Atom; ``parse_any`` picks JSON Feed or ``bot.feeds.parser.parse_feed`` by content."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from bot.core.errors import FeedError, FeedErrorKind
from bot.core.models import Item, ParsedFeed
from bot.core.text import clean_title, html_to_text, truncate_words

VERSION_PREFIX = "https://jsonfeed.org/version/"
_MAX_SUMMARY = 2000
_TITLE_CHARS = 160


def looks_like_json(body: bytes) -> bool:
    return body.lstrip()[:1] in (b"{", b"[")


def parse_any(body: bytes, url: str, content_type: str | None = None) -> ParsedFeed:
    """A JSON body is read as JSON Feed; anything else goes to feedparser's ``parse_feed``."""
    if looks_like_json(body):
        return parse_json_feed(body, url)
    from bot.feeds.parser import parse_feed

    return parse_feed(body, url, content_type)


def _string(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return str(value)  # JSON Feed 1.0 ids were sometimes numbers
    return value.strip() if isinstance(value, str) and value.strip() else None


def _date(value: Any) -> datetime | None:
    text = _string(value)
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _link(value: Any, base: str) -> str | None:
    text = _string(value)
    if not text:
        return None
    try:
        link = urljoin(base, text)
        return link if urlsplit(link).scheme in ("http", "https") else None
    except ValueError:  # "http://[::1/a": a bad link costs only itself, the item stays
        return None


def parse_json_feed(body: bytes, url: str) -> ParsedFeed:
    """Parse a JSON Feed document. Never raises; ``error`` says why nothing could be used."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        return ParsedFeed(
            title=None, error=FeedError(FeedErrorKind.MALFORMED, f"JSON could not be parsed: {exc}")
        )
    if not isinstance(data, dict) or not str(data.get("version", "")).startswith(VERSION_PREFIX):
        return ParsedFeed(
            title=None,
            error=FeedError(
                FeedErrorKind.NOT_A_FEED,
                "not a feed: JSON without a JSON Feed version (jsonfeed.org)",
            ),
        )
    raw_items = data.get("items")
    if not isinstance(raw_items, list):
        return ParsedFeed(
            title=None,
            error=FeedError(FeedErrorKind.MALFORMED, "JSON Feed without an 'items' list"),
        )
    feed_title = clean_title(_string(data.get("title"))) or None
    base = _link(data.get("home_page_url"), url) or url
    source = feed_title or (urlsplit(url).hostname or url).removeprefix("www.")
    items: list[Item] = []
    for entry in raw_items:
        if not isinstance(entry, dict):
            continue
        text = html_to_text(_string(entry.get("content_html")) or "") or (
            " ".join((_string(entry.get("content_text")) or "").split())
        )
        summary = html_to_text(_string(entry.get("summary")) or "") or text
        title = clean_title(_string(entry.get("title")))
        if not title and text:  # a microblog post: its first words are the title
            title = truncate_words(text, _TITLE_CHARS)
        link = _link(entry.get("url"), base) or _link(entry.get("external_url"), base)
        if not (title or summary or link):
            continue
        items.append(
            Item(
                feed_url=url,
                source=source,
                guid=_string(entry.get("id")),
                link=link,
                title=title,
                summary=summary[:_MAX_SUMMARY],
                published=_date(entry.get("date_published")) or _date(entry.get("date_modified")),
                language=_string(entry.get("language")) or _string(data.get("language")),
            )
        )
    return ParsedFeed(title=feed_title, items=items)
