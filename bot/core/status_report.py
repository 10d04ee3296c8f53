"""Render the health/status report (uptime, last cycle, queue, failing feeds, database size)."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.core.failures import count_by_kind, describe_counts
from bot.core.feed_state import FeedStatus
from bot.core.records import CycleRecord, FailingFeed, InactiveChat

MAX_FAILING_SHOWN = 10
MAX_ERROR_CHARS = 120


@dataclass(frozen=True, slots=True)
class StatusReport:
    """Everything `main.py status` and /health show; built by bot.app.status from storage."""

    now: datetime
    db_path: str
    db_bytes: int
    pending: int
    feeds: dict[FeedStatus, int] = field(default_factory=dict)  # feeds per status
    failing: tuple[FailingFeed, ...] = ()
    last_cycle: CycleRecord | None = None
    running: bool | None = None  # None: unknown (no lock file)
    pid: int | None = None
    command: str | None = None
    started_at: datetime | None = None
    pending_notices: int = 0  # admin notices Telegram has not taken yet
    inactive_chats: tuple[InactiveChat, ...] = ()

    @property
    def healthy(self) -> bool:
        return (
            not any(f.status is not FeedStatus.ACTIVE for f in self.failing)
            and self.pending < 100
            and not self.inactive_chats
        )


def human_duration(seconds: float) -> str:
    seconds = int(max(0, seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def human_bytes(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def _stamp(moment: datetime | None) -> str:
    """A stored time as it is stored (ISO 8601, UTC, seconds); ``?`` when unknown."""
    return moment.astimezone(UTC).isoformat(timespec="seconds") if moment else "?"


def _lines(report: StatusReport, esc: Any, bold: Any) -> list[str]:
    lines = [bold("newswatch status")]
    if report.running is None:
        lines.append("service: no instance information")
    elif report.running:
        up = (
            human_duration((report.now - report.started_at).total_seconds())
            if report.started_at
            else "?"
        )
        lines.append(f"service: running (pid {report.pid}, {esc(report.command or '?')}, up {up})")
    else:
        lines.append("service: not running")
    cycle = report.last_cycle
    if cycle:
        ago = ""
        started = cycle.started_at
        if started:
            ago = f" ({human_duration((report.now - started).total_seconds())} ago)"
        lines.append(
            f"last cycle: {esc(_stamp(started))}{ago}: {cycle.feeds_due} feeds due,"
            f" {cycle.fetched} fetched, {cycle.not_modified} not modified"
            f" (304), {cycle.errors} errors, {cycle.items_new} new items,"
            f" {cycle.alerts} alerts, {cycle.duration:.1f}s"
        )
    else:
        lines.append("last cycle: none yet")
    queue = f"queue: {report.pending} pending deliveries"
    if report.pending_notices:
        queue += f", {report.pending_notices} admin notice(s) not delivered yet"
    lines.append(queue)
    counts = ", ".join(f"{n} {s.value}" for s, n in sorted(report.feeds.items())) or "none"
    lines.append(f"feeds: {counts}")
    if report.failing:
        by_kind = count_by_kind((f.kind, f.http_status) for f in report.failing)
        lines.append(f"failing feeds ({len(report.failing)}): {esc(describe_counts(by_kind))}")
        rank = {label: i for i, (label, _) in enumerate(by_kind)}
        # Grouped by kind, the most common kind first; the worst feeds first within a kind.
        shown = sorted(report.failing, key=lambda f: rank.get(f.kind_label, len(rank)))
        current = None
        for feed in shown[:MAX_FAILING_SHOWN]:
            if feed.kind_label != current:
                current = feed.kind_label
                lines.append(f"  {esc(current)}:")
            error = (feed.last_error or "").replace("\n", " ")
            if len(error) > MAX_ERROR_CHARS:
                error = error[: MAX_ERROR_CHARS - 1] + "…"
            lines.append(
                f"  - {esc(feed.url)} [{feed.status}, {feed.failures} failures]: {esc(error)}"
            )
        if len(report.failing) > MAX_FAILING_SHOWN:
            lines.append(f"  … and {len(report.failing) - MAX_FAILING_SHOWN} more")
    else:
        lines.append("failing feeds: none")
    if report.inactive_chats:
        lines.append(f"inactive chats ({len(report.inactive_chats)}):")
        for chat in report.inactive_chats[:MAX_FAILING_SHOWN]:
            lines.append(
                f"  - {chat.chat_id}: {esc(chat.reason or 'deactivated')} since"
                f" {esc(_stamp(chat.since))}, {chat.pending} pending;"
                f" /retry chat {chat.chat_id} (or its user sends /start)"
            )
        if len(report.inactive_chats) > MAX_FAILING_SHOWN:
            lines.append(f"  … and {len(report.inactive_chats) - MAX_FAILING_SHOWN} more")
    lines.append(f"database: {human_bytes(report.db_bytes)} ({esc(report.db_path)})")
    return lines


def render_text(report: StatusReport) -> str:
    """Plain text for the terminal (`main.py status`)."""
    return "\n".join(_lines(report, lambda s: str(s), lambda s: s))


def render_html(report: StatusReport) -> str:
    """Telegram HTML for /health: every value from feeds or storage is escaped."""
    return "\n".join(
        _lines(report, lambda s: html.escape(str(s), quote=False), lambda s: f"<b>{s}</b>")
    )
