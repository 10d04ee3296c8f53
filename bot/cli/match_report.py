"""The `match` command: show which items of feeds (files, URLs or stdin) would alert, and why."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, BinaryIO, TextIO
from urllib.parse import urlsplit

import httpx

from bot.core.errors import SourceReadError
from bot.core.incidents import describe_incident
from bot.core.matching import Matcher, MatchResult, describe
from bot.core.models import Item
from bot.data.incident_data import load_default_tagger
from bot.feeds.json_feed import parse_any


def read_source(source: str, stdin: BinaryIO) -> tuple[bytes, str]:
    """Bytes of a source (``-`` for stdin, an http(s) URL, or a file path) and its URL."""
    if source == "-":
        return stdin.read(), "stdin"
    scheme = urlsplit(source).scheme.lower()
    if scheme in ("http", "https"):
        try:
            response = httpx.get(source, follow_redirects=True, timeout=20)
        except httpx.HTTPError as exc:
            raise SourceReadError(f"cannot fetch: {type(exc).__name__}: {exc}") from exc
        if response.status_code >= 400:
            raise SourceReadError(f"HTTP {response.status_code}")
        return response.content, str(response.url)
    if "://" in source:
        raise SourceReadError(f"unsupported URL scheme {scheme!r} (only http and https)")
    path = Path(source)
    try:
        return path.read_bytes(), path.resolve().as_uri()
    except OSError as exc:
        raise SourceReadError(f"cannot read file: {exc.strerror or exc}") from exc


# The keys of one `match --json` line, in order (documented in docs/matching.md; new keys may
# be added at the end, none is removed or renamed).
JSON_KEYS = (
    "source",
    "guid",
    "link",
    "title",
    "summary",
    "published",
    "entities",
    "weak",
    "reasons",
    "alert",
    "priority",
    "matches",
    # incident fields (docs/incidents.md): null / [] for news that is no incident
    "event_type",
    "sub_event",
    "fatalities",
    "places",
    "severity",
    "incident_reasons",
)


def item_record(source: str, item: Item, result: MatchResult) -> dict[str, Any]:
    """The JSON object for one item (keys in ``JSON_KEYS`` order)."""
    record: dict[str, Any] = {
        "source": source,
        "guid": item.guid,
        "link": item.link,
        "title": item.title,
        "summary": item.summary,
        "published": item.published.isoformat() if item.published else None,
        "entities": list(result.entities),
        "weak": list(result.weak_entities),
        "reasons": [
            {
                "entity": r.entity,
                "decision": str(r.decision),
                "rule": str(r.rule),
                "detail": r.detail,
            }
            for r in result.reasons
        ],
        "alert": bool(result),
        "priority": result.priority if result else None,
        "matches": [{"entity": h.entity, "alias": h.alias, "field": h.field} for h in result.hits],
    }
    incident = load_default_tagger().tag(item.title, item.summary)
    record.update(incident.to_dict())
    record["incident_reasons"] = list(incident.reasons)
    return record


def item_json(source: str, item: Item, result: MatchResult) -> str:
    """One JSON line for an item: see ``JSON_KEYS`` and docs/matching.md."""
    return json.dumps(item_record(source, item, result), ensure_ascii=False)


def item_text(item: Item, result: MatchResult) -> str:
    """A human-readable block for an item: its title, link and the matcher's explanation."""
    head = f"[{result.priority.upper()}]" if result else "[weak]" if result.weak else "[-]"
    lines = [f"{head} {item.title or '(no title)'}"]
    if item.link:
        lines.append(f"    {item.link}")
    lines.extend("    " + line.strip() for line in describe(result).splitlines())
    lines.extend(
        "    " + line
        for line in describe_incident(load_default_tagger().tag(item.title, item.summary))
    )
    return "\n".join(lines)


def run_match(
    sources: list[str],
    matcher: Matcher,
    *,
    as_json: bool,
    include_all: bool,
    out: TextIO,
    stdin: BinaryIO,
    err: TextIO | None = None,
) -> int:
    """Match every item of every source. Returns 0, or 1 if any source could not be used.

    Alerting items are printed (all items with ``include_all``, weak matches included);
    ``source`` in JSON is the SOURCE as given (a path, a URL or ``-``). Problems go to ``err``
    (stderr by default) as ``source: message``, never as a traceback.
    """
    err = err if err is not None else sys.stderr
    status = 0
    if not sources:
        print("match: give at least one SOURCE (a feed file, a URL, or - for stdin)", file=err)
        return 2
    for source in sources:
        try:
            body, url = read_source(source, stdin)
        except SourceReadError as exc:
            print(f"{source}: {exc}", file=err)
            status = 1
            continue
        feed = parse_any(body, url)
        if feed.error:
            print(f"{source}: {feed.error}", file=err)
            status = 1
            continue
        alerting = weak = 0
        if not as_json:
            print(f"== {source}: {feed.title or url} ({len(feed.items)} items)", file=out)
        for item in feed.items:
            result = matcher.match(item.title, item.summary)
            alerting += bool(result)
            if not (result or include_all):
                continue
            weak += bool(result.weak) and not result
            print(item_json(source, item, result) if as_json else item_text(item, result), file=out)
        if not as_json:
            print(
                f"-- {alerting} of {len(feed.items)} items would alert"
                + (f", {weak} more are weak matches (stored, not alerted)" if weak else ""),
                file=out,
            )
    return status
