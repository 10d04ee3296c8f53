"""The arrival bounds an undated report's date (bot.core.arrival_bound): what the pipeline
stores (``alerts.published_after``, migration 0018) and when grouping reads it as a date,
after a restart too. Through the whole pipeline: tests/test_dedup_pipeline.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.core.arrival_bound import (
    ARRIVAL_BOUND,
    ARRIVAL_BOUND_BURST,
    arrival_bound,
    dated_by_arrival,
    renewed_body,
)
from bot.core.records import PendingAlert
from bot.cycle.story_grouping import StoryGrouper, has_date
from storage.db import open_database
from storage.migrations import apply_migrations
from storage.repository import Repository

NOW = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
H = timedelta(hours=1)

# (previous successful poll, published, renewed body, stored bound)
STORED = [
    ("steady flow", NOW - 0.1 * H, None, False, NOW - 0.1 * H),
    ("the feed gave a date", NOW - 0.1 * H, NOW - 2 * H, False, None),
    ("first poll: a backlog of any age", None, None, False, None),
    ("body republished or new GUIDs", NOW - 0.1 * H, None, True, None),
    ("a previous poll in the future: a clock set back", NOW + H, None, False, None),
    # stored as it is known; too old to read as a date (dated_by_arrival below)
    ("after an outage", NOW - 48 * H, None, False, NOW - 48 * H),
]


@pytest.mark.parametrize(
    ("previous", "published", "renewed", "stored"),
    [c[1:] for c in STORED],
    ids=[c[0] for c in STORED],
)
def test_what_the_pipeline_stores(
    previous: datetime | None, published: datetime | None, renewed: bool, stored: datetime | None
) -> None:
    assert arrival_bound(previous, NOW, published=published, renewed=renewed) == stored


# (stored bound, whether the arrival is read as the date)
READ = [
    ("no bound", None, False),
    ("a poll minutes before", NOW - 0.1 * H, True),
    ("a 6 h feed's previous poll", NOW - 6 * H, True),
    ("exactly the bound", NOW - ARRIVAL_BOUND, True),
    ("just over the bound", NOW - ARRIVAL_BOUND - timedelta(seconds=1), False),
    ("after an outage of two days", NOW - 48 * H, False),
    ("a bound after the arrival", NOW + H, False),
]


@pytest.mark.parametrize(("bound", "dated"), [c[1:] for c in READ], ids=[c[0] for c in READ])
def test_when_the_arrival_is_read_as_the_date(bound: datetime | None, dated: bool) -> None:
    assert dated_by_arrival(bound, NOW) is dated
    assert has_date(None, bound, NOW) is dated
    assert has_date(NOW - 3 * H, bound, NOW)  # a feed's own date always counts


# (items in the body, new ones, new undated ones, looks republished)
BODIES = [
    ("one new item in a feed of one", 1, 1, 1, False),
    ("two new of twenty", 20, 2, 2, False),
    ("every item new", 20, 20, 20, True),
    ("both items of a feed of two new", 2, 2, 2, True),
    ("many new undated at once", 50, ARRIVAL_BOUND_BURST + 1, ARRIVAL_BOUND_BURST + 1, True),
    ("many new, dated but few", 50, 30, 2, False),
    ("the burst limit itself", 50, ARRIVAL_BOUND_BURST, ARRIVAL_BOUND_BURST, False),
]


@pytest.mark.parametrize(
    ("items", "new", "new_undated", "renewed"), [c[1:] for c in BODIES], ids=[c[0] for c in BODIES]
)
def test_a_body_that_looks_republished(
    items: int, new: int, new_undated: int, renewed: bool
) -> None:
    assert renewed_body(items, new, new_undated) is renewed


def _pending(repo: Repository, published_after: datetime | None, title: str) -> PendingAlert:
    alert_id = int(
        repo.db.execute(
            "INSERT INTO alerts (item_key, feed_url, source, title, summary, created_at,"
            " entities, matches, priority, published_after) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                title,
                "https://a.example/rss",
                "A",
                title,
                "",
                NOW.isoformat(),
                '["Mali"]',
                "[]",
                "normal",
                published_after.isoformat() if published_after else None,
            ],
        ).lastrowid
        or 0
    )
    repo.db.execute("INSERT INTO story_pending (alert_id, chats) VALUES (?, '[]')", [alert_id])
    return next(p for p in repo.alerts.pending_story_alerts() if p.alert_id == alert_id)


@pytest.mark.parametrize("bounded", [True, False], ids=["bounded", "undated"])
def test_the_bound_survives_a_restart(tmp_path: Path, bounded: bool) -> None:
    """The bound is stored: a restart re-indexes the member as dated at its arrival."""
    repo = Repository(open_database(tmp_path / "nw.db"))
    bound = NOW - 0.1 * H if bounded else None
    pending = _pending(repo, bound, "Goïta pardons the 46 Ivorian soldiers")
    assert pending.published_after == bound
    grouper = StoryGrouper(repo, timedelta(hours=72))
    filed, left = grouper.group_pending(NOW)
    assert len(filed) == 1 and left == 0
    members = repo.alerts.recent_story_members(NOW - timedelta(hours=72))
    assert [m.published_after for m in members] == [bound]
    restarted = StoryGrouper(repo, timedelta(hours=72))
    restarted.load(NOW)
    ((*_rest, dated),) = [m for m in restarted.index._members if m is not None]
    assert dated is bounded


def test_migration_0018_adds_the_bound_and_old_alerts_stay_undated(tmp_path: Path) -> None:
    db = open_database(tmp_path / "old.db")
    # The database as it was before 0018: no published_after column.
    db.execute("ALTER TABLE alerts DROP COLUMN published_after")
    db.execute("DELETE FROM _migrations WHERE name = '0018_alert_published_after'")
    db.execute(
        "INSERT INTO stories (title, created_at, updated_at, outlets) VALUES ('t', ?, ?, '[]')",
        [NOW.isoformat(), NOW.isoformat()],
    )
    db.execute(
        "INSERT INTO alerts (item_key, story_id, source, title, summary, created_at, entities,"
        " matches, priority) VALUES ('k', 1, 'A', 'Mali: old alert', '', ?, '[]', '[]', 'normal')",
        [NOW.isoformat()],
    )
    assert apply_migrations(db) == ["0018_alert_published_after"]
    assert db.execute("SELECT published_after FROM alerts").fetchall() == [(None,)]
    (member,) = Repository(db).alerts.recent_story_members(NOW - H)
    assert member.published_at is None and member.published_after is None  # still undated
    assert apply_migrations(db) == []  # once
