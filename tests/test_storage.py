"""SQLite storage: WAL, migrations applied once, atomic per-feed writes, unique item keys."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.core.errors import FeedLookupError
from bot.core.feed_state import FeedStatus
from bot.core.incidents import Severity
from bot.core.matching import Hit
from bot.core.models import FeedSpec
from bot.core.records import FeedState, SeverityPrefs
from bot.core.watchlist import Priority
from storage.db import open_database
from storage.maintenance import pending_delivery_count
from storage.migrations import MIGRATIONS
from storage.repository import AlertDraft, NewItem, Repository

NOW = datetime(2026, 4, 25, 6, 0, tzinfo=UTC)


def _alert(title: str) -> AlertDraft:
    return AlertDraft(
        source="RFI",
        title=title,
        link=None,
        summary="",
        published=NOW,
        entities=("JNIM",),
        matches=(Hit("JNIM", "JNIM", "title"),),
        priority=Priority.NORMAL,
        chats=((1, None), (2, 7)),
    )


def test_wal_and_migrations_once(tmp_path: Path) -> None:
    path = tmp_path / "nw.db"
    db = open_database(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    applied = [r[0] for r in db.execute("SELECT name FROM _migrations ORDER BY name")]
    assert applied == sorted(name for name, _ in MIGRATIONS)
    db.conn.close()
    again = open_database(path)
    assert again.execute("SELECT count(*) FROM _migrations").fetchone()[0] == len(MIGRATIONS)


def test_store_items_alerts_and_outbox_atomically(tmp_path: Path) -> None:
    repo = Repository(open_database(tmp_path / "nw.db"))
    repo.feeds.sync([FeedSpec(url="http://f/1")], NOW)
    items = [
        NewItem("g:1", "f/a", "http://f/1", "A", None, NOW, _alert("JNIM attack")),
        NewItem("g:2", "f/b", "http://f/1", "B", None, NOW, None),
    ]
    feed = FeedState("http://f/1")
    stored = repo.alerts.store_feed_items(
        "http://f/1", items, NOW, (feed, replace(feed, etag='"x"'))
    )
    assert len(stored) == 1 and stored[0].new_story
    assert repo.alerts.unseen_keys(["g:1", "g:2", "g:3"]) == {"g:3"}
    rows = repo.outbox.pending(NOW)
    assert sorted((r.chat_id, r.thread_id) for r in rows) == [(1, None), (2, 7)]
    assert repo.feeds.states(["http://f/1"])["http://f/1"].etag == '"x"'


def test_failed_write_rolls_back_everything(tmp_path: Path) -> None:
    repo = Repository(open_database(tmp_path / "nw.db"))
    repo.feeds.sync([FeedSpec(url="http://f/1")], NOW)
    items = [NewItem("g:1", None, "http://f/1", "A", None, NOW, _alert("JNIM attack"))]
    with pytest.raises(ValueError, match="not the same feed"):
        feed = (FeedState("http://f/1"), FeedState("http://f/2"))
        repo.alerts.store_feed_items("http://f/1", items, NOW, feed)
    assert repo.alerts.unseen_keys(["g:1"]) == {"g:1"}
    assert repo.db.execute("SELECT count(*) FROM alerts").fetchone()[0] == 0
    assert pending_delivery_count(repo.db) == 0


def test_feed_updates_are_one_transaction(tmp_path: Path) -> None:
    repo = Repository(open_database(tmp_path / "nw.db"))
    repo.feeds.sync([FeedSpec(url="http://f/1"), FeedSpec(url="http://f/2")], NOW)
    later = NOW + timedelta(minutes=5)
    one, two = repo.feeds.states().values()
    repo.feeds.save(
        [(one, replace(one, etag='"a"', next_fetch_at=later)), (two, replace(two, etag='"b"'))]
    )
    states = repo.feeds.states()
    assert (states["http://f/1"].etag, states["http://f/2"].etag) == ('"a"', '"b"')
    assert states["http://f/1"].next_fetch_at == later
    one, two = states.values()
    with pytest.raises(ValueError, match="not the same feed"):
        repo.feeds.save([(one, replace(one, etag='"c"')), (two, replace(one, etag='"d"'))])
    assert repo.feeds.states()["http://f/1"].etag == '"a"'  # the whole batch rolled back


def test_a_feed_update_writes_only_what_changed(tmp_path: Path) -> None:
    repo = Repository(open_database(tmp_path / "nw.db"))
    repo.feeds.sync([FeedSpec(url="http://f/1")], NOW)
    before = repo.feeds.states()["http://f/1"]
    statements: list[str] = []
    repo.db.conn.set_trace_callback(statements.append)
    repo.feeds.update(before, before)  # nothing changed: nothing written
    repo.feeds.update(before, replace(before, etag='"e"', status=FeedStatus.PAUSED))
    repo.db.conn.set_trace_callback(None)
    updates = [s for s in statements if s.lstrip().upper().startswith("UPDATE")]
    assert len(updates) == 1 and "[etag]" in updates[0] and "[status]" in updates[0]
    assert "[title]" not in updates[0]
    state = repo.feeds.states()["http://f/1"]
    assert (state.etag, state.status, state.created_at) == ('"e"', FeedStatus.PAUSED, NOW)


_RETRY_FEEDS = [
    "https://www.rfi.fr/fr/afrique/rss",
    "https://www.rfi.fr/en/africa/rss",
    "https://www.aljazeera.com/xml/rss/all.xml",
]


@pytest.mark.parametrize(
    ("target", "result"),
    [
        ("https://www.aljazeera.com/xml/rss/all.xml", "https://www.aljazeera.com/xml/rss/all.xml"),
        ("ALJAZEERA", "https://www.aljazeera.com/xml/rss/all.xml"),  # a unique part, any case
        ("en/africa", "https://www.rfi.fr/en/africa/rss"),
        ("rfi.fr", "2 feeds match 'rfi.fr'"),
        ("lemonde", "no feed matches 'lemonde'"),
        ("  ", "give the feed's URL"),
        ("https://old.example/rss", "no longer in the feed list"),
    ],
)
def test_retry_feed_picks_one_feed_or_says_why(tmp_path: Path, target: str, result: str) -> None:
    repo = Repository(open_database(tmp_path / "nw.db"))
    repo.feeds.sync([FeedSpec(url=u) for u in [*_RETRY_FEEDS, "https://old.example/rss"]], NOW)
    repo.feeds.sync([FeedSpec(url=u) for u in _RETRY_FEEDS], NOW)  # old.example: removed
    for before in repo.feeds.states(_RETRY_FEEDS).values():
        gone = replace(
            before, status=FeedStatus.GONE, consecutive_failures=1, last_error="HTTP 410 Gone"
        )
        repo.feeds.update(before, gone)
    if result.startswith("https://"):
        assert repo.feeds.retry(target, NOW + timedelta(hours=1)) == (result, "gone")
        state = repo.feeds.states()[result]
        assert (state.status, state.consecutive_failures, state.last_error) == (
            "active",
            0,
            None,
        )
        assert state.next_fetch_at == NOW + timedelta(hours=1)
        others = [u for u in _RETRY_FEEDS if u != result]
        assert {repo.feeds.states()[u].status for u in others} == {"gone"}
    else:
        with pytest.raises(FeedLookupError, match=result):
            repo.feeds.retry(target, NOW)
        assert {repo.feeds.states()[u].status for u in _RETRY_FEEDS} == {"gone"}


def test_feed_removed_from_list_is_kept_but_not_active(tmp_path: Path) -> None:
    repo = Repository(open_database(tmp_path / "nw.db"))
    repo.feeds.sync([FeedSpec(url="http://f/1"), FeedSpec(url="http://f/2")], NOW)
    repo.feeds.sync([FeedSpec(url="http://f/2")], NOW)
    states = repo.feeds.states()
    assert states["http://f/1"].status == "removed"
    assert states["http://f/2"].status == "active"
    repo.feeds.sync([FeedSpec(url="http://f/1")], NOW)
    assert repo.feeds.states()["http://f/1"].status == "active"


def test_every_story_member_is_kept_for_rebuilding_the_index(tmp_path: Path) -> None:
    repo = Repository(open_database(tmp_path / "nw.db"))
    repo.feeds.sync([FeedSpec(url="http://f/1")], NOW)
    first = replace(_alert("JNIM attack near Ségou"), story_fingerprint='{"fp": 1}')
    [stored] = repo.alerts.store_feed_items(
        "http://f/1", [NewItem("g:1", None, "http://f/1", "A", None, NOW, first)], NOW, None
    )
    later = replace(
        _alert("Ségou: JNIM attack"), story_id=stored.story_id, story_fingerprint='{"fp": 2}'
    )
    repo.alerts.store_feed_items(
        "http://f/1", [NewItem("g:2", None, "http://f/1", "B", None, NOW, later)], NOW, None
    )
    rows = repo.alerts.recent_story_fingerprints(NOW - timedelta(hours=72))
    assert [(sid, fp) for sid, _at, fp in rows] == [
        (stored.story_id, '{"fp": 1}'),
        (stored.story_id, '{"fp": 2}'),
    ]
    assert repo.alerts.recent_story_fingerprints(NOW + timedelta(hours=1)) == []


def test_a_restart_re_indexes_the_story_members_of_the_window(tmp_path: Path) -> None:
    # A story still being reported stays open: what a restart re-indexes is every member
    # stored within the window, also of a story whose first report is older than the window.
    repo = Repository(open_database(tmp_path / "nw.db"))
    repo.feeds.sync([FeedSpec(url="http://f/1")], NOW)
    old = NOW - timedelta(hours=100)
    [first] = repo.alerts.store_feed_items(
        "http://f/1",
        [NewItem("g:1", None, "http://f/1", "A", None, old, _alert("JNIM attack near Ségou"))],
        old,
        None,
    )
    recent = NOW - timedelta(hours=10)
    later = replace(_alert("Ségou: JNIM attack, toll rises"), story_id=first.story_id)
    repo.alerts.store_feed_items(
        "http://f/1", [NewItem("g:2", None, "http://f/1", "B", None, recent, later)], recent, None
    )
    rows = repo.alerts.recent_story_members(NOW - timedelta(hours=72))
    assert [(r.story_id, r.title) for r in rows] == [
        (first.story_id, "Ségou: JNIM attack, toll rises")
    ]
    assert len(repo.alerts.recent_story_members(old - timedelta(hours=1))) == 2
    assert repo.alerts.recent_story_members(NOW) == []


def test_severity_prefs_are_typed_and_an_unknown_stored_level_is_kept_apart(
    tmp_path: Path,
) -> None:
    repo = Repository(open_database(tmp_path / "nw.db"))
    repo.chats.set_severity_pref(-100, "*", Severity.HIGH, NOW)
    repo.chats.set_severity_pref(-100, "jnim", Severity.MEDIUM, NOW)
    with repo.db.conn:  # written by a newer version, or by hand
        repo.db.conn.execute(
            "INSERT INTO severity_prefs (chat_id, entity, min_severity, updated_at)"
            " VALUES (-100, 'wagner', 'critical', '2026-03-01T12:00:00+00:00')"
        )
    prefs = repo.chats.severity_prefs(-100)
    assert prefs.minimums == {"*": Severity.HIGH, "jnim": Severity.MEDIUM}
    assert all(type(level) is Severity for level in prefs.minimums.values())
    assert prefs.unknown == {"wagner": "critical"}
    repo.chats.set_severity_pref(-100, "jnim", None, NOW)
    assert repo.chats.severity_prefs(-100).minimums == {"*": Severity.HIGH}
    repo.chats.clear_severity_prefs(-100)
    assert repo.chats.severity_prefs(-100) == SeverityPrefs()
