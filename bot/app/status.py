"""Collect the status report (for `main.py status` and /health) from storage and the lock file."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bot.app.instance_lock import database_lock_path, is_held, read_holder
from bot.core.status_report import StatusReport
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
    return StatusReport(
        inactive_chats=tuple(maintenance.inactive_chats(db)),
        now=now,
        db_path=str(db_path),
        db_bytes=maintenance.database_size(db_path) if str(db_path) != ":memory:" else 0,
        pending=maintenance.pending_delivery_count(db),
        pending_notices=maintenance.pending_notice_count(db),
        feeds=maintenance.feed_counts(db),
        failing=tuple(maintenance.failing_feeds(db)),
        last_cycle=maintenance.last_cycle(db),
        running=running,
        pid=pid,
        command=command,
        started_at=started_at,
    )
