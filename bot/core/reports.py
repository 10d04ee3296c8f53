"""Render command replies (alert lists, stats, feeds, watchlist, story) as paged Telegram HTML."""

from __future__ import annotations

import csv
import io
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from bot.core.errors import kind_label
from bot.core.failures import count_by_kind, describe_counts
from bot.core.feed_state import FeedStatus
from bot.core.formatting import MAX_MESSAGE_UTF16, alert_time, escape, render_plain, utf16_len
from bot.core.records import CSV_COLUMNS, AlertRecord, EventTypeCounts, FeedState, StoryRecord
from bot.core.text import truncate_words

TITLE_LIMIT = 200
PAGE_SIZE = 10
EXPORT_COLUMNS = CSV_COLUMNS  # the alerts CSV's header (bot.core.records.AlertRecord)


@dataclass(frozen=True, slots=True)
class AlertLine:
    """One stored alert as lists show it."""

    id: int
    title: str
    link: str | None
    source: str
    created: datetime | None
    published: datetime | None
    entities: tuple[str, ...]
    story_id: int | None = None
    sources: tuple[str, ...] = ()
    lang: str = ""  # ISO 639-1, "" when unknown

    @property
    def when(self) -> datetime | None:
        """The time lists show and sort by: publication, else arrival (``alert_time``)."""
        return alert_time(self.published, self.created)


def alert_line(alert: AlertRecord) -> AlertLine:
    """The AlertLine (a list's one line) of a stored alert."""
    return AlertLine(
        id=alert.id,
        title=alert.title,
        link=alert.link or None,
        source=alert.source,
        created=alert.created_at,
        published=alert.published_at,
        entities=alert.entities,
        story_id=alert.story_id,
        sources=alert.sources,
        lang=alert.lang or "",
    )


# ----- time labels ------------------------------------------------------------------------
def stamp(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "never"


def relative(moment: datetime | None, now: datetime) -> str:
    """``5h ago``, ``in 12 min``, ``just now``."""
    if moment is None:
        return "never"
    seconds = (now - moment).total_seconds()
    future = seconds < 0
    # To the nearest minute: "/mute X 2h" ends "in 2h", not "in 1h" a few ms later.
    seconds = round(abs(seconds) / 60) * 60
    if seconds < 60:
        return "now" if future else "just now"
    if seconds < 3600:
        label = f"{int(seconds // 60)} min"
    elif seconds < 86400 * 2:
        label = f"{int(seconds // 3600)}h"
    else:
        label = f"{int(seconds // 86400)}d"
    return f"in {label}" if future else f"{label} ago"


# ----- pagination -------------------------------------------------------------------------
def _fit(block: str, limit: int) -> str:
    """A block too long for one message, cut down to plain escaped text (never broken HTML)."""
    if utf16_len(block) <= limit:
        return block
    plain = render_plain(block)
    cut = truncate_words(plain, max(1, limit // 2))
    while utf16_len(escape(cut)) > limit and cut:
        cut = truncate_words(cut, max(1, len(cut) // 2))
    return escape(cut)


def paginate(
    blocks: Iterable[str], header: str = "", limit: int = MAX_MESSAGE_UTF16, sep: str = "\n"
) -> list[str]:
    """Join valid-HTML ``blocks`` into messages of at most ``limit`` UTF-16 units.

    Messages are split between blocks, so every message is valid HTML on its own. The header
    opens the first message only.
    """
    pages: list[str] = []
    current = header
    for raw in blocks:
        block = _fit(raw, limit - 2)
        candidate = f"{current}{sep}{block}" if current else block
        if utf16_len(candidate) > limit:
            if current:
                pages.append(current)
            current = block
        else:
            current = candidate
    if current or not pages:
        pages.append(current or "Nothing to show.")
    return pages


# ----- alert lists ------------------------------------------------------------------------
def alert_block(line: AlertLine) -> str:
    title = escape(truncate_words(line.title or "(untitled)", TITLE_LIMIT))
    head = f'<a href="{escape(line.link)}">{title}</a>' if line.link else f"<b>{title}</b>"
    meta = [f"<i>{escape(line.source)}</i>", escape(stamp(line.when))]
    if line.entities:
        meta.append(escape(", ".join(line.entities)))
    if line.story_id is not None:
        meta.append(f"story {line.story_id}")
    return f"• {head}\n   " + " · ".join(meta)


def alert_text(line: AlertLine) -> str:
    """The plain-text form of a listed alert, for the command line."""
    parts = [stamp(line.when), line.source, ", ".join(line.entities)]
    # The story id, as the bot shows it (`main.py story N` / `/story N` list its reports).
    ref = f"story {line.story_id}" if line.story_id is not None else f"alert {line.id}"
    out = f"[{ref}] {line.title}\n    " + " | ".join(p for p in parts if p)
    if line.link:
        out += f"\n    {line.link}"
    return out


def render_alert_list(lines: Sequence[AlertLine], header: str, empty: str) -> list[str]:
    if not lines:
        return [empty]
    return paginate((alert_block(line) for line in lines), header=header, sep="\n\n")


# ----- stats ------------------------------------------------------------------------------
def change(current: int, previous: int) -> str:
    """``+4, +25%``, ``−2, −50%``, ``=``, ``new``."""
    if current == previous:
        return "="
    if previous == 0:
        return "new"
    delta = current - previous
    sign = "+" if delta > 0 else "−"
    percent = round(abs(delta) * 100 / previous)
    return f"{sign}{abs(delta)}, {sign}{percent}%"


def _count_lines(current: Mapping[str, int], previous: Mapping[str, int], top: int) -> list[str]:
    names = sorted(
        set(current) | set(previous), key=lambda n: (-current.get(n, 0), -previous.get(n, 0), n)
    )
    lines = []
    for name in names[:top]:
        now_count, before = current.get(name, 0), previous.get(name, 0)
        lines.append(f"{escape(name)}: <b>{now_count}</b> ({change(now_count, before)})")
    if len(names) > top:
        lines.append(f"… and {len(names) - top} more")
    return lines


def render_stats(
    label: str,
    total: tuple[int, int],
    entities: tuple[Mapping[str, int], Mapping[str, int]],
    sources: tuple[Mapping[str, int], Mapping[str, int]],
    top: int = 25,
    event_types: tuple[EventTypeCounts, EventTypeCounts] | None = None,
    reports: int | None = None,
) -> list[str]:
    """Stories per entity and per source over the period, against the previous period.

    A story reported by five outlets counts once (``reports`` gives the reports' number).
    """
    now_total, before_total = total
    from_reports = f", from {reports} report(s)" if reports is not None else ""
    header = (
        f"<b>Stories over the last {escape(label)}</b> (change against the {escape(label)}"
        f" before)\nTotal: <b>{now_total}</b> ({change(now_total, before_total)}){from_reports}"
    )
    if not now_total and not before_total:
        return [f"{header}\n\nNo alerts in either period."]
    blocks = ["\n<b>By entity</b>", *_count_lines(*entities, top)]
    if event_types is not None:
        current, previous = (counts.named() for counts in event_types)
        blocks += ["\n<b>By event type</b> (stories)", *_count_lines(current, previous, top)]
    blocks += ["\n<b>By source</b>", *_count_lines(*sources, top)]
    return paginate(blocks, header=header)


# ----- trend ------------------------------------------------------------------------------
TrendUnit = Literal["hour", "day", "week"]


@dataclass(frozen=True, slots=True)
class TrendBins:
    """How /trend cuts a period: hours up to 2 days, days up to 90 days, weeks beyond."""

    unit: TrendUnit
    starts: tuple[datetime, ...]  # UTC start of each bin, oldest first
    since: datetime  # alerts counted from here (now - period) to now

    @property
    def axis_label(self) -> str:
        return {"hour": "hour (UTC)", "day": "day (UTC)", "week": "week starting (UTC)"}[self.unit]


def trend_bins(period: timedelta, now: datetime) -> TrendBins:
    """The bins of a /trend chart over the ``period`` that ends ``now`` (UTC)."""
    now = now.astimezone(UTC)
    since = now - period
    unit: TrendUnit
    if period <= timedelta(days=2):
        unit, step = "hour", timedelta(hours=1)
        first = since.replace(minute=0, second=0, microsecond=0)
    elif period <= timedelta(days=90):
        unit, step = "day", timedelta(days=1)
        first = since.replace(hour=0, minute=0, second=0, microsecond=0)
    else:
        unit, step = "week", timedelta(weeks=1)
        day = since.replace(hour=0, minute=0, second=0, microsecond=0)
        first = day - timedelta(days=day.weekday())  # weeks start on Monday
    starts = []
    start = first
    while start <= now:
        starts.append(start)
        start += step
    return TrendBins(unit, tuple(starts), since)


def bin_counts(bins: TrendBins, times: Iterable[datetime]) -> list[tuple[datetime, int]]:
    """(bin start, alerts) for every bin, zeros included; times outside the bins are dropped."""
    counts = [0] * len(bins.starts)
    for moment in times:
        if moment < bins.since:
            continue
        index = bisect_right(bins.starts, moment) - 1
        if 0 <= index < len(counts):
            counts[index] += 1
    return list(zip(bins.starts, counts, strict=True))


def fill_days(counts: Mapping[str, int], start: date, end: date) -> list[tuple[date, int]]:
    """One (day, count) per day from ``start`` to ``end`` inclusive, zeros filled in."""
    out = []
    day = start
    while day <= end:
        out.append((day, int(counts.get(day.isoformat(), 0))))
        day += timedelta(days=1)
    return out


# ----- feeds ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class FeedHealth:
    url: str
    title: str | None
    status: FeedStatus
    last_success: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    next_fetch: datetime | None
    failures: int
    created: datetime | None = None
    error_kind: str | None = None  # feeds.last_error_kind (bot.core.errors.FeedErrorKind)
    last_status: int | None = None

    @property
    def name(self) -> str:
        return self.title or self.url

    @property
    def kind_label(self) -> str | None:
        """The kind of the last failure in words; None when there is no failure."""
        if not self.last_error:
            return None
        return kind_label(self.error_kind, self.last_status) or "other"


def feed_health(state: FeedState) -> FeedHealth:
    """What /feeds and `feeds` show of a feed's stored state."""
    return FeedHealth(
        url=state.url,
        title=state.title or None,
        status=state.status,
        last_success=state.last_success_at,
        last_error=state.last_error or None,
        last_error_at=state.last_error_at,
        next_fetch=state.next_fetch_at,
        failures=state.consecutive_failures,
        created=state.created_at,
        error_kind=state.last_error_kind.value if state.last_error_kind else None,
        last_status=state.last_status,
    )


def describe_retry(url: str, previous_status: FeedStatus) -> str:
    """The answer to `/retry` and `feeds retry`: what the feed was, and what happens now."""
    was = {
        FeedStatus.GONE: "disabled after 410 Gone",
        FeedStatus.PAUSED: "paused after repeated failures",
    }.get(previous_status)
    if was is None:
        return (
            f"{url} was already active: it is fetched again in the next cycle, and any"
            " failures so far are forgotten."
        )
    return (
        f"{url} ({was}) is active again, its failures forgotten: it is fetched in the next"
        " cycle, and paused or disabled again only if it keeps failing."
    )


class Health(StrEnum):
    """A feed's health as /feeds and `feeds` show it: its status when it is not active, else
    what its fetches say."""

    HEALTHY = "healthy"
    FAILING = "failing"  # its latest fetch failed
    STALE = "stale"  # no success for longer than ``stale_after``
    NEW = "new"  # never fetched with success
    PAUSED = "paused"
    GONE = "gone"
    REMOVED = "removed"


_NOT_ACTIVE = {
    FeedStatus.PAUSED: Health.PAUSED,
    FeedStatus.GONE: Health.GONE,
    FeedStatus.REMOVED: Health.REMOVED,
}


def classify(feed: FeedHealth, now: datetime, stale_after: timedelta) -> Health:
    """The feed's ``Health``: paused, gone or removed as stored, else failing, new, stale or
    healthy."""
    if feed.status in _NOT_ACTIVE:
        return _NOT_ACTIVE[feed.status]
    if feed.failures > 0:
        return Health.FAILING
    if feed.last_success is None:
        return Health.NEW
    if now - feed.last_success > stale_after:
        return Health.STALE
    return Health.HEALTHY


_MARK = {
    Health.FAILING: "⚠️",
    Health.STALE: "🕸",
    Health.PAUSED: "⏸",
    Health.GONE: "⛔",
    Health.NEW: "🆕",
}


def _feed_block(feed: FeedHealth, state: Health, now: datetime) -> str:
    name = escape(truncate_words(feed.name, 120))
    head = f"{_MARK.get(state, '•')} <b>{name}</b> — {state}"
    if feed.failures:
        head += f" ×{feed.failures}"
    lines = [head]
    if feed.title:
        lines.append(f"   {escape(feed.url)}")
    if feed.last_success is None:
        lines.append("   last success: never")
    else:
        success = f"{stamp(feed.last_success)} ({relative(feed.last_success, now)})"
        lines.append(f"   last success: {escape(success)}")
    if feed.last_error:
        error = escape(truncate_words(feed.last_error, 200))
        kind = escape(feed.kind_label or "other")
        lines.append(f"   last error ({kind}): {error} ({relative(feed.last_error_at, now)})")
    if state in (Health.PAUSED, Health.GONE):
        lines.append("   next try: not scheduled (fix or remove the feed)")
    else:
        next_try = f"{stamp(feed.next_fetch)} ({relative(feed.next_fetch, now)})"
        lines.append(f"   next try: {escape(next_try)}")
    return "\n".join(lines)


def render_feeds(
    feeds: Sequence[FeedHealth], now: datetime, stale_after: timedelta = timedelta(hours=24)
) -> list[str]:
    """Failing, stale and never-fetched feeds in detail; healthy feeds in one line."""
    shown = [f for f in feeds if f.status is not FeedStatus.REMOVED]
    if not shown:
        return ["No feeds yet: the first cycle has not run."]
    states = [(f, classify(f, now, stale_after)) for f in shown]
    healthy = [f for f, s in states if s is Health.HEALTHY]
    problems = [(f, s) for f, s in states if s is not Health.HEALTHY]
    order = {Health.GONE: 0, Health.PAUSED: 1, Health.FAILING: 2, Health.STALE: 3, Health.NEW: 4}
    failing = [(f.error_kind, f.last_status) for f, s in problems if f.last_error]
    by_kind = count_by_kind(failing)
    rank = {label: i for i, (label, _) in enumerate(by_kind)}
    # Within a state, feeds failing alike are together, the most common kind first.
    problems.sort(
        key=lambda fs: (
            order.get(fs[1], 9),
            rank.get(fs[0].kind_label or "", len(rank)),
            -fs[0].failures,
            fs[0].name,
        )
    )
    counts: dict[Health, int] = {}
    for _, state in states:
        counts[state] = counts.get(state, 0) + 1
    summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items(), key=lambda kv: -kv[1]))
    header = f"<b>Feeds</b>: {len(shown)} ({summary})"
    if by_kind:
        header += f"\nFailing by kind: {escape(describe_counts(by_kind))}"
    if healthy:
        latest = max((f.last_success for f in healthy if f.last_success), default=None)
        hours = int(stale_after.total_seconds() // 3600)
        header += (
            f"\n✅ {len(healthy)} healthy, fetched within {hours}h"
            f" (latest success {relative(latest, now)})"
        )
    return paginate((_feed_block(f, s, now) for f, s in problems), header=header, sep="\n\n")


def feeds_text(feeds: Sequence[FeedHealth], now: datetime, stale_after: timedelta) -> str:
    """Every feed with its health, one line each, for the command line."""
    lines = []
    for feed in sorted(feeds, key=lambda f: f.url):
        state = classify(feed, now, stale_after)
        parts = [
            f"{state:8}",
            feed.url,
            f"last success {stamp(feed.last_success)}",
            f"next {stamp(feed.next_fetch)}",
        ]
        if feed.failures:
            parts.append(f"failures {feed.failures}")
        if feed.last_error:
            parts.append(f"error ({feed.kind_label}): {feed.last_error}")
        lines.append("  ".join(parts))
    return "\n".join(lines)


# ----- watchlist, story, mutes, help ------------------------------------------------------
def render_watchlist(files: Sequence[tuple[str, Sequence[str]]], version: str) -> list[str]:
    """The entities in force, by file, and the version loaded."""
    total = sum(len(names) for _, names in files)
    header = f"<b>Watchlist</b> version <code>{escape(version)}</code>: {total} entities"
    blocks = [
        f"<b>{escape(path)}</b> ({len(names)}): {escape(', '.join(names)) or 'no entity'}"
        for path, names in files
    ]
    return paginate(blocks, header=header, sep="\n\n")


def render_story(
    story: StoryRecord, alerts: Sequence[AlertLine], web_url: str | None = None
) -> list[str]:
    """Every outlet that reported a story, first reporter first, with its link and time.

    ``web_url``: the story's page in the web archive, linked under the header when given.
    """
    title = escape(truncate_words(story.title or "(untitled)", TITLE_LIMIT))
    outlets = list(story.outlets)
    for line in alerts:
        for name in (line.source, *line.sources):
            if name and name not in outlets:
                outlets.append(name)
    header = (
        f"<b>Story {story.id}</b>: {title}\n"
        f"first seen {escape(stamp(story.created_at))}; "
        f"{len(outlets)} outlet(s): {escape(', '.join(outlets))}"
    )
    if web_url:
        header += f'\n<a href="{escape(web_url)}">Open in the web archive</a>'
    return paginate((report_block(a) for a in alerts), header=header, sep="\n\n")


def report_block(line: AlertLine) -> str:
    """One report of a story: linked title, then outlet, language, time; other feeds that
    carried the same article follow on one line."""
    title = escape(truncate_words(line.title or "(untitled)", TITLE_LIMIT))
    head = f'<a href="{escape(line.link)}">{title}</a>' if line.link else f"<b>{title}</b>"
    meta = [
        f"<i>{escape(line.source)}</i>",
        escape(line.lang.upper() or "language ?"),
        escape(stamp(line.when)),
    ]
    block = f"• {head}\n   " + " · ".join(meta)
    others = [s for s in line.sources if s and s != line.source]
    if others:
        block += f"\n   same article also in: {escape(', '.join(others))}"
    return block


@dataclass(frozen=True, slots=True)
class MuteLine:
    kind: str
    value: str
    until: datetime | None


def render_mutes(mutes: Sequence[MuteLine], now: datetime) -> str:
    if not mutes:
        return "Nothing is muted in this chat."
    lines = ["<b>Muted in this chat</b> (still stored and searchable, not sent):"]
    for mute in mutes:
        until = f"until {stamp(mute.until)} ({relative(mute.until, now)})" if mute.until else ""
        lines.append(f"• {escape(mute.kind)} <b>{escape(mute.value)}</b> {escape(until)}".rstrip())
    return "\n".join(lines)


def render_help(watched: Sequence[str], commands: Sequence[tuple[str, str, str]]) -> str:
    """What the bot watches, and the commands as ``(name, arguments, description)``."""
    names = ", ".join(escape(n) for n in watched) or "nothing yet"
    lines = [
        "<b>newswatch</b> sends one alert per news story that mentions what you watch.",
        f"Watching: {names}",
        "",
    ]
    for name, args, description in commands:
        usage = f"/{name} {escape(args)}".rstrip()
        lines.append(f"{usage}: {escape(description)}")
    return _fit("\n".join(lines), MAX_MESSAGE_UTF16)


# ----- export -----------------------------------------------------------------------------
def alerts_csv(rows: Iterable[AlertRecord]) -> str:
    """Alerts as CSV (header row first); list fields become ``a; b`` text
    (``AlertRecord.as_csv_row``), formulas in feed text are neutralised (``csv_cell``)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    for row in rows:
        writer.writerow(["" if value is None else csv_cell(value) for value in row.as_csv_row()])
    return out.getvalue()


# A cell starting with one of these is a formula to a spreadsheet (OWASP "CSV injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """Neutralise a spreadsheet formula from feed text (``=HYPERLINK(…)``, ``+cmd|…``,
    ``@SUM(…)``): such a text cell gets a leading ``'``, as OWASP advises. Numbers are kept.
    A bare CR becomes a space: the writer (``\n`` line ends) would not quote it, and
    spreadsheets end a row there."""
    if not isinstance(value, str):
        return value
    if value.startswith(_FORMULA_START):
        value = "'" + value
    return value.replace("\r\n", "\n").replace("\r", " ")
