"""A cycle groups its alerts into stories in the order of their events, whichever feed ended
first (bot.cycle.story_grouping.event_order, Pipeline._group_stories): a report that links two
others comes between them. Alerts wait in ``story_pending`` until then, so a process killed
in between (or a grouping that cannot write) loses none and sends none twice. Real feed
server, real SQLite, the shipped model."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import bot.cycle.pipeline as pipeline_module
from bot.core.models import CycleReport, StoredAlert
from bot.core.records import PendingAlert
from bot.cycle.pipeline import Pipeline
from bot.cycle.story_grouping import StoryGrouper, event_order
from bot.feeds.fetcher import FetchResult
from storage.repository import Repository
from tests.fakes.feed_server import FeedServer, rfc822, rss
from tests.harness import make_pipeline

NOW = time.time()
T0 = datetime(2026, 3, 2, 8, tzinfo=UTC)

# Three reports of one attack. The first and the last share too little to be grouped on
# their own (tests/test_story_pairs.py's index decides); the middle one joins either. Fed
# first-and-last before the middle, online grouping opened two stories.
FIRST = ("Mali: JNIM claims attack on army camp in Boulkessi", 3.0)  # (title, hours ago)
MIDDLE = ("12 soldiers killed in attack on Boulkessi army camp", 2.0)
LAST = ("Mali: 12 soldats tués dans une attaque jihadiste près de la frontière burkinabè", 1.0)


def _pending(alert_id: int, published: float | None, arrived: float = 10.0) -> PendingAlert:
    """An alert stored ``arrived`` hours after T0, published ``published`` hours after T0."""
    return PendingAlert(
        alert_id=alert_id,
        feed_url="https://example.org/feed",
        source="Example",
        title=f"report {alert_id}",
        summary="",
        entities=(),
        published_at=T0 + timedelta(hours=published) if published is not None else None,
        created_at=T0 + timedelta(hours=arrived),
        chats=(),
    )


# (alerts as (id, published hours, arrived hours), the expected order of ids)
ORDER_CASES = [
    ([(1, 5.0, 10.0), (2, 1.0, 10.0), (3, 3.0, 10.0)], [2, 3, 1]),  # by publication date
    ([(1, 2.0, 10.0), (2, 2.0, 10.0)], [1, 2]),  # same date: the order they were stored
    ([(1, None, 10.0), (2, 4.0, 10.0)], [2, 1]),  # no date: its arrival is its event
    ([(1, 30.0, 10.0), (2, 9.0, 10.0)], [2, 1]),  # a date in the future counts as its arrival
    ([(1, 30.0, 10.0), (2, None, 10.0)], [1, 2]),  # ... so ties with an undated arrival
    ([(1, 8.0, 12.0), (2, 9.0, 11.0)], [1, 2]),  # published order, not arrival order
]


@pytest.mark.parametrize(("alerts", "expected"), ORDER_CASES)
def test_event_order(alerts: list[tuple[int, float | None, float]], expected: list[int]) -> None:
    ordered = event_order([_pending(*a) for a in alerts])
    assert [a.alert_id for a in ordered] == expected


class _Recorder:
    """A deliverer that records what each call was handed."""

    def __init__(self) -> None:
        self.calls: list[list[int]] = []

    async def deliver(self, new_alerts: Sequence[StoredAlert]) -> None:
        self.calls.append([a.alert_id for a in new_alerts])

    async def notify_admins(self, text: str) -> None:
        return None

    @property
    def delivered(self) -> list[int]:
        return [alert_id for call in self.calls for alert_id in call]


class _Gated:
    """A fetcher whose ``late`` feed answers only once the other feeds' items are stored: the
    order fetches end in, made certain."""

    def __init__(self, inner: Any, repo: Repository, late: str, stored_before: int) -> None:
        self.inner, self.repo, self.late, self.stored_before = inner, repo, late, stored_before

    async def fetch(self, url: str, etag: str | None, last_modified: str | None) -> FetchResult:
        if url == self.late:
            while self._items() < self.stored_before:  # a condition, not a duration
                await asyncio.sleep(0.01)
        result: FetchResult = await self.inner.fetch(url, etag, last_modified)
        return result

    def _items(self) -> int:
        return int(self.repo.db.execute("SELECT count(*) FROM items").fetchone()[0])

    async def aclose(self) -> None:
        await self.inner.aclose()


def _entry(name: str, title: str, hours_ago: float) -> dict[str, str]:
    return {
        "title": title,
        "guid": f"{name}-{hours_ago}",
        "link": f"https://{name}.example.org/{int(hours_ago * 60)}",
        "description": title,
        "pubDate": rfc822(NOW - hours_ago * 3600),
    }


def _serve(server: FeedServer) -> list[str]:
    """Two outlets: one carries the first and the last report, the other the middle one."""
    server.set(
        "/agency.xml",
        rss([_entry("agency", *LAST), _entry("agency", *FIRST)], title="Agency"),
    )
    server.set("/journal.xml", rss([_entry("journal", *MIDDLE)], title="Journal"))
    return [server.url("/agency.xml"), server.url("/journal.xml")]


def _build(
    db: Path, urls: list[str], late: str, stored_before: int, **settings: Any
) -> tuple[Pipeline, Repository, _Recorder]:
    recorder = _Recorder()
    pipeline, repo, fetcher, _out = make_pipeline(db, urls, chat_ids=(1,), deliverer=recorder)
    pipeline.fetcher = _Gated(fetcher, repo, late, stored_before)  # type: ignore[assignment]
    for name, value in settings.items():
        setattr(pipeline.settings, name, value)
    return pipeline, repo, recorder


def _stories(repo: Repository) -> dict[str, int]:
    rows = repo.db.execute("SELECT title, story_id FROM alerts ORDER BY id").fetchall()
    return {str(title): int(story) for title, story in rows}


@pytest.mark.parametrize("chunk", [64, 1], ids=["one-transaction", "one-alert-a-transaction"])
@pytest.mark.parametrize("late", ["journal", "agency"], ids=["middle-last", "middle-first"])
def test_the_stories_do_not_depend_on_which_feed_ends_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, late: str, chunk: int
) -> None:
    monkeypatch.setattr(pipeline_module, "_FILE_CHUNK", chunk)
    with FeedServer() as server:
        urls = _serve(server)
        late_url = server.url(f"/{late}.xml")
        before = 2 if late == "journal" else 1  # the items of the feed that ends first
        pipeline, repo, recorder = _build(tmp_path / "nw.db", urls, late_url, before)

        async def cycle() -> CycleReport:
            try:
                return await pipeline.run_cycle(force=True)
            finally:
                await pipeline.fetcher.aclose()

        report = asyncio.run(cycle())
    stories = _stories(repo)
    assert len(stories) == 3, stories
    assert len(set(stories.values())) == 1, f"one event, one story: {stories}"
    assert report.alerts == 1 and len(recorder.delivered) == 1
    first = repo.db.execute("SELECT title FROM alerts WHERE delivered = 1").fetchall()
    assert first == [(FIRST[0],)], "the earliest report is the story's message"
    assert repo.db.execute("SELECT count(*) FROM story_pending").fetchone()[0] == 0
    outlets = repo.db.execute("SELECT outlets FROM stories").fetchone()[0]
    assert "Journal" in outlets and "Agency" in outlets, "the message is edited to name both"


def test_alerts_left_ungrouped_by_a_dead_process_are_sent_once_by_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "nw.db"
    with FeedServer() as server:
        urls = _serve(server)

        async def died_before_grouping() -> None:
            pipeline, repo, recorder = _build(db, urls, urls[1], 2)

            async def killed(report: CycleReport) -> list[StoredAlert]:
                if repo.db.execute("SELECT count(*) FROM story_pending").fetchone()[0] == 3:
                    raise asyncio.CancelledError  # as SIGKILL would stop it: nothing after
                return []

            monkeypatch.setattr(pipeline, "_group_stories", killed)
            with pytest.raises(asyncio.CancelledError):
                await pipeline.run_cycle(force=True)
            await pipeline.fetcher.aclose()
            assert recorder.delivered == []
            # the feeds and their items are stored: the next process will not fetch them anew
            assert repo.db.execute("SELECT count(*) FROM items").fetchone()[0] == 3
            assert repo.db.execute("SELECT count(*) FROM deliveries").fetchone()[0] == 0
            repo.db.conn.close()

        async def restarted() -> tuple[list[int], list[int], Repository]:
            pipeline, repo, recorder = _build(db, urls, "", 0)
            await pipeline.run_cycle(force=True)  # the feeds answer 304 or the same body
            first = list(recorder.delivered)
            await pipeline.run_cycle(force=True)
            await pipeline.fetcher.aclose()
            return first, recorder.delivered[len(first) :], repo

        asyncio.run(died_before_grouping())
        monkeypatch.undo()
        sent, again, repo = asyncio.run(restarted())
    assert len(sent) == 1 and again == [], "sent once, by the next process"
    assert len(set(_stories(repo).values())) == 1
    assert repo.db.execute("SELECT count(*) FROM story_pending").fetchone()[0] == 0
    assert repo.db.execute("SELECT count(*) FROM deliveries").fetchone()[0] == 1


def test_a_grouping_that_cannot_write_keeps_the_alerts_for_the_next_cycle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FeedServer() as server:
        urls = _serve(server)
        pipeline, repo, recorder = _build(tmp_path / "nw.db", urls, "", 0)
        stories = pipeline.stories
        assert isinstance(stories, StoryGrouper)
        real = repo.alerts.file_pending
        calls = {"n": 0}

        def full_disk(*args: Any, **kwargs: Any) -> StoredAlert | None:
            calls["n"] += 1
            if calls["n"] == 2:  # the second alert of the transaction: the first is undone
                raise sqlite3.OperationalError("database or disk is full")
            return real(*args, **kwargs)

        async def two_cycles() -> tuple[CycleReport, CycleReport]:
            monkeypatch.setattr(repo.alerts, "file_pending", full_disk)
            failed = await pipeline.run_cycle(force=True)
            assert repo.db.execute("SELECT count(*) FROM story_pending").fetchone()[0] == 3
            assert repo.db.execute("SELECT count(*) FROM stories").fetchone()[0] == 0
            assert len(stories.index) == 0, "the index holds a story that was rolled back"
            monkeypatch.setattr(repo.alerts, "file_pending", real)
            filed = await pipeline.run_cycle(force=True)
            await pipeline.fetcher.aclose()
            return failed, filed

        failed, filed = asyncio.run(two_cycles())
    assert failed.storage_error and failed.alerts == 0
    assert filed.alerts == 1 and len(recorder.delivered) == 1
    assert len(stories.index) == 3
    assert repo.db.execute("SELECT count(*) FROM story_pending").fetchone()[0] == 0


@pytest.mark.parametrize(
    ("hold", "before_the_late_feed"),
    [(0.0, True), (3600.0, False)],
    ids=["held-0s: sent as stored", "held-1h: sent when the fetches end"],
)
def test_with_per_feed_delivery_an_alert_waits_at_most_the_hold(
    tmp_path: Path, hold: float, before_the_late_feed: bool
) -> None:
    with FeedServer() as server:
        urls = _serve(server)
        pipeline, repo, recorder = _build(
            tmp_path / "nw.db",
            urls,
            urls[1],
            2,
            deliver_per_feed=True,
            story_hold_seconds=hold,
        )
        original = pipeline.fetcher.fetch
        delivered_when_late_fetched: list[list[int]] = []

        async def fetch(url: str, etag: str | None, last_modified: str | None) -> FetchResult:
            result = await original(url, etag, last_modified)
            if url == urls[1]:
                delivered_when_late_fetched.append(list(recorder.delivered))
            return result

        pipeline.fetcher.fetch = fetch  # type: ignore[method-assign,assignment]

        async def cycle() -> None:
            await pipeline.run_cycle(force=True)
            await pipeline.fetcher.aclose()

        asyncio.run(cycle())
    assert bool(delivered_when_late_fetched[0]) is before_the_late_feed
    assert repo.db.execute("SELECT count(*) FROM story_pending").fetchone()[0] == 0
    if not before_the_late_feed:  # grouped together, in event order: one story
        assert len(set(_stories(repo).values())) == 1 and len(recorder.delivered) == 1


def test_without_grouping_no_alert_is_held_and_the_cycle_does_not_spin(tmp_path: Path) -> None:
    # Every alert starts its own story at once; the hold never applies (it once made the
    # cycle wake with a timeout of 0 until its last fetch ended).
    with FeedServer() as server:
        urls = _serve(server)
        recorder = _Recorder()
        pipeline, repo, fetcher, _out = make_pipeline(
            tmp_path / "nw.db", urls, chat_ids=(1,), deliverer=recorder, stories=False
        )
        pipeline.fetcher = _Gated(fetcher, repo, urls[1], 2)  # type: ignore[assignment]
        pipeline.settings.deliver_per_feed = True
        pipeline.settings.story_hold_seconds = 0.0
        calls = []
        real = pipeline._group_stories

        async def counted(report: CycleReport) -> list[StoredAlert]:
            calls.append(1)
            if len(calls) > 100:  # fail, rather than spin until the late feed answers
                raise AssertionError(f"the cycle woke {len(calls)} times with nothing held")
            return await real(report)

        pipeline._group_stories = counted  # type: ignore[method-assign]

        async def cycle() -> None:
            await pipeline.run_cycle(force=True)
            await pipeline.fetcher.aclose()

        asyncio.run(cycle())
    assert len(calls) <= 2, f"{len(calls)} wake-ups"
    assert len(recorder.delivered) == 3
    assert repo.db.execute("SELECT count(*) FROM story_pending").fetchone()[0] == 0
