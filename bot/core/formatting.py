"""Render alerts as Telegram HTML messages within Telegram's limits (UTF-16 length)."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.core.records import Priority
from bot.core.text import TAG, truncate_words

MAX_MESSAGE_UTF16 = 4096
SUMMARY_LIMIT = 300
TITLE_LIMIT = 1000  # characters of title shown; the parser caps titles at the same length
PRIORITY_MARKERS = {Priority.URGENT: "🚨", Priority.NORMAL: "🔔", Priority.DIGEST: "🗞"}


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def escape(text: str) -> str:
    """Escape plain text for Telegram HTML (only &, <, > and quotes need it)."""
    return html.escape(text, quote=True)


@dataclass(frozen=True, slots=True)
class Report:
    """Another outlet's report of the story an alert opened: its name and its link."""

    outlet: str
    link: str | None = None


@dataclass(frozen=True, slots=True)
class AlertView:
    """What an alert message shows. All strings are plain text."""

    title: str
    link: str | None
    source: str
    published: datetime | None
    summary: str
    entities: tuple[str, ...]
    aliases: tuple[str, ...]
    priority: Priority = Priority.NORMAL
    also_reported_by: tuple[Report, ...] = ()  # other outlets of the story, first first
    story_id: int | None = None
    incident: str = ""  # "⚔️ Battle · 12 killed · Boulkessi (Mopti)", or "" for other news
    arrived: datetime | None = None  # when it was stored: the time of an undated item

    @property
    def when(self) -> datetime | None:
        """The alert's time, as lists and digests show it (see :func:`alert_time`)."""
        return alert_time(self.published, self.arrived)

    @property
    def outlet_count(self) -> int:
        """Outlets that reported the story, this one included."""
        return 1 + len({r.outlet for r in self.also_reported_by if r.outlet != self.source})


def alert_time(published: datetime | None, arrived: datetime | None) -> datetime | None:
    """An alert's time: its publication time, falling back to its arrival (storage) time.

    A publication time later than the arrival (a feed's clock or time zone is wrong) counts
    as the arrival. ``storage.queries.WHEN_SQL`` is the same rule in SQL.
    """
    if published is None:
        return arrived
    if arrived is None:
        return published
    return min(published, arrived)


def _time_line(published: datetime | None, zone: ZoneInfo) -> str:
    if published is None:
        return "time not given by the feed"
    utc = published.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    local = published.astimezone(zone)
    label = zone.key.split("/")[-1].replace("_", " ")
    return f"{utc} · {local:%H:%M} {label}"


def render_alert(view: AlertView, timezone: str = "Africa/Bamako", max_also: int = 5) -> str:
    """The HTML text of one alert, always ≤ 4096 UTF-16 units and valid for Telegram."""
    zone = ZoneInfo(timezone)
    marker = PRIORITY_MARKERS[view.priority]
    entities = ", ".join(f"<b>{escape(e)}</b>" for e in view.entities) or "<b>match</b>"
    title = truncate_words(view.title or "(untitled)", TITLE_LIMIT)
    lines = [
        f"{marker} {entities}",
        _headline(title, view.link),
        f"<i>{escape(view.source)}</i> · {escape(_time_line(view.published, zone))}",
        *([f"<b>{escape(view.incident)}</b>"] if view.incident else []),
    ]
    if view.also_reported_by:
        shown = view.also_reported_by[:max_also]
        extra = len(view.also_reported_by) - len(shown)
        suffix = f" (+{extra})" if extra > 0 else ""
        lines.append(f"also reported by: {', '.join(map(_report_link, shown))}{suffix}")
    footer = f"matched: {escape(', '.join(view.aliases))}" if view.aliases else ""
    head = "\n".join(lines)
    summary = truncate_words(view.summary, SUMMARY_LIMIT) if view.summary else ""
    text = _assemble(head, summary, footer)
    while utf16_len(text) > MAX_MESSAGE_UTF16 and summary:
        summary = truncate_words(summary, max(0, len(summary) // 2))
        text = _assemble(head, summary, footer)
    # Absurd titles, sources or entity lists: a short form, which still keeps the link.
    limit = 200
    while utf16_len(text) > MAX_MESSAGE_UTF16 and limit >= 10:
        names = escape(truncate_words(", ".join(view.entities) or "match", limit))
        text = f"{marker} <b>{names}</b>\n{_headline(truncate_words(title, limit), view.link)}"
        limit //= 2
    return text


def _headline(title: str, link: str | None) -> str:
    """The title, as a link to the article when there is one (an alert always keeps it)."""
    if link:
        return f'<a href="{escape(link)}">{escape(title)}</a>'
    return f"<b>{escape(title)}</b>"


def _report_link(report: Report) -> str:
    name = escape(truncate_words(report.outlet, 80))
    return f'<a href="{escape(report.link)}">{name}</a>' if report.link else name


def _assemble(head: str, summary: str, footer: str) -> str:
    parts = [head]
    if summary:
        parts.append(escape(summary))
    if footer:
        parts.append(footer)
    return "\n\n".join(parts)


def render_plain(html_text: str) -> str:
    """A plain-text fallback of a rendered message (for a 400 "can't parse entities").

    Our own markup is the only markup in a rendered message (feed text is escaped), so
    removing tags and unescaping once gives back exactly the text, within 4096 units.
    """
    return cut_utf16(html.unescape(TAG.sub("", html_text)), MAX_MESSAGE_UTF16)


def cut_utf16(text: str, limit: int, ellipsis: str = "…") -> str:
    """Cut ``text`` to at most ``limit`` UTF-16 units, never splitting a surrogate pair."""
    if utf16_len(text) <= limit:
        return text
    budget = limit - utf16_len(ellipsis)
    out: list[str] = []
    used = 0
    for ch in text:
        size = 2 if ord(ch) > 0xFFFF else 1
        if used + size > budget:
            break
        out.append(ch)
        used += size
    return "".join(out) + ellipsis


DIGEST_LINE_TITLE = 200
DIGEST_LINE_ENTITIES = 5


def render_digest(views: Sequence[AlertView], header: str) -> list[str]:
    """A digest: one line per story (linked title + entities), split to fit 4096 units.

    Every part of the split is valid HTML on its own (lines are never cut in the middle);
    the parts after the first repeat the header with their position ("2/3").
    """
    lines = [_digest_line(view) for view in views]
    messages: list[list[str]] = [[]]
    size = 0
    room = MAX_MESSAGE_UTF16 - utf16_len(escape(header)) - 16  # " (12/12)" and newlines
    for line in lines:
        cost = utf16_len(line) + 1
        if messages[-1] and size + cost > room:
            messages.append([])
            size = 0
        messages[-1].append(line)
        size += cost
    total = len(messages)
    out = []
    for number, part in enumerate(messages, start=1):
        head = escape(header) if total == 1 else f"{escape(header)} ({number}/{total})"
        out.append("\n".join([f"<b>{head}</b>", *part]))
    return out


def _digest_line(view: AlertView) -> str:
    marker = "🚨 " if view.priority is Priority.URGENT else ""
    title = escape(truncate_words(view.title or "(untitled)", DIGEST_LINE_TITLE))
    link = f'<a href="{escape(view.link)}">{title}</a>' if view.link else title
    shown = view.entities[:DIGEST_LINE_ENTITIES]
    more = len(view.entities) - len(shown)
    ents = ", ".join(escape(truncate_words(e, 60)) for e in shown) + (f" +{more}" if more else "")
    source = escape(truncate_words(view.source, 80))
    count = view.outlet_count
    outlets = f" · {count} outlets" if count > 1 else ""
    when = view.when
    stamp = f"{when.astimezone(UTC):%m-%d %H:%M} UTC · " if when is not None else ""
    return f"• {marker}{link} — <b>{ents or 'match'}</b> <i>({stamp}{source}{outlets})</i>"
