"""`poll --once` stops its parse workers once its fetches have ended, before the cycle files its
alerts into stories and delivers them (the cycle's largest memory then runs without them);
`run` keeps them for the next cycle (real feed server, real worker processes, real SQLite)."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from bot.app.composition import cycle_settings
from bot.app.config import Config
from bot.core.models import CycleReport
from bot.cycle.story_grouping import StoryGrouper
from bot.feeds.parse_pool import ParsePool
from storage.db import open_database
from storage.repository import Repository
from tests.fakes.feed_server import FeedServer, rfc822, rss
from tests.harness import make_pipeline

pytestmark = pytest.mark.slow  # worker processes


def _feed(name: str, title: str) -> str:
    item = {"title": title, "guid": f"{name}-1", "link": f"https://n.example.org/{name}/1",
            "description": title, "pubDate": rfc822(time.time() - 120)}  # fmt: skip
    return rss([item], title=name)


class _Recorder:
    """A deliverer that notes, at each delivery, whether the pool still had its workers."""

    def __init__(self, pool: ParsePool) -> None:
        self.pool = pool
        self.workers_at_delivery: list[bool] = []
        self.delivered = 0

    async def deliver(self, new_alerts: Sequence[object]) -> None:
        self.workers_at_delivery.append(self.pool._pool is not None)
        self.delivered += len(new_alerts)

    async def notify_admins(self, text: str) -> None:
        pass


def _cycle(tmp_path: Path, *, stop: bool) -> tuple[CycleReport, _Recorder, int, int]:
    with FeedServer() as server:
        server.set("/a.xml", _feed("a", "JNIM fighters attack a convoy near Kidal"))
        server.set("/b.xml", _feed("b", "Army patrol ambushed near Menaka, Mali"))
        urls = [server.url("/a.xml"), server.url("/b.xml")]
        pool = ParsePool(workers=1)
        recorder = _Recorder(pool)
        pipeline, repo, fetcher, _ = make_pipeline(tmp_path / "nw.db", urls, deliverer=recorder)
        pipeline.parse_executor = pool
        pipeline.settings = dataclasses.replace(
            pipeline.settings, stop_parse_workers_after_fetches=stop
        )
        try:

            async def cycle() -> CycleReport:
                try:
                    return await pipeline.run_cycle(force=True)
                finally:
                    await fetcher.aclose()

            report = asyncio.run(cycle())
            assert isinstance(pipeline.stories, StoryGrouper)
            filed = repo.db.execute(
                "SELECT count(*) FROM alerts WHERE story_id IS NOT NULL"
            ).fetchone()[0]
            return report, recorder, filed, len(pipeline.stories.index)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def test_poll_once_stops_the_workers_before_filing_and_delivering(tmp_path: Path) -> None:
    report, recorder, filed, indexed = _cycle(tmp_path, stop=True)
    assert report.errors == 0 and report.alerts == 2
    assert filed == 2 and indexed == 2  # filed into stories as before
    assert recorder.delivered == 2 and recorder.workers_at_delivery == [False]


def test_run_keeps_the_workers_for_the_next_cycle(tmp_path: Path) -> None:
    report, recorder, filed, indexed = _cycle(tmp_path, stop=False)
    assert report.errors == 0 and report.alerts == 2 and filed == 2 and indexed == 2
    assert recorder.workers_at_delivery == [True]


@pytest.mark.parametrize(("background_delivery", "stop"), [(False, True), (True, False)])
def test_only_poll_once_is_wired_to_stop_them(
    tmp_path: Path, background_delivery: bool, stop: bool
) -> None:
    repo = Repository(open_database(tmp_path / "nw.db"))
    settings = cycle_settings(Config(), repo, background_delivery=background_delivery)
    assert settings.stop_parse_workers_after_fetches is stop
