"""The items and alerts aggregate: items seen, alerts and weak matches stored, and the
stories they form."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.core.incidents import IncidentFields, PlaceRecord, merge_story_incident
from bot.core.matching import Hit
from bot.core.models import StoredAlert
from bot.core.records import (
    AlertRecord,
    DeliveryKind,
    DeliveryStatus,
    FeedState,
    KnownItem,
    PendingAlert,
    Priority,
    StoryMember,
    priority,
)
from bot.core.story_edits import FIRST_MESSAGE_OUTLETS, with_outlet
from storage.columns import chunks, iso, json_list, parse_iso
from storage.feeds import write_feed_changes
from storage.sqlite_utils_loader import Database
from storage.transactions import transaction


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
    """An alert about to be stored. ``story_id`` None starts a new story, unless
    ``group_later``: then it is stored without a story, in ``story_pending``, and
    ``file_pending`` gives it its story (the cycle groups its alerts in event order)."""

    source: str
    title: str
    link: str | None
    summary: str
    published: datetime | None
    entities: tuple[str, ...]
    matches: tuple[Hit, ...]
    priority: Priority
    chats: tuple[tuple[int | str, int | None], ...]  # (chat id or @channel, forum topic)
    story_id: int | None = None
    story_fingerprint: str | None = None
    group_later: bool = False
    lang: str = ""  # ISO 639-1 code guessed from the text, "" when unknown
    # Incident fields (bot.core.incidents.Incident.fields()); None for a non-incident item.
    incident: IncidentFields | None = None
    # (tag, bytes) of its story signature (bot.cycle.story_signatures), stored with it
    story_signature: tuple[str, bytes] | None = None
    # No ``published``: the feed's previous successful poll, which did not hold the report
    # (bot.core.arrival_bound); None when nothing bounds its date.
    published_after: datetime | None = None


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


class AlertStore:
    """Reads and writes of ``items``, ``alerts``, ``weak_matches`` and ``stories``."""

    def __init__(self, db: Database):
        self.db = db

    def unseen_keys(self, keys: Sequence[str]) -> set[str]:
        """The subset of ``keys`` never stored before (one query per 500 keys)."""
        seen: set[str] = set()
        for chunk in chunks(list(dict.fromkeys(keys))):
            marks = ",".join("?" * len(chunk))
            seen.update(
                row[0]
                for row in self.db.execute(f"SELECT key FROM items WHERE key IN ({marks})", chunk)
            )
        return set(keys) - seen

    def items_by_canonical_url(self, urls: Sequence[str]) -> dict[str, KnownItem]:
        """Known items (with their alert, if any) for canonical URLs, e.g. seen via another feed."""
        return self._items_by("canonical_url", urls, "")

    def items_by_article_key(self, keys: Sequence[str]) -> dict[str, KnownItem]:
        """Known items (with their alert, if any) for article keys, e.g. a forwarded post's
        original seen in another channel; the alerted one first."""
        return self._items_by("article_key", keys, " ORDER BY alert_id IS NULL, first_seen_at")

    def _items_by(self, column: str, values: Sequence[str], order: str) -> dict[str, KnownItem]:
        """The first item (in ``order``) for each non-empty value of ``column``, one query per
        500 values. ``column`` and ``order`` are this class's own literals, never user input."""
        result: dict[str, KnownItem] = {}
        for chunk in chunks([v for v in dict.fromkeys(values) if v]):
            marks = ",".join("?" * len(chunk))
            for value, key, alert_id, feed_url in self.db.execute(
                f"SELECT {column}, key, alert_id, feed_url FROM items"
                f" WHERE {column} IN ({marks}){order}",
                chunk,
            ):
                known = KnownItem(
                    key=str(key),
                    feed_url=feed_url,
                    alert_id=int(alert_id) if alert_id is not None else None,
                )
                result.setdefault(str(value), known)
        return result

    def store_feed_items(
        self,
        url: str,
        items: Sequence[NewItem],
        now: datetime,
        feed: tuple[FeedState, FeedState] | None,
        also_seen: Sequence[tuple[int, str]] = (),
        seen_keys: Sequence[str] = (),
    ) -> list[StoredAlert]:
        """Remember items, store their alerts and outbox rows, and update the feed, atomically.

        ``feed`` is the feed's state (before, after) this body: what changed is stored.

        ``also_seen`` is (alert_id, source) for items already alerted through another feed:
        the source is added to that alert's ``sources``. ``seen_keys`` (every key in the
        parsed body) get ``last_seen_at = now``, which retention pruning relies on.

        Alerts drafted ``group_later`` are stored without a story (in ``story_pending``) and
        are not in the returned list: ``file_pending`` files them.
        """
        stored: list[StoredAlert] = []
        at = iso(now)
        with transaction(self.db):
            rows = []
            for item in items:
                alert_id = None
                if item.alert is not None and item.alert.group_later:
                    alert_id = self._insert_pending(item, item.alert, now)
                elif item.alert is not None:
                    result = self._insert_alert(item, item.alert, now)
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
                        at,
                    )
                )
            # One executemany for the feed's items (a cold feed has 50): same rows, same order.
            # A key already stored keeps its row and is only marked seen, as below.
            self.db.conn.executemany(
                "INSERT INTO items (key, canonical_url, feed_url, title, link,"
                " published_at, first_seen_at, alert_id, article_key, last_seen_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (key) DO UPDATE SET last_seen_at = excluded.last_seen_at",
                rows,
            )
            for alert_id, source in also_seen:
                self._add_source(alert_id, source)
            inserted = {item.key for item in items}
            for chunk in chunks([k for k in dict.fromkeys(seen_keys) if k not in inserted]):
                marks = ",".join("?" * len(chunk))
                self.db.execute(
                    f"UPDATE items SET last_seen_at = ? WHERE key IN ({marks})", [iso(now), *chunk]
                )
            if feed is not None:
                before, after = feed
                write_feed_changes(self.db, before, after)
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
            self._add_outlets(story_id, [alert.source], updated=iso(now))
            self._merge_story_incident(story_id, alert.incident)
        alert_id = self._insert_alert_row(item, alert, story_id, new_story, now)
        if alert.story_signature is not None:
            self._save_signature(alert_id, alert.story_signature)
        if new_story:
            self._open_story(story_id, alert_id, alert.chats, now)
        return StoredAlert(alert_id=alert_id, story_id=story_id, new_story=new_story)

    def _insert_alert_row(
        self, item: NewItem, alert: AlertDraft, story_id: int | None, new_story: bool, now: datetime
    ) -> int:
        cursor = self.db.execute(
            "INSERT INTO alerts (item_key, story_id, feed_url, source, sources, title, link,"
            " summary, published_at, created_at, entities, matches, priority, delivered,"
            " fingerprint, lang, event_type, sub_event, fatalities, places, severity,"
            " published_after)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
                json.dumps([_match_json(m) for m in alert.matches], ensure_ascii=False),
                alert.priority,
                1 if new_story else 0,
                alert.story_fingerprint,
                alert.lang or None,
                *_incident_columns(alert.incident),
                iso(alert.published_after),
            ],
        )
        return int(cursor.lastrowid or 0)

    def _save_signature(self, alert_id: int, signature: tuple[str, bytes]) -> None:
        tag, data = signature
        self.db.execute(
            "INSERT OR REPLACE INTO story_signatures (alert_id, tag, data) VALUES (?, ?, ?)",
            [alert_id, tag, data],
        )

    def _open_story(
        self,
        story_id: int,
        alert_id: int,
        chats: Sequence[tuple[int | str, int | None]],
        now: datetime,
    ) -> None:
        """The alert is its story's first message: one outbox row per chat."""
        self.db.execute("UPDATE stories SET first_alert_id = ? WHERE id = ?", [alert_id, story_id])
        self.db.conn.executemany(
            "INSERT OR IGNORE INTO deliveries (alert_id, chat_id, thread_id, kind, status,"
            " attempts, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 0, ?, ?)",
            [
                (
                    alert_id,
                    chat,
                    thread,
                    DeliveryKind.ALERT,
                    DeliveryStatus.PENDING,
                    iso(now),
                    iso(now),
                )
                for chat, thread in chats
            ],
        )

    def _insert_pending(self, item: NewItem, alert: AlertDraft, now: datetime) -> int:
        """An alert without its story yet: grouped by ``file_pending`` (the same cycle, or the
        next one if the process died first)."""
        alert_id = self._insert_alert_row(item, alert, None, False, now)
        self.db.execute(
            "INSERT INTO story_pending (alert_id, chats) VALUES (?, ?)",
            [alert_id, json.dumps([list(c) for c in alert.chats])],
        )
        return alert_id

    def has_pending_story(self) -> bool:
        """Whether any alert waits for its story (``pending_story_alerts`` is not empty)."""
        return self.db.execute("SELECT 1 FROM story_pending LIMIT 1").fetchone() is not None

    def pending_story_alerts(self) -> list[PendingAlert]:
        """Alerts stored without their story yet, oldest first (a cycle holds a few dozen)."""
        rows = self.db.execute(
            "SELECT a.id, a.feed_url, a.source, a.title, a.summary, a.entities, a.published_at,"
            " a.created_at, p.chats, a.published_after, a.link"
            " FROM story_pending p JOIN alerts a ON a.id = p.alert_id ORDER BY a.id"
        ).fetchall()
        out = []
        for (
            alert_id,
            feed_url,
            source,
            title,
            summary,
            entities,
            published,
            created,
            chats,
            published_after,
            link,
        ) in rows:
            out.append(
                PendingAlert(
                    alert_id=int(alert_id),
                    feed_url=feed_url,
                    source=str(source or ""),
                    title=str(title or ""),
                    summary=str(summary or ""),
                    entities=tuple(str(e) for e in json_list(entities)),
                    published_at=parse_iso(published),
                    created_at=parse_iso(created) or datetime.min.replace(tzinfo=UTC),
                    chats=_chats(chats),
                    published_after=parse_iso(published_after),
                    link=link if isinstance(link, str) else None,
                )
            )
        return out

    def pending_story_keys(self) -> dict[int, str]:
        """The alerts stored without their story yet: id -> arrival, as stored (cheap: what
        tells whether the pending rows changed since they were last read)."""
        rows = self.db.execute(
            "SELECT p.alert_id, a.created_at FROM story_pending p"
            " JOIN alerts a ON a.id = p.alert_id"
        ).fetchall()
        return {int(alert_id): str(created) for alert_id, created in rows}

    def file_pending(
        self,
        alert: PendingAlert,
        story_id: int | None,
        now: datetime,
        *,
        signature: tuple[str, bytes] | None = None,
        drop_if_outlet_reported: bool = True,
    ) -> StoredAlert | None:
        """Give a pending alert its story (``story_id`` None: it starts one, with its outbox
        rows), inside the caller's transaction. A report joining a story that already has an
        alert from its outlet (a feed that rotates GUIDs or links on every fetch) is not kept
        as an alert: one alert row per story and outlet, as the item key stays recorded as
        seen; None then. ``drop_if_outlet_reported`` False keeps it (the story was started by
        the same feed body)."""
        alert_id = alert.alert_id
        self.db.execute("DELETE FROM story_pending WHERE alert_id = ?", [alert_id])
        row = self.db.execute(
            "SELECT sources, event_type, sub_event, fatalities, places, severity FROM alerts"
            " WHERE id = ?",
            [alert_id],
        ).fetchone()
        if row is None:  # pruned meanwhile
            return None
        # its outlet, then the feeds that carried the same article meanwhile (_add_source)
        outlets = with_outlet([], alert.source)
        for source in json_list(row[0]):
            outlets = with_outlet(outlets, str(source))
        if story_id is None:
            at = iso(alert.created_at)
            cursor = self.db.execute(
                "INSERT INTO stories (title, created_at, updated_at, fingerprint, outlets,"
                " edited_outlets) VALUES (?, ?, ?, NULL, ?, ?)",
                [alert.title, at, at, json.dumps(outlets), FIRST_MESSAGE_OUTLETS],
            )
            story_id = int(cursor.lastrowid or 0)
            self.db.execute(
                "UPDATE alerts SET story_id = ?, delivered = 1 WHERE id = ?", [story_id, alert_id]
            )
            self._open_story(story_id, alert_id, alert.chats, now)
            new_story = True
        else:
            if drop_if_outlet_reported and self.story_has_source(story_id, alert.source):
                self.db.execute("UPDATE items SET alert_id = NULL WHERE alert_id = ?", [alert_id])
                self.db.execute("DELETE FROM alerts WHERE id = ?", [alert_id])
                self._add_outlets(story_id, outlets)
                return None
            self._add_outlets(story_id, outlets, updated=iso(now))
            if any(value is not None for value in row[1:]):  # the alert names an incident
                columns = ("event_type", "sub_event", "fatalities", "places", "severity")
                fields = incident_fields(dict(zip(columns, row[1:], strict=True)))
                self._merge_story_incident(story_id, fields)
            self.db.execute(
                "UPDATE alerts SET story_id = ?, delivered = 0 WHERE id = ?", [story_id, alert_id]
            )
            new_story = False
        if signature is not None:
            self._save_signature(alert_id, signature)
        return StoredAlert(alert_id=alert_id, story_id=story_id, new_story=new_story)

    def _add_outlets(self, story_id: int, added: Sequence[str], updated: str | None = None) -> None:
        """Name more outlets among a story's (the sent message is edited to name them)."""
        row = self.db.execute("SELECT outlets FROM stories WHERE id = ?", [story_id]).fetchone()
        if row is None:
            return
        before = json.loads(row[0]) if row[0] else []
        outlets = before
        for source in added:
            outlets = with_outlet(outlets, source)
        if outlets != before or updated is not None:
            self.db.execute(
                "UPDATE stories SET outlets = ?, updated_at = coalesce(?, updated_at) WHERE id = ?",
                [json.dumps(outlets), updated, story_id],
            )

    def _merge_story_incident(self, story_id: int, incident: IncidentFields | None) -> None:
        """A later report of a story updates the incident of its first alert (toll, places,
        severity), so the edited first message shows what the story now says."""
        if incident is None:
            return
        rows = self.db.execute_returning_dicts(
            "SELECT a.id, a.event_type, a.sub_event, a.fatalities, a.places, a.severity"
            " FROM stories s JOIN alerts a ON a.id = s.first_alert_id WHERE s.id = ?",
            [story_id],
        )
        if not rows:
            return
        merged = merge_story_incident(incident_fields(rows[0]), incident)
        if merged is None:
            return
        self.db.execute(
            "UPDATE alerts SET event_type = ?, sub_event = ?, fatalities = ?, places = ?,"
            " severity = ? WHERE id = ?",
            [*_incident_columns(merged), rows[0]["id"]],
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
        for chunk in chunks([str(i) for i in dict.fromkeys(story_ids)]):
            marks = ",".join("?" * len(chunk))
            for story_id, source, sources, link in self.db.execute(
                "SELECT story_id, source, sources, link FROM alerts"
                f" WHERE story_id IN ({marks}) ORDER BY id",
                chunk,
            ):
                names = [source, *(json.loads(sources) if sources else [])]
                out.setdefault(int(story_id), []).extend((n, link) for n in names if n)
        return out

    def recent_story_members(self, since: datetime) -> list[StoryMember]:
        """Every alert grouped into a story and stored since ``since``, oldest first: what a
        restart re-indexes (a story stays open while its latest report is within the window,
        compared with its reports of the window; bot.core.story_index)."""
        return list(self.iter_story_members(since))

    def iter_story_members(
        self, since: datetime, signature_tag: str | None = None
    ) -> Iterator[StoryMember]:
        """``recent_story_members`` read as they are used (a window of 10,000 alerts holds
        about 30 MB of stored signatures): with ``signature_tag``, each comes with its stored
        signature of that tag, if any. Finish or close the iterator before writing."""
        query = (
            "SELECT a.id, a.story_id, a.created_at, a.title, a.summary, a.entities,"
            " a.published_at, s.data, a.published_after, a.link"
            " FROM alerts a LEFT JOIN story_signatures s ON s.alert_id = a.id AND s.tag = ?"
            " WHERE a.story_id IS NOT NULL AND a.created_at >= ? ORDER BY a.id"
        )
        for (
            alert_id,
            story_id,
            created_at,
            title,
            summary,
            entities,
            published_at,
            data,
            published_after,
            link,
        ) in self.db.execute(query, [signature_tag, iso(since)]):
            yield StoryMember(
                story_id=int(story_id),
                created_at=parse_iso(created_at),
                title=str(title or ""),
                summary=str(summary or ""),
                entities=tuple(str(e) for e in json_list(entities)),
                published_at=parse_iso(published_at) if published_at else None,
                alert_id=int(alert_id),
                signature=data if isinstance(data, bytes) else None,
                published_after=parse_iso(published_after),
                link=link if isinstance(link, str) else None,
            )

    def save_story_signatures(self, tag: str, rows: Sequence[tuple[int, bytes]]) -> None:
        """Store (alert id, signature bytes) of alerts stored without theirs (or with another
        tag), in a savepoint of its own: a failure undoes only these rows, and raises."""
        if not rows:
            return
        conn = self.db.conn
        with transaction(self.db):
            conn.execute("SAVEPOINT story_signatures")
            try:
                # an alert deleted meanwhile is skipped (its row would break the foreign key)
                conn.executemany(
                    "INSERT OR REPLACE INTO story_signatures (alert_id, tag, data)"
                    " SELECT id, ?, ? FROM alerts WHERE id = ?",
                    [(tag, data, alert_id) for alert_id, data in rows],
                )
            except BaseException:  # whatever ended it: only these rows undone, re-raised
                conn.execute("ROLLBACK TO story_signatures")
                conn.execute("RELEASE story_signatures")
                raise
            conn.execute("RELEASE story_signatures")

    def prune_story_signatures(self, below_alert_id: int) -> int:
        """Delete the stored signatures of alerts older than ``below_alert_id`` (the oldest
        alert of the story window): nothing re-indexes them again. Returns the count."""
        with transaction(self.db):
            cursor = self.db.execute(
                "DELETE FROM story_signatures WHERE alert_id < ?", [below_alert_id]
            )
        return int(cursor.rowcount or 0)

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

    def alerts_by_ids(self, ids: Sequence[int]) -> list[AlertRecord]:
        """The stored alerts with these ids, in id order."""
        rows: list[AlertRecord] = []
        for chunk in chunks([str(i) for i in ids]):
            marks = ",".join("?" * len(chunk))
            rows.extend(
                alert_record(row)
                for row in self.db.execute_returning_dicts(
                    f"SELECT * FROM alerts WHERE id IN ({marks}) ORDER BY id", chunk
                )
            )
        return rows

    def story_has_source(self, story_id: int, source: str) -> bool:
        """True when the story already has an alert from this outlet."""
        row = self.db.execute(
            "SELECT 1 FROM alerts WHERE story_id = ? AND source = ? LIMIT 1", [story_id, source]
        ).fetchone()
        return row is not None

    def unrouted_alert_count(self) -> int:
        """Alerts stored while there was no alert chat at all: no chat has a row for them."""
        row = self.db.execute(
            "SELECT count(*) FROM alerts a WHERE NOT EXISTS (SELECT 1 FROM deliveries d"
            " WHERE d.alert_id = a.id AND d.kind = ?)",
            [DeliveryKind.ALERT],
        ).fetchone()
        return int(row[0])

    def unrouted_alerts(self, limit: int) -> list[AlertRecord]:
        """The latest ``limit`` unrouted alerts, oldest first (a digest's order)."""
        rows = self.db.execute_returning_dicts(
            "SELECT a.* FROM alerts a WHERE NOT EXISTS (SELECT 1 FROM deliveries d"
            " WHERE d.alert_id = a.id AND d.kind = ?) ORDER BY a.id DESC LIMIT ?",
            [DeliveryKind.ALERT, limit],
        )
        return [alert_record(row) for row in rows[::-1]]


def alert_record(row: Mapping[str, Any]) -> AlertRecord:
    """An ``alerts`` row (or a join that selects ``a.*``) as an AlertRecord."""
    return AlertRecord(
        id=int(row["id"]),
        item_key=str(row.get("item_key") or ""),
        story_id=int(row["story_id"]) if row.get("story_id") is not None else None,
        feed_url=row.get("feed_url"),
        source=str(row.get("source") or ""),
        title=str(row.get("title") or ""),
        link=row.get("link"),
        summary=str(row.get("summary") or ""),
        published_at=parse_iso(row.get("published_at")),
        created_at=parse_iso(row.get("created_at")),
        priority=priority(row.get("priority")),
        entities=tuple(str(e) for e in json_list(row.get("entities"))),
        matches=tuple(
            Hit(
                str(m.get("entity") or ""),
                str(m.get("alias") or ""),
                "summary" if m.get("field") == "summary" else "title",
            )
            for m in json_list(row.get("matches"))
            if isinstance(m, dict)
        ),
        sources=tuple(str(s) for s in json_list(row.get("sources"))),
        delivered=bool(row.get("delivered", 1)),
        fingerprint=row.get("fingerprint"),
        lang=row.get("lang"),
        incident=incident_fields(row),
    )


def stored_places(value: Any) -> tuple[PlaceRecord, ...]:
    """An ``alerts.places`` value as records: unreadable JSON is no place, an entry that is not
    an object is skipped, a bad coordinate is None (bot.core.incidents.PlaceRecord.from_json)."""
    records = (PlaceRecord.from_json(p) for p in json_list(value))
    return tuple(p for p in records if p is not None)


def incident_fields(row: Mapping[str, Any]) -> IncidentFields:
    """The incident columns of an ``alerts`` row (or a join selecting them) as a record. Never
    raises: a bad value reads as missing, an unknown type or severity is kept as text."""
    return IncidentFields.stored(
        row.get("event_type"),
        row.get("sub_event"),
        row.get("fatalities"),
        stored_places(row.get("places")),
        row.get("severity"),
    )


def _chats(value: Any) -> tuple[tuple[int | str, int | None], ...]:
    """The chats of a ``story_pending`` row: JSON [[chat id or @channel, topic or null], ...]."""
    out: list[tuple[int | str, int | None]] = []
    for entry in json_list(value):
        if isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], int | str):
            thread = entry[1] if isinstance(entry[1], int) else None
            out.append((entry[0], thread))
    return tuple(out)


def _match_json(match: Hit) -> dict[str, str]:
    return {"entity": match.entity, "alias": match.alias, "field": match.field}


def _incident_columns(incident: IncidentFields | None) -> list[Any]:
    """event_type, sub_event, fatalities, places (JSON), severity of an alert row."""
    if incident is None:
        return [None, None, None, None, None]
    places = [p.to_json() for p in incident.places]
    return [
        incident.event_type_text,
        incident.sub_event,
        incident.fatalities,
        json.dumps(places, ensure_ascii=False) if places else None,
        incident.severity_text,
    ]
