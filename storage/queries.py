"""Read-only queries behind the bot commands: recent, search, entity, story, stats, export."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from bot.core.errors import SearchError
from bot.core.incidents import EventType
from bot.core.records import (
    AlertRecord,
    EventTypeCounts,
    FeedState,
    IncidentRecord,
    StoryRecord,
    WeakMatchRecord,
)
from bot.core.search_query import IncidentFilter, Page
from storage.alerts import alert_record, incident_fields
from storage.columns import json_list, parse_iso
from storage.feeds import feed_state
from storage.repository import iso
from storage.sqlite_utils_loader import Database

_ENTITY_FILTER = "EXISTS (SELECT 1 FROM json_each(a.entities) WHERE json_each.value = ?)"
# An alert's time, for every period filter, sort and count: its publication time, falling back
# to its arrival, never later than its arrival (bot.core.reports.alert_time is the same rule).
# Migration 0009 indexes exactly this expression (idx_alerts_when).
WHEN_SQL = "min(coalesce(a.published_at, a.created_at), a.created_at)"
# A story, for counting: its id, or the alert itself when it has none.
_STORY = "coalesce(a.story_id, -a.id)"


def _incident_sql(incident: IncidentFilter) -> tuple[str, list[Any]]:
    """The ``AND …`` clauses and parameters of an incident filter over alerts ``a``."""
    parts: list[str] = []
    params: list[Any] = []
    kinds = []
    if incident.event_types:
        kinds.append(f"a.event_type IN ({','.join('?' * len(incident.event_types))})")
        params += incident.event_types
    if incident.sub_events:
        kinds.append(f"a.sub_event IN ({','.join('?' * len(incident.sub_events))})")
        params += incident.sub_events
    if kinds:
        parts.append("(" + " OR ".join(kinds) + ")")
    if incident.place_ids:
        marks = ",".join("?" * len(incident.place_ids))
        parts.append(
            "EXISTS (SELECT 1 FROM json_each(a.places)"
            f" WHERE json_extract(json_each.value, '$.id') IN ({marks}))"
        )
        params += incident.place_ids
    return "".join(f" AND {p}" for p in parts), params


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _weak_record(row: dict[str, Any]) -> WeakMatchRecord:
    """A ``weak_matches`` row as its record."""
    return WeakMatchRecord(
        id=int(row["id"]),
        item_key=str(row["item_key"]),
        feed_url=_text(row["feed_url"]),
        source=_text(row["source"]),
        title=_text(row["title"]),
        link=_text(row["link"]),
        summary=_text(row["summary"]),
        published_at=parse_iso(row["published_at"]),
        created_at=parse_iso(row["created_at"]),
        entities=tuple(str(e) for e in json_list(row["entities"])),
        reasons=tuple(str(r) for r in json_list(row["reasons"])),
    )


def _story_record(row: dict[str, Any]) -> StoryRecord:
    """A ``stories`` row as its record."""
    return StoryRecord(
        id=int(row["id"]),
        title=_text(row["title"]),
        created_at=parse_iso(row["created_at"]),
        updated_at=parse_iso(row["updated_at"]),
        fingerprint=_text(row["fingerprint"]),
        first_alert_id=None if row["first_alert_id"] is None else int(row["first_alert_id"]),
        outlets=tuple(str(o) for o in json_list(row["outlets"])),
        edited_outlets=int(row["edited_outlets"] or 0),
        last_edit_at=parse_iso(row["last_edit_at"]),
    )


def _incident_record(row: dict[str, Any]) -> IncidentRecord:
    """An alert's incident columns as a record (places decoded; a bad value reads as none)."""
    return IncidentRecord(
        id=int(row["id"]),
        story_id=None if row["story_id"] is None else int(row["story_id"]),
        title=_text(row["title"]),
        incident=incident_fields(row),
        at=parse_iso(row["at"]),
    )


class Queries:
    """Reads over the alerts, stories and feeds tables. Never writes."""

    def __init__(self, db: Database):
        self.db = db

    def recent(
        self, *, limit: int | None = None, since: datetime | None = None
    ) -> list[AlertRecord]:
        """The latest alerts, newest first: the last ``limit``, or all since ``since``."""
        where, params = self._since(since)
        sql = f"SELECT a.* FROM alerts a {where} ORDER BY {WHEN_SQL} DESC, a.id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [alert_record(r) for r in self.db.execute_returning_dicts(sql, params)]

    def search(
        self,
        match: str | None,
        *,
        since: datetime | None = None,
        limit: int = 10,
        offset: int = 0,
        incident: IncidentFilter | None = None,
    ) -> Page[AlertRecord]:
        """Alerts matching an FTS5 expression (built by bot.core.search_query), newest first;
        ``incident`` narrows to event types, sub-events and places (``match`` may then be
        None)."""
        where, params = self._since(since, prefix="AND")
        if match is not None:
            base = (
                "FROM alerts_fts JOIN alerts a ON a.id = alerts_fts.rowid WHERE alerts_fts MATCH ?"
            )
            params = [match, *params]
        else:
            base = "FROM alerts a WHERE 1"
        base += f" {where}"
        if incident is not None:
            extra, extra_params = _incident_sql(incident)
            base += extra
            params += extra_params
        try:
            total = int(self.db.execute(f"SELECT count(*) {base}", params).fetchone()[0])
            rows = self.db.execute_returning_dicts(
                f"SELECT a.* {base} ORDER BY {WHEN_SQL} DESC, a.id DESC LIMIT ? OFFSET ?",
                [*params, limit, offset],
            )
        except sqlite3.OperationalError as exc:
            raise SearchError(str(exc)) from exc
        return Page(rows=[alert_record(r) for r in rows], total=total)

    def search_weak(
        self, match: str, *, since: datetime | None = None, limit: int = 5
    ) -> Page[WeakMatchRecord]:
        """Weak matches (stored, never alerted) matching an FTS5 expression, newest first."""
        where, params = ("AND w.created_at >= ?", [iso(since)]) if since else ("", [])
        base = (
            "FROM weak_matches_fts JOIN weak_matches w ON w.id = weak_matches_fts.rowid"
            f" WHERE weak_matches_fts MATCH ? {where}"
        )
        try:
            total = int(self.db.execute(f"SELECT count(*) {base}", [match, *params]).fetchone()[0])
            rows = self.db.execute_returning_dicts(
                f"SELECT w.* {base} ORDER BY w.created_at DESC, w.id DESC LIMIT ?",
                [match, *params, limit],
            )
        except sqlite3.OperationalError as exc:
            raise SearchError(str(exc)) from exc
        return Page(rows=[_weak_record(r) for r in rows], total=total)

    def entity(
        self, name: str, *, since: datetime | None = None, limit: int = 50
    ) -> Page[AlertRecord]:
        """Alerts for one watched entity (exact stored name), newest first."""
        where, params = self._since(since, prefix="AND")
        base = f"FROM alerts a WHERE {_ENTITY_FILTER} {where}"
        total = int(self.db.execute(f"SELECT count(*) {base}", [name, *params]).fetchone()[0])
        rows = self.db.execute_returning_dicts(
            f"SELECT a.* {base} ORDER BY {WHEN_SQL} DESC, a.id DESC LIMIT ?",
            [name, *params, limit],
        )
        return Page(rows=[alert_record(r) for r in rows], total=total)

    def incident_rows(
        self, start: datetime, end: datetime, entity: str | None = None
    ) -> list[IncidentRecord]:
        """Alerts with an incident type and places in [start, end), optionally of one entity."""
        sql = (
            "SELECT a.id, a.story_id, a.title, a.event_type, a.sub_event, a.fatalities,"
            f" a.places, a.severity, {WHEN_SQL} AS at FROM alerts a"
            " WHERE a.event_type IS NOT NULL AND a.places IS NOT NULL"
            f" AND {WHEN_SQL} >= ? AND {WHEN_SQL} < ?"
        )
        params: list[Any] = [iso(start), iso(end)]
        if entity:
            sql += f" AND {_ENTITY_FILTER}"
            params.append(entity)
        rows = self.db.execute_returning_dicts(sql + " ORDER BY a.id", params)
        return [_incident_record(r) for r in rows]

    def counts_by_event_type(self, start: datetime, end: datetime) -> EventTypeCounts:
        """Stories per incident event type in [start, end), and the stories of other news."""
        rows = self.db.execute(
            "SELECT a.event_type, count(DISTINCT coalesce(a.story_id, -a.id))"
            f" FROM alerts a WHERE {WHEN_SQL} >= ? AND {WHEN_SQL} < ? GROUP BY 1",
            [iso(start), iso(end)],
        )
        by_type: dict[EventType, int] = {}
        other: dict[str, int] = {}
        not_incident = 0
        for stored, stories in rows:
            if stored is None or stored == "":  # as IncidentFields reads it: no incident
                not_incident += int(stories)
                continue
            try:
                by_type[EventType(str(stored))] = int(stories)
            except ValueError:  # a type this version does not know: counted by its stored text
                other[str(stored)] = int(stories)
        return EventTypeCounts(by_type, other, not_incident)

    def entity_names(self) -> list[str]:
        """Every entity name that appears in a stored alert."""
        return [
            str(r[0])
            for r in self.db.execute(
                "SELECT DISTINCT json_each.value FROM alerts, json_each(alerts.entities) ORDER BY 1"
            )
        ]

    def source_names(self) -> list[str]:
        """Every source (outlet or feed title) that appears in a stored alert, or a feed title."""
        names = {str(r[0]) for r in self.db.execute("SELECT DISTINCT source FROM alerts") if r[0]}
        names |= {str(r[0]) for r in self.db.execute("SELECT title FROM feeds") if r[0]}
        return sorted(names)

    def story(self, story_id: int) -> tuple[StoryRecord | None, list[AlertRecord]]:
        """A story and its alerts: the alert its message was sent for first, then the others
        by event time (publication, never later than arrival)."""
        rows = self.db.execute_returning_dicts("SELECT * FROM stories WHERE id = ?", [story_id])
        if not rows:
            return None, []
        alerts = self.db.execute_returning_dicts(
            "SELECT a.* FROM alerts a WHERE a.story_id = ?"
            f" ORDER BY a.id != coalesce(?, a.id), {WHEN_SQL}, a.id",
            [story_id, rows[0].get("first_alert_id")],
        )
        return _story_record(rows[0]), [alert_record(a) for a in alerts]

    def count(self, start: datetime, end: datetime) -> int:
        """Stories with a report in [start, end): what /stats counts (not reports)."""
        row = self.db.execute(
            f"SELECT count(DISTINCT {_STORY}) FROM alerts a"
            f" WHERE {WHEN_SQL} >= ? AND {WHEN_SQL} < ?",
            [iso(start), iso(end)],
        ).fetchone()
        return int(row[0])

    def report_count(self, start: datetime, end: datetime) -> int:
        """Reports (alerts) in [start, end): several outlets' reports of one story count each."""
        row = self.db.execute(
            f"SELECT count(*) FROM alerts a WHERE {WHEN_SQL} >= ? AND {WHEN_SQL} < ?",
            [iso(start), iso(end)],
        ).fetchone()
        return int(row[0])

    def counts_by_entity(self, start: datetime, end: datetime) -> dict[str, int]:
        """Stories per entity in [start, end)."""
        return {
            str(r[0]): int(r[1])
            for r in self.db.execute(
                f"SELECT json_each.value, count(DISTINCT {_STORY}) FROM alerts a,"
                f" json_each(a.entities) WHERE {WHEN_SQL} >= ? AND {WHEN_SQL} < ?"
                " GROUP BY json_each.value",
                [iso(start), iso(end)],
            )
        }

    def counts_by_source(self, start: datetime, end: datetime) -> dict[str, int]:
        """Stories each source reported in [start, end)."""
        return {
            str(r[0]): int(r[1])
            for r in self.db.execute(
                f"SELECT a.source, count(DISTINCT {_STORY}) FROM alerts a WHERE {WHEN_SQL} >= ?"
                f" AND {WHEN_SQL} < ? GROUP BY a.source",
                [iso(start), iso(end)],
            )
        }

    def daily_counts(self, entity: str, start: datetime, end: datetime) -> dict[str, int]:
        """Alerts per UTC day (``YYYY-MM-DD``) mentioning ``entity``."""
        return {
            str(r[0]): int(r[1])
            for r in self.db.execute(
                f"SELECT substr({WHEN_SQL}, 1, 10), count(*) FROM alerts a WHERE {_ENTITY_FILTER}"
                f" AND {WHEN_SQL} >= ? AND {WHEN_SQL} < ? GROUP BY 1",
                [entity, iso(start), iso(end)],
            )
        }

    def entity_times(self, entity: str, start: datetime, end: datetime) -> list[datetime]:
        """The time (``WHEN_SQL``) of every alert mentioning ``entity`` in [start, end)."""
        return [
            datetime.fromisoformat(str(r[0]))
            for r in self.db.execute(
                f"SELECT {WHEN_SQL} FROM alerts a WHERE {_ENTITY_FILTER}"
                f" AND {WHEN_SQL} >= ? AND {WHEN_SQL} < ?",
                [entity, iso(start), iso(end)],
            )
        ]

    def feeds(self) -> list[FeedState]:
        """Every stored feed (removed ones too), by URL."""
        return [
            feed_state(r)
            for r in self.db.execute_returning_dicts("SELECT * FROM feeds ORDER BY url")
        ]

    def export_rows(self, since: datetime | None = None) -> Iterator[AlertRecord]:
        """Alerts for the CSV export (``AlertRecord.as_csv_row``), oldest first, streamed."""
        where, params = self._since(since)
        cursor = self.db.execute(
            f"SELECT a.* FROM alerts a {where} ORDER BY {WHEN_SQL}, a.id", params
        )
        columns = [d[0] for d in cursor.description]
        for row in cursor:
            yield alert_record(dict(zip(columns, row, strict=True)))

    @staticmethod
    def _since(since: datetime | None, prefix: str = "WHERE") -> tuple[str, list[Any]]:
        if since is None:
            return "", []
        return f"{prefix} {WHEN_SQL} >= ?", [iso(since)]
