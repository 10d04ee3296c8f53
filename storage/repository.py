"""All reads and writes of newswatch's tables: feeds, items, stories, alerts and the outbox."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlite_utils import Database

from bot.core.models import FeedSpec
from storage.transactions import transaction

_IN_CHUNK = 500  # keys per "IN (…)" query, well under SQLite's variable limit


def iso(moment: datetime | None) -> str | None:
    """The one timestamp format stored: ISO 8601 in UTC, seconds precision."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def parse_iso(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value)


@dataclass(frozen=True, slots=True)
class NewItem:
    """An unseen item to remember, with the alert it produced (if any)."""

    key: str
    canonical_url: str | None
    feed_url: str
    title: str
    link: str | None
    published: datetime | None
    alert: AlertDraft | None = None


@dataclass(frozen=True, slots=True)
class AlertDraft:
    """An alert about to be stored. ``story_id`` None starts a new story."""

    source: str
    title: str
    link: str | None
    summary: str
    published: datetime | None
    entities: tuple[str, ...]
    matches: tuple[dict[str, str], ...]
    priority: str
    chats: tuple[tuple[int | str, int | None], ...]  # (chat id or @channel, forum topic)
    story_id: int | None = None
    story_fingerprint: str | None = None


@dataclass(frozen=True, slots=True)
class StoredAlert:
    alert_id: int
    story_id: int
    new_story: bool


class Repository:
    """Typed access to the database. Every multi-row write is one transaction."""

    def __init__(self, db: Database):
        self.db = db

    # ----- feeds -------------------------------------------------------------------------
    def sync_feeds(self, specs: Sequence[FeedSpec], now: datetime) -> None:
        """Insert feeds not yet known; refresh titles/origins; keep all stored state."""
        with transaction(self.db):
            self.db.conn.executemany(
                "INSERT INTO feeds (url, title, origin, status, created_at, consecutive_failures,"
                " items_total) VALUES (?, ?, ?, 'active', ?, 0, 0) ON CONFLICT(url) DO UPDATE SET"
                " origin = excluded.origin,"
                " title = COALESCE(feeds.title, excluded.title),"
                " status = CASE WHEN feeds.status = 'removed' THEN 'active' ELSE feeds.status END",
                [(s.url, s.title, s.origin, iso(now)) for s in specs],
            )
            urls = [s.url for s in specs]
            if urls:
                marks = ",".join("?" * len(urls))
                self.db.execute(
                    f"UPDATE feeds SET status = 'removed' WHERE status = 'active'"
                    f" AND url NOT IN ({marks})",
                    urls,
                )

    def feed_states(self, urls: Iterable[str] | None = None) -> dict[str, dict[str, Any]]:
        if urls is None:
            rows = self.db.execute_returning_dicts("SELECT * FROM feeds ORDER BY url")
            return {row["url"]: row for row in rows}
        result: dict[str, dict[str, Any]] = {}
        for chunk in _chunks(list(urls)):
            marks = ",".join("?" * len(chunk))
            for row in self.db.execute_returning_dicts(
                f"SELECT * FROM feeds WHERE url IN ({marks})", chunk
            ):
                result[row["url"]] = row
        return result

    def update_feed(self, url: str, **fields: Any) -> None:
        with transaction(self.db):
            self._update_feed(url, fields)

    def _update_feed(self, url: str, fields: dict[str, Any]) -> None:
        if not fields:
            return
        values = [iso(v) if isinstance(v, datetime) else v for v in fields.values()]
        assignments = ", ".join(f"[{name}] = ?" for name in fields)
        self.db.execute(f"UPDATE feeds SET {assignments} WHERE url = ?", [*values, url])

    # ----- items and alerts --------------------------------------------------------------
    def unseen_keys(self, keys: Sequence[str]) -> set[str]:
        """The subset of ``keys`` never stored before (one query per 500 keys)."""
        seen: set[str] = set()
        for chunk in _chunks(list(dict.fromkeys(keys))):
            marks = ",".join("?" * len(chunk))
            seen.update(
                row[0]
                for row in self.db.execute(f"SELECT key FROM items WHERE key IN ({marks})", chunk)
            )
        return set(keys) - seen

    def items_by_canonical_url(self, urls: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Known items (with their alert, if any) for canonical URLs, e.g. seen via another feed."""
        result: dict[str, dict[str, Any]] = {}
        for chunk in _chunks([u for u in dict.fromkeys(urls) if u]):
            marks = ",".join("?" * len(chunk))
            for row in self.db.execute_returning_dicts(
                f"SELECT key, canonical_url, alert_id, feed_url FROM items"
                f" WHERE canonical_url IN ({marks})",
                chunk,
            ):
                result.setdefault(row["canonical_url"], row)
        return result

    def store_feed_items(
        self,
        url: str,
        items: Sequence[NewItem],
        now: datetime,
        feed_fields: dict[str, Any],
        also_seen: Sequence[tuple[int, str]] = (),
    ) -> list[StoredAlert]:
        """Remember items, store their alerts and outbox rows, and update the feed, atomically.

        ``also_seen`` is (alert_id, source) for items already alerted through another feed:
        the source is added to that alert's ``sources``.
        """
        stored: list[StoredAlert] = []
        with transaction(self.db):
            for item in items:
                alert_id = None
                if item.alert is not None:
                    result = self._insert_alert(item, item.alert, now)
                    stored.append(result)
                    alert_id = result.alert_id
                self.db.execute(
                    "INSERT OR IGNORE INTO items (key, canonical_url, feed_url, title, link,"
                    " published_at, first_seen_at, alert_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        item.key,
                        item.canonical_url,
                        item.feed_url,
                        item.title,
                        item.link,
                        iso(item.published),
                        iso(now),
                        alert_id,
                    ],
                )
            for alert_id, source in also_seen:
                self._add_source(alert_id, source)
            self._update_feed(url, dict(feed_fields))
            self.db.execute(
                "UPDATE feeds SET items_total = COALESCE(items_total, 0) + ? WHERE url = ?",
                [len(items), url],
            )
        return stored

    def _insert_alert(self, item: NewItem, alert: AlertDraft, now: datetime) -> StoredAlert:
        new_story = alert.story_id is None
        story_id = alert.story_id
        if story_id is None:
            cursor = self.db.execute(
                "INSERT INTO stories (title, created_at, updated_at, fingerprint, outlets,"
                " edited_outlets) VALUES (?, ?, ?, ?, ?, 1)",
                [
                    alert.title,
                    iso(now),
                    iso(now),
                    alert.story_fingerprint,
                    json.dumps([alert.source]),
                ],
            )
            story_id = int(cursor.lastrowid or 0)
        else:
            row = self.db.execute("SELECT outlets FROM stories WHERE id = ?", [story_id]).fetchone()
            outlets = json.loads(row[0]) if row and row[0] else []
            if alert.source not in outlets:
                outlets.append(alert.source)
            self.db.execute(
                "UPDATE stories SET outlets = ?, updated_at = ? WHERE id = ?",
                [json.dumps(outlets), iso(now), story_id],
            )
        cursor = self.db.execute(
            "INSERT INTO alerts (item_key, story_id, feed_url, source, sources, title, link,"
            " summary, published_at, created_at, entities, matches, priority, delivered)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                item.key,
                story_id,
                item.feed_url,
                alert.source,
                json.dumps([alert.source]),
                alert.title,
                alert.link,
                alert.summary,
                iso(alert.published),
                iso(now),
                json.dumps(list(alert.entities), ensure_ascii=False),
                json.dumps(list(alert.matches), ensure_ascii=False),
                alert.priority,
                1 if new_story else 0,
            ],
        )
        alert_id = int(cursor.lastrowid or 0)
        if new_story:
            self.db.execute(
                "UPDATE stories SET first_alert_id = ? WHERE id = ?", [alert_id, story_id]
            )
            self.db.conn.executemany(
                "INSERT OR IGNORE INTO deliveries (alert_id, chat_id, thread_id, kind, status,"
                " attempts, created_at, updated_at) VALUES (?, ?, ?, 'alert', 'pending', 0, ?, ?)",
                [(alert_id, chat, thread, iso(now), iso(now)) for chat, thread in alert.chats],
            )
        return StoredAlert(alert_id=alert_id, story_id=story_id, new_story=new_story)

    def _add_source(self, alert_id: int, source: str) -> None:
        row = self.db.execute("SELECT sources FROM alerts WHERE id = ?", [alert_id]).fetchone()
        if not row:
            return
        sources = json.loads(row[0]) if row[0] else []
        if source not in sources:
            sources.append(source)
            self.db.execute(
                "UPDATE alerts SET sources = ? WHERE id = ?", [json.dumps(sources), alert_id]
            )

    def recent_story_fingerprints(self, since: datetime) -> list[tuple[int, str, str]]:
        """(story_id, created_at, fingerprint) of stories started since ``since``."""
        return [
            (int(r[0]), r[1], r[2])
            for r in self.db.execute(
                "SELECT id, created_at, fingerprint FROM stories WHERE created_at >= ?"
                " AND fingerprint IS NOT NULL ORDER BY id",
                [iso(since)],
            )
        ]

    def alerts_by_ids(self, ids: Sequence[int]) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for chunk in _chunks([str(i) for i in ids]):
            marks = ",".join("?" * len(chunk))
            rows.extend(
                self.db.execute_returning_dicts(
                    f"SELECT * FROM alerts WHERE id IN ({marks}) ORDER BY id", chunk
                )
            )
        return rows

    # ----- outbox ------------------------------------------------------------------------
    def pending_deliveries(self, now: datetime, limit: int = 1000) -> list[dict[str, Any]]:
        return self.db.execute_returning_dicts(
            "SELECT d.id AS delivery_id, d.chat_id, d.thread_id, d.kind, d.attempts,"
            " d.payload, a.* FROM deliveries d LEFT JOIN alerts a ON a.id = d.alert_id"
            " LEFT JOIN chats c ON c.chat_id = d.chat_id"
            " WHERE d.status = 'pending' AND (d.not_before IS NULL OR d.not_before <= ?)"
            " AND COALESCE(c.active, 1) = 1 ORDER BY d.id LIMIT ?",
            [iso(now), limit],
        )

    def pending_count(self) -> int:
        row = self.db.execute("SELECT count(*) FROM deliveries WHERE status = 'pending'").fetchone()
        return int(row[0])

    def mark_sent(self, delivery_id: int, message_id: int | None, now: datetime) -> None:
        with transaction(self.db):
            self.db.execute(
                "UPDATE deliveries SET status = 'sent', message_id = ?, updated_at = ?,"
                " attempts = attempts + 1, last_error = NULL WHERE id = ?",
                [message_id, iso(now), delivery_id],
            )

    def mark_failed(self, delivery_id: int, reason: str, now: datetime) -> None:
        with transaction(self.db):
            self.db.execute(
                "UPDATE deliveries SET status = 'failed', last_error = ?, updated_at = ?,"
                " attempts = attempts + 1 WHERE id = ?",
                [reason, iso(now), delivery_id],
            )

    def mark_retry(
        self, delivery_id: int, reason: str, not_before: datetime, now: datetime
    ) -> None:
        with transaction(self.db):
            self.db.execute(
                "UPDATE deliveries SET last_error = ?, not_before = ?, updated_at = ?,"
                " attempts = attempts + 1 WHERE id = ?",
                [reason, iso(not_before), iso(now), delivery_id],
            )

    # ----- chats -------------------------------------------------------------------------
    def deactivate_chat(self, chat_id: int | str, reason: str, now: datetime) -> None:
        with transaction(self.db):
            self.db.execute(
                "INSERT INTO chats (chat_id, active, added_at, deactivated_at, deactivated_reason)"
                " VALUES (?, 0, ?, ?, ?) ON CONFLICT(chat_id) DO UPDATE SET active = 0,"
                " deactivated_at = excluded.deactivated_at,"
                " deactivated_reason = excluded.deactivated_reason",
                [chat_id, iso(now), iso(now), reason],
            )

    def migrate_chat(self, old_id: int | str, new_id: int) -> None:
        """Follow a group upgraded to a supergroup: pending rows and the chat record move."""
        with transaction(self.db):
            self.db.execute(
                "UPDATE deliveries SET chat_id = ? WHERE chat_id = ? AND status = 'pending'",
                [new_id, old_id],
            )
            self.db.execute(
                "INSERT INTO chats (chat_id, active) VALUES (?, 1) ON CONFLICT(chat_id) DO NOTHING",
                [new_id],
            )
            self.db.execute(
                "UPDATE chats SET active = 0, deactivated_reason = ? WHERE chat_id = ?",
                [f"migrated to {new_id}", old_id],
            )

    def inactive_chats(self) -> set[int]:
        return {int(r[0]) for r in self.db.execute("SELECT chat_id FROM chats WHERE active = 0")}


def _chunks(values: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(values), _IN_CHUNK):
        yield values[start : start + _IN_CHUNK]
