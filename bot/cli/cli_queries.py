"""Command-line twins of the bot queries: search, recent, stats, export, feeds, feeds export."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TextIO

from bot.core.errors import FeedLookupError, SearchError
from bot.core.feed_state import FeedStatus
from bot.core.formatting import render_plain
from bot.core.models import FeedSpec
from bot.core.periods import describe_duration, parse_period, parse_span
from bot.core.reports import (
    FeedHealth,
    alert_line,
    alert_text,
    alerts_csv,
    describe_retry,
    feed_health,
    feeds_text,
    render_stats,
    render_story,
)
from bot.core.search_query import parse_search
from bot.feeds.feed_list import to_opml
from storage.queries import Queries
from storage.repository import Repository


def run_recent(queries: Queries, arg: str | None, out: TextIO, err: TextIO, now: datetime) -> int:
    span = parse_span(arg)  # PeriodError: shown by cli.entry
    if span.period is not None:
        rows = queries.recent(since=now - span.period)
    else:
        rows = queries.recent(limit=span.count)
    if not rows:
        print("No alerts.", file=out)
    for row in rows:
        print(alert_text(alert_line(row)), file=out)
    return 0


def run_search(
    queries: Queries, text: str, out: TextIO, err: TextIO, now: datetime, limit: int = 50
) -> int:
    from bot.data.incident_data import incident_filter

    query = parse_search(text)
    if query.error or (query.match is None and not query.filtered):
        print(query.error or "Nothing to search for.", file=err)
        return 2
    incident = incident_filter(query)  # LookupFailed: shown by cli.entry (exit 2)
    since = now - query.since if query.since else None
    try:
        page = queries.search(query.match, since=since, limit=limit, incident=incident)
    except SearchError as exc:
        print(f"search failed: {exc}", file=err)
        return 2
    shown = f" (showing {len(page.rows)})" if page.total > len(page.rows) else ""
    print(f"{page.total} alert(s) match {query.label}{shown}", file=out)
    for row in page.rows:
        print(alert_text(alert_line(row)), file=out)
    if query.match is None or incident is not None:
        return 0  # weak matches carry no incident fields
    weak = queries.search_weak(query.match, since=since, limit=limit)
    if weak.total:
        print(
            f"{weak.total} weak match(es), stored but not alerted (names only in a list or an"
            " aside):",
            file=out,
        )
        for weak_row in weak.rows:
            names = ", ".join(weak_row.entities)
            title, source = weak_row.title, weak_row.source
            print(f"  ~ {title} ({source}; weak: {names})", file=out)
    return 0


def run_story(queries: Queries, arg: str, out: TextIO, err: TextIO) -> int:
    """`story N`: every outlet that reported story N, as `/story N`."""
    text = arg.strip().lstrip("#")
    if not text.isdecimal():
        print("story: give a story id (shown as [story N] in lists)", file=err)
        return 2
    story, alerts = queries.story(int(text))
    if story is None:
        print(f"story: there is no story {int(text)}", file=err)
        return 1
    for page in render_story(story, [alert_line(a) for a in alerts]):
        print(render_plain(page), file=out)
    for alert in alerts:
        if alert.link:
            print(f"  {alert.source}: {alert.link}", file=out)
    return 0


def run_stats(queries: Queries, arg: str | None, out: TextIO, err: TextIO, now: datetime) -> int:
    period = parse_period(arg, timedelta(days=7))  # PeriodError: shown by cli.entry
    start, before = now - period, now - 2 * period
    pages = render_stats(
        describe_duration(period),
        (queries.count(start, now), queries.count(before, start)),
        (queries.counts_by_entity(start, now), queries.counts_by_entity(before, start)),
        (queries.counts_by_source(start, now), queries.counts_by_source(before, start)),
        reports=queries.report_count(start, now),
        top=1000,
        event_types=(
            queries.counts_by_event_type(start, now),
            queries.counts_by_event_type(before, start),
        ),
    )
    for page in pages:
        print(render_plain(page), file=out)
    return 0


def run_export(queries: Queries, arg: str | None, out: TextIO, err: TextIO, now: datetime) -> int:
    """CSV of the alerts of a period (default: every alert) on ``out``."""
    since = None
    if arg:
        # A PeriodError is shown by cli.entry.
        since = now - parse_period(arg, timedelta(days=30))
    out.write(alerts_csv(queries.export_rows(since=since)))
    return 0


def run_map(
    queries: Queries,
    words: Sequence[str],
    path: str,
    out: TextIO,
    err: TextIO,
    now: datetime,
    *,
    arabic: bool = False,
) -> int:
    """`newswatch map [period] [entity] --out FILE`: the /map PNG written to a file."""
    from pathlib import Path

    from bot.core.periods import is_duration, parse_duration
    from bot.data.gazetteer_file import load_default_boundaries
    from bot.render.incident_map import map_for

    rest = list(words)
    period = timedelta(days=30)
    if rest and is_duration(rest[0]):
        period = parse_duration(rest.pop(0))
    elif rest and is_duration(rest[-1]):
        period = parse_duration(rest.pop())
    entity = " ".join(rest) or None
    rows = queries.incident_rows(now - period, now + timedelta(seconds=1), entity)
    rendered, caption = map_for(
        rows,
        load_default_boundaries(),
        period_label=describe_duration(period),
        entity=entity,
        arabic=arabic,
        now=now,
    )
    try:
        Path(path).write_bytes(rendered.png)
    except OSError as exc:
        print(f"{path}: {exc.strerror or exc}", file=err)
        return 1
    print(f"{path}: {caption}", file=out)
    return 0


def run_feeds(
    queries: Queries,
    specs: Sequence[FeedSpec],
    out: TextIO,
    now: datetime,
    stale_after: timedelta = timedelta(hours=24),
) -> int:
    """Every configured feed with its health (a feed never fetched shows as ``new``)."""
    stored = {state.url: feed_health(state) for state in queries.feeds()}
    feeds: list[FeedHealth] = []
    for spec in specs:
        feeds.append(
            stored.get(spec.url)
            or FeedHealth(spec.url, spec.title, FeedStatus.ACTIVE, None, None, None, None, 0)
        )
    print(feeds_text(feeds, now, stale_after), file=out)
    return 0


def run_feed_retry(repo: Repository, target: str, out: TextIO, err: TextIO, now: datetime) -> int:
    """`feeds retry URL`: a paused or 410-disabled feed becomes active and due now."""
    try:
        url, previous = repo.feeds.retry(target, now)
    except FeedLookupError as exc:
        print(f"feeds retry: {exc}", file=err)
        return 2
    print(describe_retry(url, previous), file=out)
    return 0


def run_feeds_export(specs: Sequence[FeedSpec], out: TextIO) -> int:
    out.write(to_opml(list(specs)))
    return 0
