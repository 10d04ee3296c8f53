"""Source declarations (``telegram:x``, ``page:URL …``, ``gdelt:query``, ``[[source]]`` tables)
and the cross-source article identity; pure, no I/O."""

from __future__ import annotations

import re
import shlex
from typing import Any
from urllib.parse import urlsplit

from bot.core.errors import SourceError
from bot.core.models import FeedSpec, Item, PageSelectors, SourceKind
from bot.core.normalize import normalize
from bot.core.table_keys import unknown_key, unknown_keys
from bot.core.urls import is_google_news_url

# Telegram public usernames: 5-32 characters in the app; a few old channels have 4.
CHANNEL = re.compile(r"[A-Za-z][A-Za-z0-9_]{3,31}")
_TME_HOSTS = ("t.me", "telegram.me", "www.t.me", "www.telegram.me")
_SELECTOR_KEYS = ("item", "title", "link", "date", "summary")
_REQUIRED_SELECTORS = ("item", "title", "link")
_MAX_QUERY = 1000
_WORD = re.compile(r"\w+")
# A title shorter than this (in words) is too generic to prove two items are one article.
_MIN_TITLE_WORDS = 4
SOURCE_KEYS = {"kind", "title", "channel", "url", "query", "selectors"}


def _check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise SourceError(f"a page source needs an http(s) URL, not {url!r}")
    return url


def telegram_spec(channel: str, origin: str, title: str | None = None) -> FeedSpec:
    """The spec of public channel ``channel`` (``@name``, ``name`` or a t.me link)."""
    name = channel.strip().removeprefix("@")
    parts = urlsplit(name if "://" in name else "")
    if parts.hostname in _TME_HOSTS:
        segments = [s for s in parts.path.split("/") if s]
        if segments and segments[0] == "s":
            segments = segments[1:]
        name = segments[0] if segments else ""
    if not CHANNEL.fullmatch(name):
        raise SourceError(
            f"not a public Telegram channel name: {channel!r} (letters, digits and _, 4-32"
            " characters, starting with a letter)"
        )
    return FeedSpec(f"telegram:{name}", title, origin=origin, kind=SourceKind.TELEGRAM)


def gdelt_spec(query: str, origin: str, title: str | None = None) -> FeedSpec:
    """The spec of a GDELT DOC 2.0 query (GDELT's own syntax: phrases, OR, sourcelang:…)."""
    query = " ".join(query.split())
    if not query:
        raise SourceError('a gdelt source needs a query, e.g. gdelt:"JNIM" OR "GSIM"')
    if len(query) > _MAX_QUERY:
        raise SourceError(f"GDELT query longer than {_MAX_QUERY} characters")
    if query.count('"') % 2:
        raise SourceError(f"unbalanced quotes in GDELT query {query!r}")
    return FeedSpec(f"gdelt:{query}", title, origin=origin, kind=SourceKind.GDELT)


def page_spec(
    url: str, selectors: dict[str, Any], origin: str, title: str | None = None
) -> FeedSpec:
    """The spec of a page without a feed, read with CSS ``selectors`` (syntax checked later,
    by the adapter that compiles them: ``main.py check`` reports a bad one)."""
    _check_url(url.strip())
    unknown = sorted(set(selectors) - set(_SELECTOR_KEYS))
    if unknown:
        raise SourceError(
            f"unknown selector {unknown[0]!r} (expected: {', '.join(_SELECTOR_KEYS)})"
        )
    for key, value in selectors.items():
        if not isinstance(value, str) or not value.strip():
            raise SourceError(f"selector {key!r} must be a non-empty string")
    missing = [k for k in _REQUIRED_SELECTORS if k not in selectors]
    if missing:
        raise SourceError(
            "a page source needs the selectors item, title and link"
            f" (missing: {', '.join(missing)})"
        )
    chosen = PageSelectors(**{k: v.strip() for k, v in selectors.items()})
    return FeedSpec(
        f"page:{url.strip()}", title, origin=origin, kind=SourceKind.PAGE, selectors=chosen
    )


def parse_source(text: str, origin: str) -> FeedSpec:
    """One feed-list entry: an http(s) feed URL, a t.me link, or ``kind:target [options]``.

    ``telegram:sahelwatch``; ``gdelt:"JNIM" OR "GSIM" sourcelang:fra``;
    ``page:https://example.org/news item=article title=h2 link="h2 a" date=time name="Site"``.
    Raises SourceError saying what is wrong.
    """
    text = text.strip()
    kind, sep, rest = text.partition(":")
    kind = kind.strip().lower()
    if kind in ("http", "https"):
        host = (urlsplit(text).hostname or "").lower()
        if host in _TME_HOSTS:
            return telegram_spec(text, origin)
        if not urlsplit(text).hostname:
            raise SourceError("feed URL has no host")
        return FeedSpec(url=text, origin=origin)
    if not sep or kind not in {k.value for k in SourceKind} - {SourceKind.FEED.value}:
        raise SourceError(
            f"not a feed URL nor a source (http(s)://…, telegram:…, page:…, gdelt:…): {text!r}"
        )
    source_kind = SourceKind(kind)
    if source_kind is SourceKind.TELEGRAM:
        return telegram_spec(rest, origin)
    if source_kind is SourceKind.GDELT:
        return gdelt_spec(rest, origin)
    try:
        words = shlex.split(rest)
    except ValueError as exc:
        raise SourceError(f"page source: {exc}") from None
    if not words:
        raise SourceError("a page source needs a URL and selectors")
    options: dict[str, str] = {}
    for word in words[1:]:
        key, eq, value = word.partition("=")
        if not eq:
            raise SourceError(f"page source option {word!r} is not key=value")
        options[key.strip()] = value
    name = options.pop("name", None)
    return page_spec(words[0], options, origin, name)


def source_from_table(table: dict[str, Any], origin: str) -> FeedSpec:
    """A watchlist ``[[source]]`` table: ``kind`` and its options. Raises SourceError."""
    unknown = unknown_keys(table, SOURCE_KEYS)
    if unknown:
        raise SourceError(unknown_key(unknown[0], SOURCE_KEYS, "source"))
    title = table.get("title")
    if title is not None and not isinstance(title, str):
        raise SourceError("source 'title' must be a string")
    wanted = {
        SourceKind.TELEGRAM: ("channel",),
        SourceKind.GDELT: ("query",),
        SourceKind.PAGE: ("url", "selectors"),
        SourceKind.FEED: ("url",),
    }
    raw_kind = table.get("kind")
    try:
        kind = SourceKind(str(raw_kind))
    except ValueError:
        raise SourceError(
            f"source 'kind' must be one of {', '.join(wanted)}, not {raw_kind!r}"
        ) from None
    for key in wanted[kind]:
        if key not in table:
            raise SourceError(f"a {kind} source needs {key!r}")
    extra = sorted(set(table) - {"kind", "title", *wanted[kind]})
    if extra:
        raise SourceError(f"{extra[0]!r} does not apply to a {kind} source")
    for key in ("channel", "query", "url"):
        if key in table and not isinstance(table[key], str):
            raise SourceError(f"source {key!r} must be a string")
    if kind is SourceKind.TELEGRAM:
        return telegram_spec(table["channel"], origin, title)
    if kind is SourceKind.GDELT:
        return gdelt_spec(table["query"], origin, title)
    if kind is SourceKind.FEED:
        spec = parse_source(table["url"], origin)
        if spec.kind is not SourceKind.FEED:
            return spec
        return FeedSpec(spec.url, title, origin=origin)
    selectors = table["selectors"]
    if not isinstance(selectors, dict):
        raise SourceError("page 'selectors' must be a table: { item = …, title = …, link = … }")
    return page_spec(table["url"], selectors, origin, title)


def to_declaration(spec: FeedSpec) -> str:
    """The one-line feed-list form of ``spec`` (what ``parse_source`` reads back)."""
    if spec.kind is not SourceKind.PAGE or spec.selectors is None:
        return spec.url
    parts = [shlex.quote(spec.target)]
    for key in _SELECTOR_KEYS:
        value = getattr(spec.selectors, key)
        if value:
            parts.append(f"{key}={shlex.quote(value)}")
    if spec.title:
        parts.append(f"name={shlex.quote(spec.title)}")
    return "page:" + " ".join(parts)


def title_key(title: str) -> str | None:
    """A headline's identity across sources: its normalised words (None when too short)."""
    words = _WORD.findall(normalize(title))
    if len(words) < _MIN_TITLE_WORDS:
        return None
    return "t:" + " ".join(words)


def article_key(item: Item) -> str | None:
    """The identity of the article or post behind ``item`` across sources, if it has one.

    A Telegram post carries its origin (a forward: the original post), so a post forwarded
    between channels is one item. Google News and GDELT items point at an outlet's article
    through different URLs (Google's redirect, the article itself): their normalised title
    identifies it, so the two collapse to one item. Other items have none (their canonical
    URL already does this job).
    """
    if item.origin:
        return "o:" + item.origin
    if item.feed_url.startswith("gdelt:") or is_google_news_url(item.feed_url):
        return title_key(item.title)
    return None
