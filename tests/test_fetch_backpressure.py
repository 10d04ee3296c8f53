"""The cycle bounds its bodies in flight (fetched, not yet parsed and stored): with many feeds
and a slow parse, fetching waits for slots instead of piling bodies up in memory; every item
is still stored, and a failed parse gives its slot back (real feed server, real SQLite)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bot.core.models import CycleReport, FeedSpec, ParsedFeed, SourceKind
from bot.core.records import FeedState
from bot.feeds.fetcher import FetchResult, FetchSettings
from bot.feeds.sources.base import Parsed, SourceResult
from tests.fakes.feed_server import FeedServer, rfc822, rss
from tests.harness import make_pipeline

FEEDS = 40
ITEMS = 3
FETCHING = 4  # the fetcher's concurrency
# _in_flight_limit: the fetcher's concurrency plus 4 per parse worker (one here)
BOUND = FETCHING + 4


class SlowParse(ThreadPoolExecutor):
    """One parse worker that takes its time over each body (or fails it), and counts the
    bodies handed to it and not yet parsed."""

    workers = 1

    def __init__(self, fail: bool = False) -> None:
        super().__init__(max_workers=1)
        self.fail = fail
        self.lock = threading.Lock()
        self.queued = 0
        self.peak_queued = 0

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        with self.lock:
            self.queued += 1
            self.peak_queued = max(self.peak_queued, self.queued)

        def slow() -> Any:
            try:
                time.sleep(0.02)  # a slow parse, so that fetching outruns it
                if self.fail:
                    raise RuntimeError("parse worker died")
                return fn(*args, **kwargs)
            finally:
                with self.lock:
                    self.queued -= 1

        return super().submit(slow)


def _feed(n: int) -> str:
    items = [
        {
            "title": f"Report {n}-{i} on the Sahel road",
            "guid": f"f{n}-{i}",
            "link": f"https://n.example.org/{n}/{i}",
            "description": "Nothing to match here.",
            "pubDate": rfc822(time.time() - 120),
        }
        for i in range(ITEMS)
    ]
    return rss(items, title=f"feed {n}")


class PacedSources:
    """Source readers that wait, as GDELT's limiter makes its queries wait, until the feeds are
    all stored; then each brings a parse without items."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.reads = 0

    async def read(
        self, spec: FeedSpec, state: FeedState, now: object
    ) -> tuple[FetchResult, Parsed | None]:
        await self.gate.wait()
        self.reads += 1
        return SourceResult(url=spec.url, status=200), (ParsedFeed(title=None), [], [])


def _cycle(
    tmp_path: Path, executor: SlowParse, sources: int = 0
) -> tuple[CycleReport, int, int, int]:
    with FeedServer() as server:
        urls = []
        for n in range(FEEDS):
            server.set(f"/{n}.xml", _feed(n))
            urls.append(server.url(f"/{n}.xml"))
        pipeline, repo, fetcher, _ = make_pipeline(
            tmp_path / "nw.db",
            urls,
            settings=FetchSettings(max_concurrency=FETCHING, deadline=20.0),
            stories=False,
        )
        pipeline.parse_executor = executor
        assert pipeline._in_flight_limit() == BOUND
        readers = PacedSources()
        specs = [FeedSpec(url=f"gdelt:query {n}", kind=SourceKind.GDELT) for n in range(sources)]
        # sources first: they are due first, so they would take every slot if they could
        specs += [FeedSpec(url=u) for u in urls]
        pipeline.feeds = lambda: specs
        pipeline.sources = readers

        async def open_the_gate() -> None:  # once every feed's items are stored
            while repo.db.execute("SELECT count(*) FROM items").fetchone()[0] < FEEDS * ITEMS:
                await asyncio.sleep(0.01)
            readers.gate.set()

        async def run() -> CycleReport:
            gate = asyncio.ensure_future(open_the_gate())
            try:  # a leaked slot would hang the cycle: fail instead of waiting for ever
                return await asyncio.wait_for(pipeline.run_cycle(force=True), 120)
            finally:
                gate.cancel()
                await fetcher.aclose()

        if not sources:
            readers.gate.set()
        report = asyncio.run(run())
        executor.shutdown()
        assert readers.reads == sources
        items = repo.db.execute("SELECT count(*) FROM items").fetchone()[0]
        return report, items, pipeline.peak_bodies_in_flight, pipeline.bodies_in_flight


def test_bodies_in_flight_stay_within_the_bound_and_every_item_is_stored(
    tmp_path: Path,
) -> None:
    executor = SlowParse()
    report, items, peak, left = _cycle(tmp_path, executor)
    assert report.errors == 0 and report.fetched == FEEDS
    assert items == FEEDS * ITEMS  # none dropped
    assert 1 <= peak <= BOUND
    assert executor.peak_queued <= BOUND
    assert left == 0  # every slot given back


def test_failed_parses_give_their_slots_back(tmp_path: Path) -> None:
    executor = SlowParse(fail=True)
    report, items, peak, left = _cycle(tmp_path, executor)
    assert report.errors == FEEDS and items == 0  # each feed failed, the cycle ended
    assert peak <= BOUND and left == 0


def test_sources_waiting_on_their_pace_never_hold_the_feeds_slots(tmp_path: Path) -> None:
    # more sources than slots, each waiting until every feed is stored: had they held slots
    # while waiting, no feed would be fetched and the cycle would never end
    report, items, peak, left = _cycle(tmp_path, SlowParse(), sources=2 * BOUND)
    assert report.errors == 0 and report.fetched == FEEDS + 2 * BOUND
    assert items == FEEDS * ITEMS
    assert peak <= BOUND and left == 0
