"""All reads and writes of newswatch's tables: feeds, items, stories, alerts and the outbox."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from bot.core.errors import FeedLookupError
from bot.core.incidents import merge_story_incident
from bot.core.models import FeedSpec, StoredAlert
from bot.core.story_edits import FIRST_MESSAGE_OUTLETS, StoryEditState, with_outlet
from bot.core.timestamps import parse_iso
from storage.sqlite_utils_loader import Database
from storage.transactions import transaction

_IN_CHUNK = 500  # keys per "IN (…)" query, well under SQLite's variable limit


def iso(moment: datetime | None) -> str | None:
    """The one timestamp format stored: ISO 8601 in UTC, seconds precision."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="seconds")


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
    weak: WeakDraft | None = None  # only weak matches (never with an alert)
    # The article or post behind the item across sources (bot.core.sources.article_key).
    article_key: str | None = None


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
    # A story started by an earlier draft of the same batch (feed body): the first draft with
    # this key starts the story, the next ones join it (story_id None on all of them).
    batch_story: int | None = None
    lang: str = ""  # ISO 639-1 code guessed from the text, "" when unknown
    # Incident fields (bot.core.incidents.Incident.to_dict()); None for a non-incident item.
    incident: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class WeakDraft:
    """A weak match about to be stored: searchable, never alerted (bot.core.matching)."""

    source: str
    title: str
    link: str | None
    summary: str
    published: datetime | None
    entities: tuple[str, ...]
    reasons: tuple[str, ...]


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

    def next_due_at(self) -> datetime | None:
        """The earliest moment a feed that can be fetched becomes due (None: no such feed)."""
        row = self.db.execute(
            "SELECT min(max(COALESCE(next_fetch_at, ''), COALESCE(retry_not_before, '')))"
            " FROM feeds WHERE status IN ('active', 'paused')"
        ).fetchone()
        if row is None or row[0] is None:
            return None
        return parse_iso(row[0]) or datetime.now(UTC)

    def update_feed(self, url: str, **fields: Any) -> None:
        with transaction(self.db):
            self._update_feed(url, fields)

    def retry_feed(self, target: str, now: datetime) -> tuple[str, str]:
        """Make a paused, 410-disabled or failing feed due now, with its failures forgotten.

        ``target`` is the feed's URL or a unique part of it (case-insensitive). Returns
        ``(url, previous status)``; raises FeedLookupError with a message for the user when
        no feed or several feeds match, or the feed is no longer in the feed list.
        """
        wanted = target.strip()
        if not wanted:
            raise FeedLookupError("give the feed's URL, or a part of it that only it has")
        rows = self.db.execute_returning_dicts("SELECT url, status FROM feeds")
        exact = [r for r in rows if r["url"] == wanted]
        found = exact or [r for r in rows if wanted.casefold() in r["url"].casefold()]
        if not found:
            raise FeedLookupError(f"no feed matches {wanted!r}")
        if len(found) > 1:
            examples = ", ".join(r["url"] for r in found[:3])
            raise FeedLookupError(
                f"{len(found)} feeds match {wanted!r} ({examples}"
                f"{', …' if len(found) > 3 else ''}): give more of the URL"
            )
        url, status = found[0]["url"], found[0]["status"]
        if status == "removed":
            raise FeedLookupError(
                f"{url} is no longer in the feed list: add it back to the list instead"
            )
        self.update_feed(
            url,
            status="active",
            consecutive_failures=0,
            paused_at=None,
            retry_not_before=None,
            last_error=None,
            last_error_kind=None,
            next_fetch_at=now,
        )
        return url, status

    def update_feeds(self, updates: Sequence[tuple[str, dict[str, Any]]]) -> None:
        """Several feeds' fields in one transaction (a cycle's 304s: one commit, not 1,000)."""
        if not updates:
            return
        with transaction(self.db):
            for url, fields in updates:
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
        return self._items_by("canonical_url", urls, "")

    def items_by_article_key(self, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Known items (with their alert, if any) for article keys, e.g. a forwarded post's
        original seen in another channel; the alerted one first."""
        return self._items_by("article_key", keys, " ORDER BY alert_id IS NULL, first_seen_at")

    def _items_by(
        self, column: str, values: Sequence[str], order: str
    ) -> dict[str, dict[str, Any]]:
        """The first item (in ``order``) for each non-empty value of ``column``, one query per
        500 values. ``column`` and ``order`` are this class's own literals, never user input."""
        result: dict[str, dict[str, Any]] = {}
        for chunk in _chunks([v for v in dict.fromkeys(values) if v]):
            marks = ",".join("?" * len(chunk))
            for row in self.db.execute_returning_dicts(
                f"SELECT key, {column}, alert_id, feed_url FROM items"
                f" WHERE {column} IN ({marks}){order}",
                chunk,
            ):
                result.setdefault(row[column], row)
        return result

    def store_feed_items(
        self,
        url: str,
        items: Sequence[NewItem],
        now: datetime,
        feed_fields: dict[str, Any],
        also_seen: Sequence[tuple[int, str]] = (),
        seen_keys: Sequence[str] = (),
    ) -> list[StoredAlert]:
        """Remember items, store their alerts and outbox rows, and update the feed, atomically.

        ``also_seen`` is (alert_id, source) for items already alerted through another feed:
        the source is added to that alert's ``sources``. ``seen_keys`` (every key in the
        parsed body) get ``last_seen_at = now``, which retention pruning relies on.
        """
        stored: list[StoredAlert] = []
        at = iso(now)
        batch_stories: dict[int, int] = {}
        with transaction(self.db):
            rows = []
            for item in items:
                alert_id = None
                if item.alert is not None:
                    draft = item.alert
                    key = draft.batch_story
                    if draft.story_id is None and key is not None and key in batch_stories:
                        draft = replace(draft, story_id=batch_stories[key])
                    result = self._insert_alert(item, draft, now)
                    if key is not None:
                        batch_stories.setdefault(key, result.story_id)
                    stored.append(result)
                    alert_id = result.alert_id
                elif item.weak is not None:
                    self._insert_weak(item, item.weak, at)
                rows.append(
                    (
                        item.key,
                        item.canonical_url,
                        item.feed_url,
                        item.title,
                        item.link,
                        iso(item.published),
                        at,
                        alert_id,
                        item.article_key,
                    )
                )
            # One executemany for the feed's items (a cold feed has 50): same rows, same order.
            self.db.conn.executemany(
                "INSERT OR IGNORE INTO items (key, canonical_url, feed_url, title, link,"
                " published_at, first_seen_at, alert_id, article_key)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            for alert_id, source in also_seen:
                self._add_source(alert_id, source)
            for chunk in _chunks(list(dict.fromkeys(seen_keys))):
                marks = ",".join("?" * len(chunk))
                self.db.execute(
                    f"UPDATE items SET last_seen_at = ? WHERE key IN ({marks})", [iso(now), *chunk]
                )
            self._update_feed(url, dict(feed_fields))
            self.db.execute(
                "UPDATE feeds SET items_total = COALESCE(items_total, 0) + ? WHERE url = ?",
                [len(items), url],
            )
        return stored

    def _insert_weak(self, item: NewItem, weak: WeakDraft, at: str | None) -> None:
        self.db.execute(
            "INSERT OR IGNORE INTO weak_matches (item_key, feed_url, source, title, link, summary,"
            " published_at, created_at, entities, reasons) VALUES (?,?,?,?,?,?,?,?,?,?)",
            [
                item.key,
                item.feed_url,
                weak.source,
                weak.title,
                weak.link,
                weak.summary,
                iso(weak.published),
                at,
                json.dumps(list(weak.entities), ensure_ascii=False),
                json.dumps(list(weak.reasons), ensure_ascii=False),
            ],
        )

    def _insert_alert(self, item: NewItem, alert: AlertDraft, now: datetime) -> StoredAlert:
        new_story = alert.story_id is None
        story_id = alert.story_id
        if story_id is None:
            cursor = self.db.execute(
                "INSERT INTO stories (title, created_at, updated_at, fingerprint, outlets,"
                " edited_outlets) VALUES (?, ?, ?, ?, ?, ?)",
                [
                    alert.title,
                    iso(now),
                    iso(now),
                    alert.story_fingerprint,
                    json.dumps([alert.source]),
                    FIRST_MESSAGE_OUTLETS,
                ],
            )
            story_id = int(cursor.lastrowid or 0)
        else:
            row = self.db.execute("SELECT outlets FROM stories WHERE id = ?", [story_id]).fetchone()
            outlets = with_outlet(json.loads(row[0]) if row and row[0] else [], alert.source)
            self.db.execute(
                "UPDATE stories SET outlets = ?, updated_at = ? WHERE id = ?",
                [json.dumps(outlets), iso(now), story_id],
            )
            self._merge_story_incident(story_id, alert.incident)
        cursor = self.db.execute(
            "INSERT INTO alerts (item_key, story_id, feed_url, source, sources, title, link,"
            " summary, published_at, created_at, entities, matches, priority, delivered,"
            " fingerprint, lang, event_type, sub_event, fatalities, places, severity)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
                alert.story_fingerprint,
                alert.lang or None,
                *_incident_columns(alert.incident),
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

    def _merge_story_incident(self, story_id: int, incident: dict[str, Any] | None) -> None:
        """A later report of a story updates the incident of its first alert (toll, places,
        severity), so the edited first message shows what the story now says."""
        if not incident:
            return
        rows = self.db.execute_returning_dicts(
            "SELECT a.id, a.event_type, a.sub_event, a.fatalities, a.places, a.severity"
            " FROM stories s JOIN alerts a ON a.id = s.first_alert_id WHERE s.id = ?",
            [story_id],
        )
        if not rows:
            return
        row = rows[0]
        try:
            places = json.loads(row["places"]) if row.get("places") else []
        except ValueError:
            places = []
        first = {**row, "places": places}
        merged = merge_story_incident(first, incident)
        if merged is None:
            return
        self.db.execute(
            "UPDATE alerts SET event_type = ?, sub_event = ?, fatalities = ?, places = ?,"
            " severity = ? WHERE id = ?",
            [*_incident_columns(merged), row["id"]],
        )

    def _add_source(self, alert_id: int, source: str) -> None:
        """The same article reached through another feed: name that source on the alert and
        among the story's outlets (so the sent message is edited to mention it)."""
        row = self.db.execute(
            "SELECT sources, story_id FROM alerts WHERE id = ?", [alert_id]
        ).fetchone()
        if not row:
            return
        sources = json.loads(row[0]) if row[0] else []
        if source not in sources:
            sources.append(source)
            self.db.execute(
                "UPDATE alerts SET sources = ? WHERE id = ?", [json.dumps(sources), alert_id]
            )
        story = self.db.execute("SELECT outlets FROM stories WHERE id = ?", [row[1]]).fetchone()
        if story is not None:
            outlets = json.loads(story[0]) if story[0] else []
            added = with_outlet(outlets, source)
            if added != outlets:  # the sent message is edited to name it (story_edits)
                self.db.execute(
                    "UPDATE stories SET outlets = ? WHERE id = ?", [json.dumps(added), row[1]]
                )

    def story_reports(self, story_ids: Sequence[int]) -> dict[int, list[tuple[str, str | None]]]:
        """Per story, (outlet, link) of every report in arrival order: each alert of the
        story, then the other feeds that carried the same article (its ``sources``)."""
        out: dict[int, list[tuple[str, str | None]]] = {}
        for chunk in _chunks([str(i) for i in dict.fromkeys(story_ids)]):
            marks = ",".join("?" * len(chunk))
            for story_id, source, sources, link in self.db.execute(
                "SELECT story_id, source, sources, link FROM alerts"
                f" WHERE story_id IN ({marks}) ORDER BY id",
                chunk,
            ):
                names = [source, *(json.loads(sources) if sources else [])]
                out.setdefault(int(story_id), []).extend((n, link) for n in names if n)
        return out

    def recent_story_members(self, since: datetime) -> list[dict[str, Any]]:
        """Every alert of the stories started since ``since`` (story_id, created_at, title,
        summary, entities), oldest first: what a restart re-indexes."""
        return self.db.execute_returning_dicts(
            "SELECT a.story_id, a.created_at, a.title, a.summary, a.entities"
            " FROM stories s JOIN alerts a ON a.story_id = s.id"
            " WHERE s.created_at >= ? ORDER BY a.id",
            [iso(since)],
        )

    def recent_story_fingerprints(self, since: datetime) -> list[tuple[int, str, str]]:
        """(story_id, story start, fingerprint) of every member of the stories started since
        ``since``: the first item and each later report, so a restart re-indexes them all."""
        return [
            (int(r[0]), r[1], r[2])
            for r in self.db.execute(
                "SELECT s.id, s.created_at, COALESCE(a.fingerprint, s.fingerprint)"
                " FROM stories s JOIN alerts a ON a.story_id = s.id"
                " WHERE s.created_at >= ? AND COALESCE(a.fingerprint, s.fingerprint) IS NOT NULL"
                " ORDER BY a.id",
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
        """Pending rows due now for active chats, with their alert and story outlets."""
        return self.db.execute_returning_dicts(
            "SELECT d.id AS delivery_id, d.chat_id, d.thread_id, d.kind, d.attempts,"
            " d.payload, d.held, d.silent, s.outlets AS story_outlets, a.*"
            " FROM deliveries d LEFT JOIN alerts a ON a.id = d.alert_id"
            " LEFT JOIN stories s ON s.id = a.story_id"
            " LEFT JOIN chats c ON c.chat_id = d.chat_id"
            " WHERE d.status = 'pending' AND (d.not_before IS NULL OR d.not_before <= ?)"
            " AND COALESCE(c.active, 1) = 1 ORDER BY d.id LIMIT ?",
            [iso(now), limit],
        )

    # ----- admin notices -----------------------------------------------------------------
    def queue_admin_notice(self, admin_ids: Sequence[int], text: str, now: datetime) -> None:
        """One pending notice per admin, stored before any send is tried."""
        if not admin_ids:
            return
        with transaction(self.db):
            self.db.conn.executemany(
                "INSERT INTO admin_notices (admin_id, text, status, attempts, created_at)"
                " VALUES (?, ?, 'pending', 0, ?)",
                [(admin, text, iso(now)) for admin in admin_ids],
            )

    def pending_admin_notices(self) -> list[dict[str, Any]]:
        """Unsent notices, oldest first."""
        return self.db.execute_returning_dicts(
            "SELECT id, admin_id, text, attempts FROM admin_notices WHERE status = 'pending'"
            " ORDER BY id"
        )

    def mark_notice(self, notice_id: int, status: str, error: str | None, now: datetime) -> None:
        """``sent``, ``failed`` (for good), or ``pending`` again after a failed attempt."""
        with transaction(self.db):
            self.db.execute(
                "UPDATE admin_notices SET status = ?, attempts = attempts + 1, last_error = ?,"
                " sent_at = CASE WHEN ? = 'sent' THEN ? ELSE sent_at END WHERE id = ?",
                [status, error, status, iso(now), notice_id],
            )

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
        """Follow a group upgraded to a supergroup: pending rows and the chat record move.

        The old id is remembered (``chats.migrated_to``) so that alerts still routed to it
        (configuration not yet updated) follow too: see follow_chat_migrations.
        """
        with transaction(self.db):
            self.db.execute(
                "INSERT INTO chats (chat_id, active) VALUES (?, 1) ON CONFLICT(chat_id) DO NOTHING",
                [new_id],
            )
            self.db.execute(
                "INSERT INTO chats (chat_id, active, migrated_to, deactivated_reason)"
                " VALUES (?, 0, ?, ?) ON CONFLICT(chat_id) DO UPDATE SET active = 0,"
                " migrated_to = excluded.migrated_to,"
                " deactivated_reason = excluded.deactivated_reason",
                [old_id, new_id, f"migrated to {new_id}"],
            )
            self._move_chat_settings(old_id, new_id)
            self._follow_chat_migrations()

    def _move_chat_settings(self, old_id: int | str, new_id: int) -> None:
        """Mutes, quiet hours, digest and severity settings and a subscription follow the
        chat to its new id (they were lost). Settings the new id already has win."""
        for table in ("chat_prefs", "severity_prefs", "subscriptions"):
            self.db.execute(
                f"UPDATE OR IGNORE {table} SET chat_id = ? WHERE chat_id = ?", [new_id, old_id]
            )
            self.db.execute(f"DELETE FROM {table} WHERE chat_id = ?", [old_id])
        self.db.execute(
            "UPDATE mutes SET chat_id = ? WHERE chat_id = ? AND NOT EXISTS (SELECT 1 FROM mutes m"
            " WHERE m.chat_id = ? AND m.kind = mutes.kind AND lower(m.value) = lower(mutes.value))",
            [new_id, old_id, new_id],
        )
        self.db.execute("DELETE FROM mutes WHERE chat_id = ?", [old_id])

    def follow_chat_migrations(self) -> int:
        """Move pending rows of migrated chats to their new id. Returns how many moved."""
        with transaction(self.db):
            return self._follow_chat_migrations()

    def _follow_chat_migrations(self) -> int:
        moved = self.db.execute(
            "UPDATE OR IGNORE deliveries SET chat_id = (SELECT migrated_to FROM chats"
            " WHERE chats.chat_id = deliveries.chat_id) WHERE status = 'pending' AND chat_id IN"
            " (SELECT chat_id FROM chats WHERE migrated_to IS NOT NULL)"
        ).rowcount
        # rows left behind already had a twin for the new id (both ids were configured)
        self.db.execute(
            "UPDATE deliveries SET status = 'skipped', last_error = 'duplicate after chat"
            " migration' WHERE status = 'pending' AND chat_id IN"
            " (SELECT chat_id FROM chats WHERE migrated_to IS NOT NULL)"
        )
        return int(moved or 0)

    def inactive_chats(self) -> set[int]:
        return {int(r[0]) for r in self.db.execute("SELECT chat_id FROM chats WHERE active = 0")}

    def story_has_source(self, story_id: int, source: str) -> bool:
        """True when the story already has an alert from this outlet."""
        row = self.db.execute(
            "SELECT 1 FROM alerts WHERE story_id = ? AND source = ? LIMIT 1", [story_id, source]
        ).fetchone()
        return row is not None

    def log_setting_change(
        self, actor: int | None, chat_id: int, detail: str, now: datetime
    ) -> None:
        """Audit a change of a chat's alert settings (/mute, /quiet, /digest …)."""
        with transaction(self.db):
            self._log_access(actor, "chat setting", None, chat_id, detail, now)

    def defer_updates(self, payloads: Sequence[tuple[int, str]], now: datetime) -> None:
        """Keep Telegram updates (update id, JSON) not answered at shutdown for the next start."""
        with transaction(self.db):
            self.db.conn.executemany(
                "INSERT OR REPLACE INTO deferred_updates (update_id, payload, deferred_at)"
                " VALUES (?, ?, ?)",
                [(update_id, payload, iso(now)) for update_id, payload in payloads],
            )

    def take_deferred_updates(self, since: datetime) -> list[str]:
        """The deferred updates not older than ``since`` (JSON, in order); all are removed."""
        with transaction(self.db):
            rows = self.db.execute(
                "SELECT payload FROM deferred_updates WHERE deferred_at >= ? ORDER BY update_id",
                [iso(since)],
            ).fetchall()
            self.db.execute("DELETE FROM deferred_updates")
        return [str(r[0]) for r in rows]

    def is_revivable(self, chat_id: int) -> bool:
        """True for a chat deactivated by an error (403 …), not one migrated to a new id."""
        row = self.db.execute(
            "SELECT 1 FROM chats WHERE chat_id = ? AND active = 0 AND migrated_to IS NULL",
            [chat_id],
        ).fetchone()
        return row is not None

    def reactivate_chat(self, chat_id: int, now: datetime) -> int | None:
        """Make a deactivated chat active again; its pending alerts go with the next drain.

        Notices that failed because that chat had blocked the bot are pending again too.
        Returns the chat's pending deliveries, or None when it was not deactivated.
        """
        with transaction(self.db):
            cursor = self.db.execute(
                "UPDATE chats SET active = 1, deactivated_at = NULL, deactivated_reason = NULL"
                " WHERE chat_id = ? AND active = 0 AND migrated_to IS NULL",
                [chat_id],
            )
            if not cursor.rowcount:
                return None
            self.db.execute(
                "UPDATE admin_notices SET status = 'pending' WHERE admin_id = ?"
                " AND status = 'failed' AND last_error LIKE 'Forbidden%'",
                [chat_id],
            )
            self._log_access(None, "chat reactivated", None, chat_id, "", now)
            row = self.db.execute(
                "SELECT count(*) FROM deliveries WHERE chat_id = ? AND status = 'pending'",
                [chat_id],
            ).fetchone()
        return int(row[0])

    # ----- outbox policy: holds, digests, mutes, story edits ------------------------------
    def hold_deliveries(self, holds: Sequence[tuple[int, datetime, str]], now: datetime) -> None:
        """Keep pending rows back until a time (quiet hours, daily digest), recording why."""
        with transaction(self.db):
            self.db.conn.executemany(
                "UPDATE deliveries SET not_before = ?, held = ?, updated_at = ?"
                " WHERE id = ? AND status = 'pending'",
                [(iso(until), why, iso(now), delivery_id) for delivery_id, until, why in holds],
            )

    def skip_deliveries(self, skips: Sequence[tuple[int, str]], now: datetime) -> None:
        """Close pending rows that must not be sent (e.g. muted), with the reason."""
        with transaction(self.db):
            self.db.conn.executemany(
                "UPDATE deliveries SET status = 'skipped', last_error = ?, updated_at = ?"
                " WHERE id = ? AND status = 'pending'",
                [(reason, iso(now), delivery_id) for delivery_id, reason in skips],
            )

    def bundle_into_digest(
        self,
        ids: Sequence[int],
        chat_id: int | str,
        thread_id: int | None,
        texts: Sequence[str],
        silent: bool,
        now: datetime,
    ) -> list[int]:
        """Atomically replace pending alert rows by digest rows (one per message text).

        The bundled rows become ``digested`` with ``digest_id`` = the first digest row.
        """
        new_ids: list[int] = []
        with transaction(self.db):
            for text in texts:
                cursor = self.db.execute(
                    "INSERT INTO deliveries (alert_id, chat_id, thread_id, kind, status, attempts,"
                    " created_at, updated_at, payload, silent)"
                    " VALUES (NULL, ?, ?, 'digest', 'pending', 0, ?, ?, ?, ?)",
                    [chat_id, thread_id, iso(now), iso(now), text, 1 if silent else 0],
                )
                new_ids.append(int(cursor.lastrowid or 0))
            self.db.conn.executemany(
                "UPDATE deliveries SET status = 'digested', digest_id = ?, updated_at = ?"
                " WHERE id = ? AND status = 'pending'",
                [(new_ids[0], iso(now), delivery_id) for delivery_id in ids],
            )
        return new_ids

    def story_edit_candidates(self, updated_since: datetime) -> list[StoryEditState]:
        """The stories whose messages name fewer outlets than the story now has, updated
        since ``updated_since``: the candidates. Whether and when one is edited (the
        interval, the window) is decided by ``bot.core.story_edits.edit_due``, not here."""
        return [
            StoryEditState(
                story_id=int(story_id),
                outlets=int(outlets or 0),
                outlets_shown=int(FIRST_MESSAGE_OUTLETS if shown is None else shown),
                last_edit_at=parse_iso(last_edit_at),
                updated_at=parse_iso(updated_at) or datetime.min.replace(tzinfo=UTC),
            )
            for story_id, outlets, shown, last_edit_at, updated_at in self.db.execute(
                "SELECT id, json_array_length(outlets), edited_outlets, last_edit_at, updated_at"
                " FROM stories WHERE updated_at >= ? AND first_alert_id IS NOT NULL"
                " AND json_array_length(outlets) > COALESCE(edited_outlets, ?) ORDER BY id",
                [iso(updated_since), FIRST_MESSAGE_OUTLETS],
            )
        ]

    def story_edit_messages(self, story_ids: Sequence[int]) -> list[dict[str, Any]]:
        """The sent first messages of these stories in chats still active, one row per
        (story, chat message) with the first alert's columns."""
        rows: list[dict[str, Any]] = []
        for chunk in _chunks([str(i) for i in dict.fromkeys(story_ids)]):
            marks = ",".join("?" * len(chunk))
            rows.extend(
                self.db.execute_returning_dicts(
                    "SELECT s.id AS story_id, s.outlets AS story_outlets, d.id AS delivery_id,"
                    " d.chat_id, d.thread_id, d.message_id, a.*"
                    " FROM stories s JOIN deliveries d ON d.alert_id = s.first_alert_id"
                    " AND d.kind = 'alert' AND d.status = 'sent' AND d.message_id IS NOT NULL"
                    " JOIN alerts a ON a.id = s.first_alert_id"
                    " LEFT JOIN chats c ON c.chat_id = d.chat_id"
                    f" WHERE s.id IN ({marks}) AND COALESCE(c.active, 1) = 1"
                    " ORDER BY s.id, d.id",
                    chunk,
                )
            )
        return rows

    def mark_story_edited(self, story_id: int, outlets_shown: int, now: datetime) -> None:
        with transaction(self.db):
            self.db.execute(
                "UPDATE stories SET edited_outlets = ?, last_edit_at = ? WHERE id = ?",
                [outlets_shown, iso(now), story_id],
            )

    def alert_chats(self, alert_id: int) -> set[int]:
        """Chats that an alert was routed to (any delivery status)."""
        return {
            int(r[0])
            for r in self.db.execute(
                "SELECT DISTINCT chat_id FROM deliveries WHERE alert_id = ?", [alert_id]
            )
        }

    # ----- mutes and chat preferences (shared with the /mute, /quiet, /digest commands) --
    def add_mute(
        self,
        chat_id: int,
        kind: str,
        value: str,
        until: datetime | None,
        created_by: int | None,
        now: datetime,
    ) -> int:
        """Mute an entity or a source (kind "entity" | "source") in a chat until ``until``.

        An existing mute of the same value in the chat is replaced, not duplicated.
        """
        if kind not in ("entity", "source"):
            raise ValueError(f"mute kind must be 'entity' or 'source', not {kind!r}")
        with transaction(self.db):
            self.db.execute(
                "DELETE FROM mutes WHERE chat_id = ? AND kind = ? AND lower(value) = lower(?)",
                [chat_id, kind, value],
            )
            cursor = self.db.execute(
                "INSERT INTO mutes (chat_id, kind, value, until, created_at, created_by)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [chat_id, kind, value, iso(until), iso(now), created_by],
            )
            return int(cursor.lastrowid or 0)

    def active_mutes(self, chat_id: int, now: datetime) -> list[dict[str, Any]]:
        """Mutes in force in a chat now (``until`` NULL means until removed)."""
        return self.db.execute_returning_dicts(
            "SELECT * FROM mutes WHERE chat_id = ? AND (until IS NULL OR until > ?) ORDER BY id",
            [chat_id, iso(now)],
        )

    def remove_mute(self, chat_id: int, kind: str, value: str) -> int:
        """Lift a mute; returns how many were removed (0 when there was none)."""
        with transaction(self.db):
            cursor = self.db.execute(
                "DELETE FROM mutes WHERE chat_id = ? AND kind = ? AND lower(value) = lower(?)",
                [chat_id, kind, value],
            )
            return int(cursor.rowcount or 0)

    def severity_prefs(self, chat_id: int) -> dict[str, str]:
        """A chat's minimum severity per entity (casefolded name, or "*" for every entity)."""
        rows = self.db.execute(
            "SELECT entity, min_severity FROM severity_prefs WHERE chat_id = ?", [chat_id]
        )
        return {str(r[0]): str(r[1]) for r in rows}

    def set_severity_pref(
        self, chat_id: int, entity: str, min_severity: str | None, now: datetime
    ) -> None:
        """Set (or with None clear) a chat's minimum severity for an entity ("*": all)."""
        with transaction(self.db):
            if min_severity is None:
                self.db.execute(
                    "DELETE FROM severity_prefs WHERE chat_id = ? AND entity = ?",
                    [chat_id, entity],
                )
            else:
                self.db.execute(
                    "INSERT INTO severity_prefs (chat_id, entity, min_severity, updated_at)"
                    " VALUES (?, ?, ?, ?) ON CONFLICT(chat_id, entity) DO UPDATE SET"
                    " min_severity = excluded.min_severity, updated_at = excluded.updated_at",
                    [chat_id, entity, min_severity, iso(now)],
                )

    def clear_severity_prefs(self, chat_id: int) -> None:
        with transaction(self.db):
            self.db.execute("DELETE FROM severity_prefs WHERE chat_id = ?", [chat_id])

    def get_chat_prefs(self, chat_id: int) -> dict[str, Any] | None:
        """A chat's quiet hours and digest settings, or None when it has none."""
        rows = self.db.execute_returning_dicts(
            "SELECT * FROM chat_prefs WHERE chat_id = ?", [chat_id]
        )
        return rows[0] if rows else None

    def set_chat_prefs(self, chat_id: int, now: datetime, **fields: Any) -> None:
        """Set some of quiet_start, quiet_end ("HH:MM" or None), digest_mode, digest_time."""
        allowed = {"quiet_start", "quiet_end", "digest_mode", "digest_time"}
        unknown = set(fields) - allowed
        if unknown:
            raise ValueError(f"unknown chat preference(s): {', '.join(sorted(unknown))}")
        with transaction(self.db):
            self.db.execute(
                "INSERT INTO chat_prefs (chat_id, updated_at) VALUES (?, ?)"
                " ON CONFLICT(chat_id) DO NOTHING",
                [chat_id, iso(now)],
            )
            if fields:
                assignments = ", ".join(f"[{name}] = ?" for name in fields)
                self.db.execute(
                    f"UPDATE chat_prefs SET {assignments}, updated_at = ? WHERE chat_id = ?",
                    [*fields.values(), iso(now), chat_id],
                )

    # ----- bot users and subscriptions (pairing, /allow, /deny) ---------------------------
    def users(self) -> dict[int, str]:
        """Every known bot user and their role (owner | allowed | denied)."""
        return {int(r[0]): str(r[1]) for r in self.db.execute("SELECT user_id, role FROM users")}

    def set_user_role(
        self,
        user_id: int,
        role: str,
        *,
        actor: int | None,
        now: datetime,
        chat_id: int | None = None,
        detail: str = "",
    ) -> None:
        """Give ``user_id`` a role and record who did it in ``access_log``, atomically."""
        with transaction(self.db):
            self.db.execute(
                "INSERT INTO users (user_id, role, added_at, added_by, chat_id)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT(user_id) DO UPDATE SET role = excluded.role,"
                " added_at = excluded.added_at, added_by = excluded.added_by",
                [user_id, role, iso(now), actor, chat_id],
            )
            self._log_access(actor, role, user_id, chat_id, detail, now)

    def claim_owner(self, user_id: int, chat_id: int, now: datetime) -> bool:
        """Make ``user_id`` the owner and subscribe ``chat_id``, unless an owner already exists."""
        with transaction(self.db):
            if self.db.execute("SELECT 1 FROM users WHERE role = 'owner'").fetchone():
                return False
            self.db.execute(
                "INSERT INTO users (user_id, role, added_at, added_by, chat_id)"
                " VALUES (?, 'owner', ?, ?, ?) ON CONFLICT(user_id) DO UPDATE SET role = 'owner',"
                " added_at = excluded.added_at, added_by = excluded.added_by",
                [user_id, iso(now), user_id, chat_id],
            )
            self._log_access(user_id, "paired", user_id, chat_id, "pairing code accepted", now)
            self._subscribe(chat_id, user_id, now)
        return True

    def subscribe_chat(self, chat_id: int, *, actor: int | None, now: datetime) -> bool:
        """Make ``chat_id`` an alert chat; False when it already was one. A chat that was
        deactivated (the bot was blocked or removed) is active again."""
        with transaction(self.db):
            added = self._subscribe(chat_id, actor, now)
            self.db.execute(
                "UPDATE chats SET active = 1, deactivated_at = NULL, deactivated_reason = NULL"
                " WHERE chat_id = ? AND active = 0",
                [chat_id],
            )
            return added

    def unsubscribe_chat(self, chat_id: int, *, actor: int | None, now: datetime) -> bool:
        """Stop sending alerts to ``chat_id``; its pending alerts are skipped, not sent later."""
        with transaction(self.db):
            cursor = self.db.execute("DELETE FROM subscriptions WHERE chat_id = ?", [chat_id])
            if cursor.rowcount:
                self._log_access(actor, "unsubscribed", None, chat_id, "", now)
                self.db.execute(
                    "UPDATE deliveries SET status = 'skipped', last_error = 'unsubscribed',"
                    " updated_at = ? WHERE chat_id = ? AND status = 'pending' AND kind = 'alert'",
                    [iso(now), chat_id],
                )
            return bool(cursor.rowcount)

    def pending_delivery_count(self) -> int:
        """Deliveries still to send, of every chat and kind."""
        row = self.db.execute("SELECT count(*) FROM deliveries WHERE status = 'pending'").fetchone()
        return int(row[0])

    # ----- alerts that no chat received (stored before any alert chat existed) -------------
    def unrouted_alert_count(self) -> int:
        """Alerts stored while there was no alert chat at all: no chat has a row for them."""
        row = self.db.execute(
            "SELECT count(*) FROM alerts a WHERE NOT EXISTS (SELECT 1 FROM deliveries d"
            " WHERE d.alert_id = a.id AND d.kind = 'alert')"
        ).fetchone()
        return int(row[0])

    def unrouted_alerts(self, limit: int) -> list[dict[str, Any]]:
        """The latest ``limit`` unrouted alerts, oldest first (a digest's order)."""
        rows = self.db.execute_returning_dicts(
            "SELECT a.* FROM alerts a WHERE NOT EXISTS (SELECT 1 FROM deliveries d"
            " WHERE d.alert_id = a.id AND d.kind = 'alert') ORDER BY a.id DESC LIMIT ?",
            [limit],
        )
        return rows[::-1]

    def queue_backlog_digest(
        self, chat_id: int, alert_ids: Sequence[int], texts: Sequence[str], now: datetime
    ) -> list[int]:
        """Queue a digest of waiting alerts for ``chat_id``, atomically: the digest rows, and
        one ``digested`` row per alert so they no longer count as waiting."""
        new_ids: list[int] = []
        with transaction(self.db):
            for text in texts:
                cursor = self.db.execute(
                    "INSERT INTO deliveries (alert_id, chat_id, thread_id, kind, status, attempts,"
                    " created_at, updated_at, payload, silent)"
                    " VALUES (NULL, ?, NULL, 'digest', 'pending', 0, ?, ?, ?, 1)",
                    [chat_id, iso(now), iso(now), text],
                )
                new_ids.append(int(cursor.lastrowid or 0))
            self.db.conn.executemany(
                "INSERT OR IGNORE INTO deliveries (alert_id, chat_id, kind, status, attempts,"
                " created_at, updated_at, digest_id)"
                " VALUES (?, ?, 'alert', 'digested', 0, ?, ?, ?)",
                [(alert_id, chat_id, iso(now), iso(now), new_ids[0]) for alert_id in alert_ids],
            )
        return new_ids

    def release_held(self, chat_id: int, reasons: Sequence[str], now: datetime) -> int:
        """Pending rows of a chat held for one of ``reasons`` (quiet, daily, hourly) are due
        now; they keep ``held``, so they go out together as one digest. Returns how many."""
        marks = ",".join("?" for _ in reasons)
        with transaction(self.db):
            cursor = self.db.execute(
                "UPDATE deliveries SET not_before = NULL, updated_at = ?"
                f" WHERE chat_id = ? AND status = 'pending' AND held IN ({marks})",
                [iso(now), chat_id, *reasons],
            )
            return int(cursor.rowcount or 0)

    def owner_ids(self) -> list[int]:
        return [u for u, role in self.users().items() if role == "owner"]

    def subscribed_chats(self) -> list[int]:
        """Chats that receive alerts besides the configured ones (the owner's, after pairing)."""
        return [
            int(r[0]) for r in self.db.execute("SELECT chat_id FROM subscriptions ORDER BY chat_id")
        ]

    def access_log(self, limit: int = 100) -> list[dict[str, Any]]:
        return self.db.execute_returning_dicts(
            "SELECT * FROM access_log ORDER BY id DESC LIMIT ?", [limit]
        )

    def _subscribe(self, chat_id: int, actor: int | None, now: datetime) -> bool:
        cursor = self.db.execute(
            "INSERT OR IGNORE INTO subscriptions (chat_id, added_at, added_by) VALUES (?, ?, ?)",
            [chat_id, iso(now), actor],
        )
        if cursor.rowcount:
            self._log_access(actor, "subscribed", None, chat_id, "", now)
        return bool(cursor.rowcount)

    def _log_access(
        self,
        actor: int | None,
        action: str,
        user_id: int | None,
        chat_id: int | None,
        detail: str,
        now: datetime,
    ) -> None:
        self.db.execute(
            "INSERT INTO access_log (at, actor, action, user_id, chat_id, detail)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [iso(now), actor, action, user_id, chat_id, detail],
        )


def _chunks(values: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(values), _IN_CHUNK):
        yield values[start : start + _IN_CHUNK]


def _incident_columns(incident: dict[str, Any] | None) -> list[Any]:
    """event_type, sub_event, fatalities, places (JSON), severity of an alert row."""
    if not incident:
        return [None, None, None, None, None]
    places = incident.get("places") or []
    return [
        incident.get("event_type"),
        incident.get("sub_event"),
        incident.get("fatalities"),
        json.dumps(places, ensure_ascii=False) if places else None,
        incident.get("severity"),
    ]
