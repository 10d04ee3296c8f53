"""What filing needs is built off the event loop: the story lexicons and the re-index of the
story window (a thread, started with the cycle's first stored alert), the matcher and the
incident tagger (a thread, before the cycle's first body is matched), an edited watchlist
(`run`'s reload, a thread). The proofs are threads and events, never durations: each loader
records the thread it ran in, and the lexicon loader waits until a coroutine on the event
loop has run, which it could never do if the loading held the loop."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import bot.cycle.story_grouping as story_grouping
from bot.app.service import Service
from bot.core.models import CycleReport
from bot.cycle.pipeline import Pipeline
from bot.cycle.story_grouping import StoryGrouper
from storage.db import open_database
from storage.repository import Repository
from tests.fakes.feed_server import FeedServer, rfc822, rss
from tests.harness import make_pipeline

MAIN = threading.get_ident()
# the loader's guard against a loop that never runs: reached only when the test fails
NEVER = 30.0


def _feed(prefix: str, titles: list[str]) -> str:
    now = time.time()
    return rss(
        [
            {
                "title": title,
                "link": f"https://{prefix}.example.org/{i}",
                "guid": f"{prefix}-{i}",
                "description": "Reported by our correspondents.",
                "pubDate": rfc822(now - 600 - i),
            }
            for i, title in enumerate(titles)
        ],
        title=prefix,
    )


FIRST = [
    "Mali: JNIM fighters attack army positions near Bamako",
    "Africa Corps instructors arrive at the Kidal base",
]
SECOND = ["Assimi Goïta reshuffles the transitional government in Bamako"]


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as srv:
        srv.set("/a.xml", _feed("a", FIRST))
        yield srv


class LexiconGate:
    """Replaces the meaning lexicon's loader: records its thread, then waits until the event
    loop has run a coroutine (``open``) before it returns."""

    def __init__(self, real: Callable[[], Any]) -> None:
        self.real = real
        self.threads: list[int] = []
        self.started = threading.Event()
        self.opened = threading.Event()
        self.loop_ran: list[bool] = []

    def __call__(self) -> Any:
        self.threads.append(threading.get_ident())
        self.started.set()
        self.loop_ran.append(self.opened.wait(NEVER))
        return self.real()

    async def open_when_started(self) -> None:
        while not self.started.is_set():
            await asyncio.sleep(0.005)
        self.opened.set()  # only reachable while the event loop is free


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> LexiconGate:
    gate = LexiconGate(story_grouping.meaning_finder)
    monkeypatch.setattr(story_grouping, "meaning_finder", gate)
    return gate


def _stories(repo: Repository) -> list[tuple[str, int | None]]:
    rows = repo.db.execute("SELECT title, story_id FROM alerts ORDER BY id").fetchall()
    return [(str(title), story) for title, story in rows]


async def _cycle_with(gate: LexiconGate, pipeline: Pipeline) -> CycleReport:
    helper = asyncio.ensure_future(gate.open_when_started())
    try:
        return await pipeline.run_cycle(force=True)
    finally:
        helper.cancel()


def test_first_filing_loads_lexicons_in_a_thread_while_the_loop_runs(
    tmp_path: Path, server: FeedServer, gate: LexiconGate
) -> None:
    pipeline, repo, fetcher, _out = make_pipeline(tmp_path / "nw.db", [server.url("/a.xml")])
    matcher_threads: list[int] = []
    compiled = pipeline.matcher

    def matcher() -> Any:
        matcher_threads.append(threading.get_ident())
        return compiled()

    pipeline.matcher = matcher

    async def main() -> CycleReport:
        try:
            return await _cycle_with(gate, pipeline)
        finally:
            await fetcher.aclose()

    report = asyncio.run(main())
    assert gate.threads and all(t != MAIN for t in gate.threads)
    assert gate.loop_ran == [True]  # the loop ran a coroutine while the lexicons loaded
    assert matcher_threads[0] != MAIN  # built off the loop before the first body is matched
    assert report.alerts == len(FIRST)
    stories = _stories(repo)
    assert [title for title, _ in stories] == FIRST
    assert all(story is not None for _, story in stories)  # every alert filed
    assert not repo.alerts.has_pending_story()


def run_one_cycle(pipeline: Pipeline, aclose: Callable[[], Awaitable[None]]) -> CycleReport:
    """One forced cycle of ``pipeline`` on a fresh event loop, then its fetcher closed."""

    async def one() -> CycleReport:
        try:
            return await pipeline.run_cycle(force=True)
        finally:
            await aclose()

    return asyncio.run(one())


def record_reindexes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """(thread, members) of each re-index of the story window from SQLite, from now on."""
    indexed: list[tuple[int, int]] = []
    real = StoryGrouper._index_window

    def recording(self: StoryGrouper, *args: Any) -> Any:
        built = real(self, *args)
        indexed.append((threading.get_ident(), built.count))
        return built

    monkeypatch.setattr(StoryGrouper, "_index_window", recording)
    return indexed


def test_restart_reindexes_the_window_in_a_thread(
    tmp_path: Path, server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "nw.db"
    first, repo, fetcher, _ = make_pipeline(db, [server.url("/a.xml")])
    run_one_cycle(first, fetcher.aclose)
    assert len(_stories(repo)) == len(FIRST)

    indexed = record_reindexes(monkeypatch)
    server.set("/b.xml", _feed("b", SECOND))
    # a fresh process: a new pipeline and grouper on the same database
    second, repo2, fetcher2, _ = make_pipeline(db, [server.url("/a.xml"), server.url("/b.xml")])
    report = run_one_cycle(second, fetcher2.aclose)
    assert report.alerts == len(SECOND)
    assert indexed and indexed[0][0] != MAIN
    assert indexed[0][1] == len(FIRST)  # the window's members, read on its own connection
    assert second.stories is not None
    assert isinstance(second.stories, StoryGrouper)
    assert second.stories.loaded_stored == len(FIRST)  # their stored signatures read back
    assert all(story is not None for _, story in _stories(repo2))


def test_a_cycle_without_alerts_loads_nothing(
    tmp_path: Path, server: FeedServer, gate: LexiconGate, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "nw.db"
    gate.opened.set()  # this test only counts loads
    pipeline, _, fetcher, _ = make_pipeline(db, [server.url("/a.xml")])
    run_one_cycle(pipeline, fetcher.aclose)
    assert len(gate.threads) == 1
    started: list[object] = []
    real = StoryGrouper.start_loading

    def recording(self: StoryGrouper, now: datetime) -> None:
        started.append(now)
        real(self, now)

    monkeypatch.setattr(StoryGrouper, "start_loading", recording)
    warm, _, fetcher2, _ = make_pipeline(db, [server.url("/a.xml")])  # a warm process: 304
    report = run_one_cycle(warm, fetcher2.aclose)
    assert report.not_modified == 1 and report.alerts == 0
    assert started == [] and len(gate.threads) == 1  # nothing loaded for a cycle of 304s


def test_loading_starts_once_and_a_failed_load_loses_no_alert(
    tmp_path: Path, server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []

    def malformed() -> Any:
        calls.append(threading.get_ident())
        raise ValueError("meaning_lexicon.tsv:3: malformed line")

    monkeypatch.setattr(story_grouping, "meaning_finder", malformed)
    pipeline, repo, fetcher, out = make_pipeline(tmp_path / "nw.db", [server.url("/a.xml")])

    async def main() -> CycleReport:
        try:
            return await pipeline.run_cycle(force=True)
        finally:
            await fetcher.aclose()

    report = asyncio.run(main())
    # as before the loading moved: each report that cannot be placed starts its own story
    assert report.alerts == len(FIRST)
    assert all(story is not None for _, story in _stories(repo))
    assert calls[0] != MAIN
    for title in FIRST:
        assert title in out.getvalue()  # delivered (console)


def test_start_loading_twice_loads_once(tmp_path: Path, gate: LexiconGate) -> None:
    gate.opened.set()
    grouper = StoryGrouper(
        Repository(open_database(tmp_path / "nw.db")), timedelta(hours=72), store_signatures=True
    )

    async def main() -> None:
        now = datetime.now(UTC)
        grouper.start_loading(now)
        grouper.start_loading(now)
        await asyncio.gather(grouper.wait_loaded(now), grouper.wait_loaded(now))
        grouper.start_loading(now)  # loaded: nothing starts
        await grouper.wait_loaded(now)

    asyncio.run(main())
    assert len(gate.threads) == 1 and gate.threads[0] != MAIN
    assert grouper.loaded and grouper.meanings is not None


def test_run_reloads_watchlists_in_a_thread() -> None:
    threads: list[int] = []

    class FakePipeline:
        async def run_cycle(self, *, force: bool = False) -> CycleReport:
            return CycleReport()

    class Deliverer:
        async def deliver(self, alerts: Any) -> None: ...

        async def notify_admins(self, text: str) -> None: ...

    def reload() -> str | None:
        threads.append(threading.get_ident())
        return None

    service = Service(pipeline=FakePipeline(), deliverer=Deliverer(), reload_watchlists=reload)  # type: ignore[arg-type]
    assert asyncio.run(service.cycle()) is not None
    assert threads and threads[0] != MAIN


@pytest.mark.parametrize("poll_once", [True, False])
def test_poll_once_loads_after_its_parse_workers_stop_and_run_at_the_first_alert(
    tmp_path: Path, server: FeedServer, monkeypatch: pytest.MonkeyPatch, poll_once: bool
) -> None:
    """`poll --once` loads once its workers are gone (beside them, the changed cycle's peak
    PSS rose 75 -> 100 MB); `run` (workers kept) as soon as an alert is stored."""
    events: list[str] = []

    class Workers(ThreadPoolExecutor):
        def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
            events.append("workers stopped")
            super().shutdown(wait, cancel_futures=cancel_futures)

    real = StoryGrouper.start_loading

    def recording(self: StoryGrouper, now: datetime) -> None:
        if not self.loaded and "loading" not in events:
            events.append("loading")
        real(self, now)

    monkeypatch.setattr(StoryGrouper, "start_loading", recording)
    pipeline, repo, fetcher, _ = make_pipeline(tmp_path / "nw.db", [server.url("/a.xml")])
    pipeline.parse_executor = Workers(1)
    pipeline.settings.stop_parse_workers_after_fetches = poll_once

    async def main() -> CycleReport:
        try:
            return await pipeline.run_cycle(force=True)
        finally:
            await fetcher.aclose()

    report = asyncio.run(main())
    pipeline.parse_executor.shutdown()
    assert report.alerts == len(FIRST)
    assert all(story is not None for _, story in _stories(repo))
    if poll_once:
        assert events[:2] == ["workers stopped", "loading"]
    else:
        assert events[0] == "loading"  # with the first stored alert, workers still up
