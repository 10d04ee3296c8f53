"""Retention: old alerts, deliveries and stories go; dedup keys stay while a feed may carry them."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.core.records import NoticeStatus
from storage.maintenance import backup, database_size, integrity_check, prune
from storage.repository import Repository
from tests.fakes.feed_server import FeedServer, rfc822, rss
from tests.harness import make_pipeline
from tests.test_feed_faults import RecordingDeliverer

NOW = datetime.now(UTC).replace(microsecond=0)
ITEMS = {
    "a1": "Mali: JNIM fighters ambush a convoy near Boulkessi",
    "a2": "Assimi Goïta reshuffles the government in Bamako",
    "a3": "Africa Corps instructors arrive at the Kidal base",
}


def feed(*keys: str, at: datetime) -> str:
    return rss(
        [
            {
                "title": ITEMS[k],
                "link": f"https://news.example.org/{k}",
                "guid": k,
                "pubDate": rfc822(at.timestamp() - 600),
            }
            for k in keys
        ]
    )


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def keys(repo: Repository) -> set[str]:
    return {r[0] for r in repo.db.execute("SELECT key FROM items")}


def scenario(tmp_path: Path, *, paused_feed: bool) -> tuple[Repository, RecordingDeliverer]:
    """t0 = 200 days ago: a1, a2 alert. t1 = 100 days ago: the feed now carries a2, a3."""
    t0, t1 = NOW - timedelta(days=200), NOW - timedelta(days=100)
    with FeedServer() as server:
        server.set("/a.xml", feed("a1", "a2", at=t0))
        server.set("/b.xml", rss([{"title": "Weather", "guid": "b1"}]))
        urls = [server.url("/a.xml")] + ([server.url("/b.xml")] if paused_feed else [])
        deliverer = RecordingDeliverer()
        pipeline, repo, fetcher, _ = make_pipeline(
            tmp_path / "nw.db", urls, deliverer=deliverer, chat_ids=(1,), stories=False
        )
        clock = Clock(t0)
        pipeline.clock = clock

        async def run() -> None:
            try:
                await pipeline.run_cycle(force=True)
                clock.now = t1
                server.set("/a.xml", feed("a2", "a3", at=t1))
                server.set("/b.xml", "", status=500)  # b fails from now on
                await pipeline.run_cycle(force=True)
            finally:
                await fetcher.aclose()

        asyncio.run(run())
    return repo, deliverer


def test_old_alerts_go_but_keys_still_carried_by_a_feed_stay(tmp_path: Path) -> None:
    repo, deliverer = scenario(tmp_path, paused_feed=False)
    assert len(deliverer.alerts) == 3
    before = keys(repo)
    report = prune(repo.db, NOW, retention_days=180)
    # a1 and a2 alerted at t0 (200 days ago): their alerts and deliveries go.
    assert (report.alerts, report.deliveries) == (2, 2)
    assert repo.db.execute("SELECT count(*) FROM alerts").fetchone()[0] == 1
    assert repo.db.execute("SELECT count(*) FROM deliveries").fetchone()[0] == 1
    # a1 left the feed 100 days ago (seen last at t0): its key goes. a2 is still in the feed.
    remaining = keys(repo)
    assert len(before - remaining) == report.items == 1
    assert len(remaining) == 2
    assert integrity_check(repo.db) == "ok"
    assert prune(repo.db, NOW, retention_days=180).alerts == 0  # idempotent


def test_pruning_never_makes_a_still_served_item_alert_again(tmp_path: Path) -> None:
    repo, _deliverer = scenario(tmp_path, paused_feed=False)
    prune(repo.db, NOW, retention_days=180)
    with FeedServer() as server:
        server.set("/a.xml", feed("a2", "a3", at=NOW))
        again = RecordingDeliverer()
        pipeline, _repo2, fetcher, _ = make_pipeline(
            Path(repo.db.conn.execute("PRAGMA database_list").fetchone()[2]),
            [server.url("/a.xml")],
            deliverer=again,
            chat_ids=(1,),
            stories=False,
        )

        async def run() -> None:
            try:
                await pipeline.run_cycle(force=True)
            finally:
                await fetcher.aclose()

        # the feed URL differs (new server port): same items, seen through a "new" feed
        asyncio.run(run())
    assert again.alerts == [], "a2 and a3 are remembered; nothing alerts again"


def test_a_paused_feed_blocks_key_pruning_until_it_is_parsed_again(tmp_path: Path) -> None:
    repo, _ = scenario(tmp_path, paused_feed=True)
    report = prune(repo.db, NOW, retention_days=180)
    assert report.alerts == 2  # alerts still go by age
    assert report.items == 0  # but feed b (failing since t1) may still carry old keys


def test_database_size_and_backup_while_open(tmp_path: Path) -> None:
    repo, _ = scenario(tmp_path, paused_feed=False)
    size = database_size(tmp_path / "nw.db")
    assert size > 10_000
    copy = backup(repo.db, tmp_path / "backups" / "nw-copy.db")
    import sqlite3

    conn = sqlite3.connect(copy)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT count(*) FROM alerts").fetchone()[0] == 3
    finally:
        conn.close()


def test_old_sent_and_failed_admin_notices_go_pending_ones_stay(tmp_path: Path) -> None:
    from storage.db import open_database
    from storage.repository import Repository

    repo = Repository(open_database(tmp_path / "nw.db"))
    old, recent = NOW - timedelta(days=200), NOW - timedelta(days=1)
    for text, at in (("old sent", old), ("old failed", old), ("old pending", old), ("new", recent)):
        repo.outbox.queue_admin_notice([1], text, at)
    ids = dict(repo.db.execute("SELECT text, id FROM admin_notices").fetchall())
    repo.outbox.mark_notice(ids["old sent"], NoticeStatus.SENT, None, old)
    repo.outbox.mark_notice(ids["old failed"], NoticeStatus.FAILED, "blocked", old)
    repo.outbox.mark_notice(ids["new"], NoticeStatus.SENT, None, recent)
    prune(repo.db, NOW, retention_days=180)
    left = sorted(r[0] for r in repo.db.execute("SELECT text FROM admin_notices"))
    assert left == ["new", "old pending"]


def test_old_weak_matches_go_with_the_alerts_and_leave_search(tmp_path: Path) -> None:
    from storage.db import open_database
    from storage.queries import Queries
    from storage.repository import NewItem, Repository, WeakDraft

    repo = Repository(open_database(tmp_path / "nw.db"))
    for key, at in (("old", NOW - timedelta(days=200)), ("new", NOW - timedelta(days=1))):
        weak = WeakDraft("Wire", f"{key} budget talks", None, "Lebanon, Cyprus and Mali", at,
                         ("Mali",), ("Mali: [salience] in a list",))  # fmt: skip
        item = NewItem(key, None, "https://x.example/f", weak.title, None, at, weak=weak)
        repo.alerts.store_feed_items("https://x.example/f", [item], at, None)
    assert Queries(repo.db).search_weak('"cyprus"').total == 2
    prune(repo.db, NOW, retention_days=180)
    page = Queries(repo.db).search_weak('"cyprus"')
    assert (page.total, [r.title for r in page.rows]) == (1, ["new budget talks"])
