"""Database upkeep: retention pruning, the cycle log, status queries, size, integrity, backup."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from bot.core.feed_state import FeedStatus
from bot.core.models import CycleReport
from bot.core.records import (
    CycleRecord,
    DeliveryStatus,
    FailingFeed,
    InactiveChat,
    NoticeStatus,
    error_kind,
    feed_status,
)
from storage.columns import parse_iso
from storage.repository import iso
from storage.sqlite_utils_loader import Database
from storage.transactions import transaction

LIVE_FEED_STATUSES = (FeedStatus.ACTIVE, FeedStatus.PAUSED)


def _iso(moment: datetime) -> str:
    return iso(moment) or ""


@dataclass(frozen=True, slots=True)
class PruneReport:
    """How many rows one pruning pass deleted, per table."""

    alerts: int = 0
    deliveries: int = 0
    stories: int = 0
    items: int = 0
    cycles: int = 0
    signatures: int = 0  # stored story signatures older than the story window

    def summary(self) -> str:
        return (
            f"retention: pruned alerts={self.alerts} deliveries={self.deliveries}"
            f" stories={self.stories} items={self.items} cycles={self.cycles}"
            f" story_signatures={self.signatures}"
        )


def prune(
    db: Database, now: datetime, retention_days: int, story_window: timedelta | None = None
) -> PruneReport:
    """Delete alerts, deliveries, stories and cycle rows older than ``retention_days``, and
    the stored story signatures of alerts older than ``story_window`` (nothing re-indexes them:
    `run` re-indexes only at start, so without this they would stay as long as their alerts).

    Item keys (the dedup memory) go only when they are older than the cutoff *and* every live
    feed (active or paused) has had a body parsed since the item was last seen in any feed:
    then no feed still carries it, and it cannot come back and alert again. Feeds are never
    pruned (their rows hold the conditional-GET and backoff state).
    """
    cutoff = _iso(now - timedelta(days=retention_days))
    with transaction(db):
        signatures = 0
        if story_window is not None:
            signatures = db.execute(
                "DELETE FROM story_signatures WHERE alert_id IN"
                " (SELECT id FROM alerts WHERE created_at < ?)",
                [_iso(now - story_window)],
            ).rowcount
        old_alerts = "SELECT id FROM alerts WHERE created_at < ?"
        deliveries = db.execute(
            f"DELETE FROM deliveries WHERE alert_id IN ({old_alerts})", [cutoff]
        ).rowcount
        deliveries += db.execute(
            "DELETE FROM deliveries WHERE alert_id IS NULL AND created_at < ? AND status != ?",
            [cutoff, DeliveryStatus.PENDING],
        ).rowcount
        db.execute(f"UPDATE items SET alert_id = NULL WHERE alert_id IN ({old_alerts})", [cutoff])
        db.execute(
            f"UPDATE stories SET first_alert_id = NULL WHERE first_alert_id IN ({old_alerts})",
            [cutoff],
        )
        alerts = db.execute("DELETE FROM alerts WHERE created_at < ?", [cutoff]).rowcount
        stories = db.execute(
            "DELETE FROM stories WHERE updated_at < ?"
            " AND NOT EXISTS (SELECT 1 FROM alerts a WHERE a.story_id = stories.id)",
            [cutoff],
        ).rowcount
        marks = ",".join("?" * len(LIVE_FEED_STATUSES))
        row = db.execute(
            f"SELECT min(COALESCE(items_seen_at, '')) FROM feeds WHERE status IN ({marks})"
            " AND first_success_at IS NOT NULL",
            list(LIVE_FEED_STATUSES),
        ).fetchone()
        floor = min(cutoff, row[0]) if row and row[0] is not None else cutoff
        items = db.execute(
            "DELETE FROM items WHERE COALESCE(last_seen_at, first_seen_at) < ?"
            " AND alert_id IS NULL",
            [floor],
        ).rowcount
        cycles = db.execute("DELETE FROM cycles WHERE started_at < ?", [cutoff]).rowcount
        # Weak matches (stored for search, never sent) are kept as long as alerts.
        db.execute("DELETE FROM weak_matches WHERE created_at < ?", [cutoff])
        # Sent or failed admin notices; a pending one waits for Telegram, whatever its age.
        db.execute(
            "DELETE FROM admin_notices WHERE created_at < ? AND status != ?",
            [cutoff, NoticeStatus.PENDING],
        )
    return PruneReport(alerts, deliveries, stories, items, cycles, signatures)


def record_cycle(
    db: Database, started_at: datetime, finished_at: datetime, counts: CycleReport
) -> None:
    """Append one row to the cycle log: the counts of one cycle's report."""
    with transaction(db):
        db.execute(
            "INSERT INTO cycles (started_at, finished_at, feeds_due, fetched, not_modified,"
            " unchanged, errors, items_new, alerts, duration) VALUES (?,?,?,?,?,?,?,?,?,?)",
            [
                _iso(started_at),
                _iso(finished_at),
                counts.feeds_due,
                counts.fetched,
                counts.not_modified,
                counts.unchanged_body,
                counts.errors,
                counts.items_new,
                counts.alerts,
                round(float(counts.duration), 3),
            ],
        )


def _time(value: object) -> datetime | None:
    """A stored timestamp; None for NULL or text that is not ISO 8601 (shown as ``?``)."""
    try:
        return parse_iso(str(value)) if value else None
    except ValueError:
        return None


def last_cycle(db: Database) -> CycleRecord | None:
    """The latest row of the cycle log; None before the first cycle."""
    row = db.execute(
        "SELECT id, started_at, finished_at, feeds_due, fetched, not_modified, unchanged,"
        " errors, items_new, alerts, duration FROM cycles ORDER BY id DESC LIMIT 1"
    ).fetchone()
    if row is None:
        return None
    return CycleRecord(
        id=int(row[0]),
        started_at=_time(row[1]),
        finished_at=_time(row[2]),
        feeds_due=int(row[3] or 0),
        fetched=int(row[4] or 0),
        not_modified=int(row[5] or 0),
        unchanged=int(row[6] or 0),
        errors=int(row[7] or 0),
        items_new=int(row[8] or 0),
        alerts=int(row[9] or 0),
        duration=float(row[10] or 0),
    )


def failing_feeds(db: Database, limit: int = 50) -> list[FailingFeed]:
    """Feeds that failed their latest fetch, are paused or gone; worst first."""
    rows = db.execute(
        "SELECT url, status, consecutive_failures, last_error, last_error_kind, last_status,"
        " last_error_at, next_fetch_at, redirected_to FROM feeds"
        " WHERE status IN (?, ?, ?) AND (consecutive_failures > 0 OR status != ?)"
        " ORDER BY status = ?, consecutive_failures DESC, url LIMIT ?",
        [
            FeedStatus.ACTIVE,
            FeedStatus.PAUSED,
            FeedStatus.GONE,
            FeedStatus.ACTIVE,
            FeedStatus.ACTIVE,
            limit,
        ],
    ).fetchall()
    return [
        FailingFeed(
            url=str(url),
            status=feed_status(status),
            failures=int(failures or 0),
            last_error=None if error is None else str(error),
            next_fetch_at=_time(next_fetch_at),
            kind=error_kind(kind),
            http_status=http_status if isinstance(http_status, int) else None,
            last_error_at=_time(error_at),
            redirected_to=None if redirected is None else str(redirected),
        )
        for (
            url,
            status,
            failures,
            error,
            kind,
            http_status,
            error_at,
            next_fetch_at,
            redirected,
        ) in rows
    ]


def feed_counts(db: Database) -> dict[FeedStatus, int]:
    """Feeds per status (a status this version does not know counts as active, as a feed
    with it is read: ``records.feed_status``)."""
    counts: dict[FeedStatus, int] = {}
    for stored, count in db.execute("SELECT status, count(*) FROM feeds GROUP BY status"):
        status = feed_status(stored)
        counts[status] = counts.get(status, 0) + int(count)
    return counts


def pending_notice_count(db: Database) -> int:
    row = db.execute(
        "SELECT count(*) FROM admin_notices WHERE status = ?", [NoticeStatus.PENDING]
    ).fetchone()
    return int(row[0])


def pending_delivery_count(db: Database) -> int:
    row = db.execute(
        "SELECT count(*) FROM deliveries WHERE status = ?", [DeliveryStatus.PENDING]
    ).fetchone()
    return int(row[0])


def inactive_chats(db: Database) -> list[InactiveChat]:
    """Chats deactivated by an error (not migrated ones), with their pending deliveries."""
    rows = db.execute(
        "SELECT c.chat_id, c.deactivated_at, c.deactivated_reason,"
        " (SELECT count(*) FROM deliveries d WHERE d.chat_id = c.chat_id"
        "  AND d.status = ?) AS pending"
        " FROM chats c WHERE c.active = 0 AND c.migrated_to IS NULL ORDER BY c.chat_id",
        [DeliveryStatus.PENDING],
    ).fetchall()
    return [
        InactiveChat(
            chat_id=int(chat_id),
            reason=None if reason is None else str(reason),
            since=_time(since),
            pending=int(pending or 0),
        )
        for chat_id, since, reason, pending in rows
    ]


def database_size(path: str | Path) -> int:
    """Bytes on disk: the database file plus its WAL and shared-memory files."""
    total = 0
    for suffix in ("", "-wal", "-shm"):
        candidate = Path(f"{path}{suffix}")
        if candidate.is_file():
            total += candidate.stat().st_size
    return total


def integrity_check(db: Database) -> str:
    """``ok``, or SQLite's description of what is damaged."""
    rows = [str(r[0]) for r in db.execute("PRAGMA integrity_check")]
    return "\n".join(rows)


def backup(db: Database, destination: str | Path) -> Path:
    """A consistent copy of the live database (``VACUUM INTO``), safe while the bot runs."""
    target = Path(destination)
    if target.exists():
        raise FileExistsError(f"{target} already exists; VACUUM INTO will not overwrite it")
    target.parent.mkdir(parents=True, exist_ok=True)
    db.execute("VACUUM INTO ?", [str(target)])
    return target
