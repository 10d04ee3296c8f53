"""Read-only queries on a real SQLite file seeded through the repository (FTS triggers fire)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.core.errors import SearchError
from bot.core.incidents import EventType, IncidentFields
from bot.core.records import AlertRecord, EventTypeCounts
from bot.core.search_query import IncidentFilter, parse_search
from bot.core.watchlist import Priority
from storage.db import open_database
from storage.queries import Queries
from storage.repository import AlertDraft, NewItem, Repository
from tests.commands_seed import SEEDS, seed_alerts

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(scope="module")
def q(tmp_path_factory: pytest.TempPathFactory) -> Queries:
    repo = seed_alerts(tmp_path_factory.mktemp("q") / "q.db", NOW)
    return Queries(repo.db)


def titles(rows: Iterable[AlertRecord]) -> list[str]:
    return [r.title for r in rows]


def test_recent_by_count_and_period(q: Queries) -> None:
    newest = sorted(SEEDS, key=lambda s: s.hours_ago)
    assert titles(q.recent(limit=3)) == [s.title for s in newest[:3]]
    assert len(q.recent(since=NOW - timedelta(hours=10))) == 4


@pytest.mark.parametrize(
    ("text", "count"),
    [("jama'at", 1), ("Goita", 2), ("GOÏTA", 2), ("tinzaouatene", 1), ("JNIM", 7),
     ("jnim since:1d", 3), ("kid*", 1), ('"army positions"', 2), ("France 24", 1)],
)  # fmt: skip
def test_search(q: Queries, text: str, count: int) -> None:
    query = parse_search(text)
    since = NOW - query.since if query.since else None
    page = q.search(query.match, since=since, limit=50)
    assert page.total == count == len(page.rows), titles(page.rows)


def test_search_paging_and_raw_syntax_errors(q: Queries) -> None:
    first = q.search('"mali"', limit=3)
    second = q.search('"mali"', limit=3, offset=3)
    assert first.total == second.total > 6
    assert not set(titles(first.rows)) & set(titles(second.rows))
    with pytest.raises(SearchError):
        q.search("jama'at")  # raw user text is what parse_search exists for


def test_fts_follows_updates_and_deletes(q: Queries) -> None:
    db = q.db
    alert_id = db.execute("SELECT id FROM alerts WHERE source = 'UN News'").fetchone()[0]
    db.execute("UPDATE alerts SET title = 'Zanzibar placeholder' WHERE id = ?", [alert_id])
    assert q.search('"zanzibar"').total == 1
    db.execute("DELETE FROM alerts WHERE id = ?", [alert_id])
    assert q.search('"zanzibar"').total == 0
    assert q.search('"minusma"').total == 0


def test_entity_story_stats_trend(q: Queries) -> None:
    assert q.entity("JNIM").total == 7
    assert q.entity("JNIM", since=NOW - timedelta(days=1)).total == 3
    story_id = q.recent(limit=1)[0].story_id
    assert story_id is not None
    story, alerts = q.story(story_id)
    assert story is not None and [a.source for a in alerts] == ["RFI Afrique", "France 24"]
    assert q.story(999_999) == (None, [])
    week = NOW - timedelta(days=7)
    # Stories: the RFI and France 24 reports of the Bamako attack are one JNIM story.
    assert q.counts_by_entity(week, NOW + timedelta(seconds=1))["JNIM"] == 3
    assert q.report_count(week, NOW + timedelta(seconds=1)) > q.count(
        week, NOW + timedelta(seconds=1)
    )
    assert q.counts_by_source(week, NOW + timedelta(seconds=1))["RFI Afrique"] == 2
    daily = q.daily_counts("JNIM", NOW - timedelta(days=30), NOW + timedelta(seconds=1))
    assert sum(daily.values()) == 7
    assert "Kidal" in q.entity_names() and "RFI Afrique" in q.source_names()


def test_export_rows_oldest_first(q: Queries) -> None:
    rows = list(q.export_rows())
    stamps = [r.created_at for r in rows if r.created_at is not None]
    assert len(stamps) == len(rows)
    assert stamps == sorted(stamps) and len(rows) >= 11


def test_periods_and_order_use_publication_time(tmp_path: Path) -> None:
    """/recent 30m listed items published 77 minutes earlier, sorted by arrival."""
    repo = Repository(open_database(tmp_path / "t.db"))

    def store(key: str, title: str, arrived: datetime, published: datetime | None) -> None:
        draft = AlertDraft(
            source="Wire", title=title, link=None, summary="", published=published,
            entities=("Mali",), matches=(), priority=Priority.NORMAL, chats=(),
        )  # fmt: skip
        item = NewItem(key, None, "https://f.example/rss", title, None, published, alert=draft)
        repo.alerts.store_feed_items("https://f.example/rss", [item], arrived, None, ())

    store("old", "Published 77 minutes ago, arrived now", NOW, NOW - timedelta(minutes=77))
    store("new", "Published 2 minutes ago", NOW - timedelta(minutes=5), NOW - timedelta(minutes=2))
    store("undated", "No date, arrived 10 minutes ago", NOW - timedelta(minutes=10), None)
    q = Queries(repo.db)
    assert titles(q.recent(since=NOW - timedelta(minutes=30))) == [
        "Published 2 minutes ago",
        "No date, arrived 10 minutes ago",
    ]
    assert titles(q.recent(limit=3))[-1] == "Published 77 minutes ago, arrived now"
    assert next(iter(q.export_rows())).title == "Published 77 minutes ago, arrived now"
    assert q.search('"published"', since=NOW - timedelta(minutes=30)).total == 1
    assert q.count(NOW - timedelta(minutes=30), NOW + timedelta(seconds=1)) == 2


def test_incident_filter_and_counts_by_event_type(tmp_path: Path) -> None:
    """``type:`` filters on EventType members and sub-events; the counts per event type come
    back as EventType members, a stored type this version does not know by its text, and the
    stories of other news apart (shown as "none")."""
    repo = Repository(open_database(tmp_path / "t.db"))
    stored = [
        ("b1", "Clash near Boulkessi", EventType.BATTLES, None),
        ("b2", "Second clash near Menaka", EventType.BATTLES, None),
        ("d1", "Drone strike in Kidal", EventType.EXPLOSIONS, "air/drone strike"),
        ("x1", "Looting in a market", EventType.RIOTS, None),  # rewritten below
        ("n1", "Minister visits Bamako", None, None),
    ]
    for key, title, kind, sub_event in stored:
        incident = IncidentFields(event_type=kind, sub_event=sub_event) if kind else None
        draft = AlertDraft(
            source="Wire", title=title, link=None, summary="", published=NOW,
            entities=("Mali",), matches=(), priority=Priority.NORMAL, chats=(), incident=incident,
        )  # fmt: skip
        item = NewItem(key, None, "https://f.example/rss", title, None, NOW, alert=draft)
        repo.alerts.store_feed_items("https://f.example/rss", [item], NOW, None, ())
    with repo.db.conn:  # as a newer version would have stored it
        repo.db.execute("UPDATE alerts SET event_type = 'looting' WHERE title LIKE 'Looting%'")
    q = Queries(repo.db)

    def found(incident: IncidentFilter) -> list[str]:
        return sorted(titles(q.search(None, limit=50, incident=incident).rows))

    assert found(IncidentFilter(event_types=(EventType.BATTLES,))) == [
        "Clash near Boulkessi",
        "Second clash near Menaka",
    ]
    query = parse_search("type:drone type:battle")
    assert query.event_types == (EventType.BATTLES,)
    assert query.sub_events == ("air/drone strike",)
    assert found(IncidentFilter(query.event_types, query.sub_events)) == [
        "Clash near Boulkessi",
        "Drone strike in Kidal",
        "Second clash near Menaka",
    ]
    assert found(IncidentFilter(event_types=(EventType.PROTESTS,))) == []

    counts = q.counts_by_event_type(NOW - timedelta(hours=1), NOW + timedelta(hours=1))
    assert counts == EventTypeCounts(
        by_type={EventType.BATTLES: 2, EventType.EXPLOSIONS: 1},
        other={"looting": 1},
        not_incident=1,
    )
    assert all(type(kind) is EventType for kind in counts.by_type)
    assert counts.named() == {
        "battles": 2,
        "explosions_remote_violence": 1,
        "looting": 1,
        "none": 1,
    }
    assert q.counts_by_event_type(NOW - timedelta(days=9), NOW - timedelta(days=8)).named() == {}


def test_story_lists_its_first_alert_first_then_by_event_time(tmp_path: Path) -> None:
    """A cycle files its alerts in event order, so a story's first alert (the one its message
    was sent for) can be stored after its other reports: /story and the web page list it
    first all the same, then the others by publication time, not by storing order."""
    repo = seed_alerts(tmp_path / "order.db", NOW)
    q = Queries(repo.db)
    story_id = q.recent(limit=1)[0].story_id
    assert story_id is not None
    _story, before = q.story(story_id)
    first, other = before[0], before[1]
    # Make the later-stored report the story's first, published before the other one.
    repo.db.execute("UPDATE stories SET first_alert_id = ? WHERE id = ?", [other.id, story_id])
    repo.db.execute(
        "UPDATE alerts SET published_at = ? WHERE id = ?",
        [(NOW - timedelta(days=3)).isoformat(), other.id],
    )
    _story, after = q.story(story_id)
    assert [a.id for a in after] == [other.id, first.id]
    # Without a first alert (an older database), event time decides.
    repo.db.execute("UPDATE stories SET first_alert_id = NULL WHERE id = ?", [story_id])
    _story, undated_first = q.story(story_id)
    assert [a.id for a in undated_first] == [other.id, first.id]
    repo.db.execute(
        "UPDATE alerts SET published_at = NULL, created_at = ? WHERE id = ?",
        [(NOW + timedelta(hours=1)).isoformat(), other.id],
    )
    _story, by_arrival = q.story(story_id)
    assert [a.id for a in by_arrival] == [first.id, other.id]
