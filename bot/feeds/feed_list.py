"""Read and write feed lists: OPML files or plain text with one URL (or source) per line."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import urlsplit
from xml.sax.saxutils import quoteattr

from bot.core.errors import SourceError
from bot.core.models import FeedSpec, Problem, SourceKind
from bot.core.sources import parse_source, to_declaration
from bot.core.urls import check_feed_url

_COMMENT = re.compile(r"(^|\s)#.*$")


def load_feed_list(path: str | Path) -> tuple[list[FeedSpec], list[Problem]]:
    """Load an OPML file (detected by content) or a text file of URLs (``#`` comments allowed)."""
    where = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        return [], [Problem(where, 1, f"cannot read feed list: {exc.strerror or exc}")]
    text = raw.decode("utf-8", errors="replace")
    if text.lstrip().startswith("<"):
        return _load_opml(text, where)
    specs: list[FeedSpec] = []
    problems: list[Problem] = []
    seen: set[str] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        # A comment is a line starting with "#" or " #…" after the URL ("#" alone is a fragment).
        url = _COMMENT.sub("", line).strip()
        if not url:
            continue
        spec, reason = _source(url, where)
        if spec is None:
            problems.append(Problem(where, number, reason or "unusable entry"))
        elif spec.url not in seen:
            seen.add(spec.url)
            specs.append(spec)
    return specs, problems


def _source(entry: str, where: str, title: str | None = None) -> tuple[FeedSpec | None, str | None]:
    """A feed URL, or a source declaration (``telegram:…``, ``page:…``, ``gdelt:…``)."""
    if "://" in entry.split()[0] and not entry.lower().startswith("page:"):
        reason = check_feed_url(entry)
        if reason:
            return None, reason
    try:
        spec = parse_source(entry, where)
    except SourceError as exc:
        return None, str(exc)
    if spec.kind is SourceKind.FEED:
        return FeedSpec(url=entry, title=title, origin=where), None
    return FeedSpec(spec.url, title or spec.title, where, spec.kind, spec.selectors), None


def _load_opml(text: str, where: str) -> tuple[list[FeedSpec], list[Problem]]:
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        line = exc.position[0] if exc.position else 1
        return [], [Problem(where, line, f"OPML is not well-formed XML: {exc}")]
    specs: list[FeedSpec] = []
    problems: list[Problem] = []
    seen: set[str] = set()
    for outline in root.iter("outline"):
        url = (outline.get("xmlUrl") or "").strip()
        if not url:
            continue
        title = outline.get("title") or outline.get("text") or None
        spec, reason = _source(url, where, title)
        if spec is None:
            problems.append(Problem(where, 1, f"{url}: {reason}"))
        elif spec.url not in seen:
            seen.add(spec.url)
            specs.append(spec)
    if not specs and not problems:
        problems.append(Problem(where, 1, "OPML file lists no feeds (no outline with xmlUrl)"))
    return specs, problems


def to_opml(feeds: list[FeedSpec], title: str = "newswatch feeds") -> str:
    """Render feeds as an OPML 2.0 document."""
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<opml version="2.0">',
        f"  <head><title>{_esc(title)}</title></head>",
        "  <body>",
    ]
    for feed in feeds:
        label = feed.title or urlsplit(feed.url).hostname or feed.url
        kind = "rss" if feed.kind is SourceKind.FEED else str(feed.kind)
        lines.append(
            f"    <outline type={quoteattr(kind)} text={quoteattr(label)} title={quoteattr(label)}"
            f" xmlUrl={quoteattr(to_declaration(feed))}/>"
        )
    lines += ["  </body>", "</opml>", ""]
    return "\n".join(lines)


def _esc(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
