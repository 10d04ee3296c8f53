"""The feeds aggregate: the feed list as stored, each feed's state, and its schedule."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import fields as dataclass_fields
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from bot.core.errors import FeedLookupError
from bot.core.feed_state import FeedStatus
from bot.core.models import FeedSpec
from bot.core.records import FeedState, error_kind, feed_status
from storage.columns import chunks, iso, parse_iso
from storage.sqlite_utils_loader import Database
from storage.transactions import transaction


def write_feed_changes(db: Database, before: FeedState, after: FeedState) -> None:
    """Store what changed from ``before`` to ``after`` (the same feed), inside the caller's
    transaction: one UPDATE of the changed columns, nothing when nothing changed. The column
    names are FeedState's field names, never user input."""
    fields = before.changes(after)
    if not fields:
        return
    values = [iso(v) if isinstance(v, datetime) else v for v in fields.values()]
    assignments = ", ".join(f"[{name}] = ?" for name in fields)
    db.execute(f"UPDATE feeds SET {assignments} WHERE url = ?", [*values, before.url])


_TIMES = frozenset(
    f.name for f in dataclass_fields(FeedState) if f.type in ("datetime | None", datetime | None)
)
_COLUMNS = frozenset(f.name for f in dataclass_fields(FeedState))


def feed_state(row: dict[str, Any]) -> FeedState:
    """A ``feeds`` row as a FeedState (columns the record does not know are ignored)."""
    values: dict[str, Any] = {}
    for name in _COLUMNS:
        if name not in row:
            continue
        value = row[name]
        if name in _TIMES:
            value = parse_iso(value)
        values[name] = value
    values["status"] = feed_status(row.get("status"))
    values["last_error_kind"] = error_kind(row.get("last_error_kind"))
    values["consecutive_failures"] = int(row.get("consecutive_failures") or 0)
    values["items_total"] = int(row.get("items_total") or 0)
    return FeedState(**values)


class FeedStore:
    """Reads and writes of the ``feeds`` table."""

    def __init__(self, db: Database):
        self.db = db

    def sync(self, specs: Sequence[FeedSpec], now: datetime) -> None:
        """Insert feeds not yet known; refresh titles/origins; keep all stored state."""
        with transaction(self.db):
            self.db.conn.executemany(
                "INSERT INTO feeds (url, title, origin, status, created_at, consecutive_failures,"
                " items_total) VALUES (?, ?, ?, ?, ?, 0, 0) ON CONFLICT(url) DO UPDATE SET"
                " origin = excluded.origin,"
                " title = COALESCE(feeds.title, excluded.title),"
                # a feed back in the list after its removal is active again
                " status = CASE WHEN feeds.status = ? THEN excluded.status ELSE feeds.status END",
                [
                    (s.url, s.title, s.origin, FeedStatus.ACTIVE, iso(now), FeedStatus.REMOVED)
                    for s in specs
                ],
            )
            urls = [s.url for s in specs]
            if urls:
                marks = ",".join("?" * len(urls))
                self.db.execute(
                    f"UPDATE feeds SET status = ? WHERE status = ? AND url NOT IN ({marks})",
                    [FeedStatus.REMOVED, FeedStatus.ACTIVE, *urls],
                )

    def states(self, urls: Iterable[str] | None = None) -> dict[str, FeedState]:
        """Stored states by URL: every feed (in URL order), or those of ``urls`` known."""
        if urls is None:
            rows = self.db.execute_returning_dicts("SELECT * FROM feeds ORDER BY url")
            return {row["url"]: feed_state(row) for row in rows}
        result: dict[str, FeedState] = {}
        for chunk in chunks(list(urls)):
            marks = ",".join("?" * len(chunk))
            for row in self.db.execute_returning_dicts(
                f"SELECT * FROM feeds WHERE url IN ({marks})", chunk
            ):
                result[row["url"]] = feed_state(row)
        return result

    def save(self, changes: Sequence[tuple[FeedState, FeedState]]) -> None:
        """Store what changed from each ``before`` to its ``after`` (built from it with
        ``dataclasses.replace``), in one transaction (a cycle's 304s: one commit, not 1,000),
        one UPDATE per feed that changed. A pair of two different feeds raises ValueError and
        nothing of the batch is stored."""
        if not changes:
            return
        with transaction(self.db):
            for before, after in changes:
                write_feed_changes(self.db, before, after)

    def update(self, before: FeedState, after: FeedState) -> None:
        """Store what changed from ``before`` to ``after``: ``save`` for one feed."""
        self.save([(before, after)])

    def next_due_at(self) -> datetime | None:
        """The earliest moment a feed that can be fetched becomes due (None: no such feed)."""
        row = self.db.execute(
            "SELECT min(max(COALESCE(next_fetch_at, ''), COALESCE(retry_not_before, '')))"
            " FROM feeds WHERE status IN (?, ?)",
            [FeedStatus.ACTIVE, FeedStatus.PAUSED],
        ).fetchone()
        if row is None or row[0] is None:
            return None
        return parse_iso(row[0]) or datetime.now(UTC)

    def retry(self, target: str, now: datetime) -> tuple[str, FeedStatus]:
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
        url, status = found[0]["url"], feed_status(found[0]["status"])
        if status is FeedStatus.REMOVED:
            raise FeedLookupError(
                f"{url} is no longer in the feed list: add it back to the list instead"
            )
        before = self.states([url])[url]
        self.update(
            before,
            replace(
                before,
                status=FeedStatus.ACTIVE,
                consecutive_failures=0,
                paused_at=None,
                retry_not_before=None,
                last_error=None,
                last_error_kind=None,
                next_fetch_at=now,
            ),
        )
        return url, status
