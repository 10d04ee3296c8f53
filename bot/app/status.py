"""Collect the status report (for `main.py status` and /health) from storage and the lock file."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bot.app.instance_lock import database_lock_path, is_held, read_holder
from bot.core.status_report import FailingFeed, InactiveChat, StatusReport
from storage import maintenance
from storage.sqlite_utils_loader import Database


def collect_status(
    db: Database,
    db_path: str | Path,
    *,
    now: datetime | None = None,
    started_at: datetime | None = None,
    pid: int | None = None,
    command: str | None = None,
) -> StatusReport:
    """Build the report. Inside the running service pass ``started_at``/``pid``/``command``;
    from the CLI they come from the instance lock file (when a poller holds it)."""
    now = now or datetime.now(UTC)
    running: bool | None = True if started_at is not None else None
    if started_at is None and str(db_path) != ":memory:":
        lock = database_lock_path(db_path)
        running = is_held(lock)
        holder = read_holder(lock) if running else None
        if holder:
            pid = holder.get("pid")
            command = holder.get("command")
            try:
                started_at = datetime.fromisoformat(str(holder.get("started_at")))
            except ValueError:
                started_at = None
    failing = tuple(
        FailingFeed(
            url=str(row["url"]),
            status=str(row["status"]),
            failures=int(row["consecutive_failures"] or 0),
            last_error=row["last_error"],
            next_fetch_at=row["next_fetch_at"],
            kind=row["last_error_kind"],
            http_status=row["last_status"] if isinstance(row["last_status"], int) else None,
        )
        for row in maintenance.failing_feeds(db)
    )
    inactive = tuple(
        InactiveChat(
            chat_id=int(row["chat_id"]),
            reason=row["deactivated_reason"],
            since=row["deactivated_at"],
            pending=int(row["pending"] or 0),
        )
        for row in maintenance.inactive_chats(db)
    )
    return StatusReport(
        inactive_chats=inactive,
        now=now,
        db_path=str(db_path),
        db_bytes=maintenance.database_size(db_path) if str(db_path) != ":memory:" else 0,
        pending=maintenance.pending_delivery_count(db),
        pending_notices=maintenance.pending_notice_count(db),
        feeds=maintenance.feed_counts(db),
        failing=failing,
        last_cycle=maintenance.last_cycle(db),
        running=running,
        pid=pid,
        command=command,
        started_at=started_at,
    )
