"""Scheduled cycles: only a backlog is spread, and the service knows when the next feed is due."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.core.feed_state import FeedStatus
from tests.fakes.feed_server import FeedServer, rss
from tests.harness import make_pipeline


def _feed(tag: str) -> str:
    return rss([{"title": f"Bamako {tag}", "guid": tag}])


@pytest.mark.slow
async def test_just_due_feeds_are_fetched_at_once_and_a_backlog_is_spread(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    paths = [f"/f{i}.xml" for i in range(4)]
    for path in paths:
        feed_server.set(path, _feed(path))
    urls = [feed_server.url(p) for p in paths]
    pipeline, repo, fetcher, _out = make_pipeline(tmp_path / "nw.db", urls)
    pipeline.settings.spread_seconds = 1.2
    try:
        started = time.monotonic()
        await pipeline.run_cycle()  # first cycle: every feed is new, i.e. a backlog
        first = [h.at - started for h in feed_server.hits]
        assert max(first) > 0.3, "a backlog is spread over spread_seconds"

        now = datetime.now(UTC)
        for state in repo.feeds.states().values():  # all just came due (1 s ago): no spreading
            repo.feeds.update(state, replace(state, next_fetch_at=now - timedelta(seconds=1)))
        feed_server.hits.clear()
        started = time.monotonic()
        await pipeline.run_cycle()
        second = [h.at - started for h in feed_server.hits]
        assert len(second) == 4 and max(second) < 0.3, second
    finally:
        await fetcher.aclose()


async def test_seconds_until_next_due(feed_server: FeedServer, tmp_path: Path) -> None:
    feed_server.set("/a.xml", _feed("a"))
    url = feed_server.url("/a.xml")
    pipeline, repo, fetcher, _out = make_pipeline(tmp_path / "nw.db", [url])
    try:
        await pipeline.run_cycle()
    finally:
        await fetcher.aclose()
    wait = pipeline.seconds_until_next_due()
    assert wait is not None and 200 < wait <= 300  # default interval 300 s, jitter shortens
    state = repo.feeds.states()[url]
    due = replace(state, next_fetch_at=datetime.now(UTC) - timedelta(minutes=5))
    repo.feeds.update(state, due)
    assert pipeline.seconds_until_next_due() == 0.0
    repo.feeds.update(due, replace(due, status=FeedStatus.GONE))
    assert pipeline.seconds_until_next_due() is None


async def test_a_small_backlog_is_not_spread_over_the_whole_window(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    feed_server.set("/a.xml", _feed("a"))
    feed_server.set("/b.xml", _feed("b"))
    urls = [feed_server.url("/a.xml"), feed_server.url("/b.xml")]
    pipeline, _repo, fetcher, _out = make_pipeline(tmp_path / "nw.db", urls)
    pipeline.settings.spread_seconds = 30.0
    try:
        started = time.monotonic()
        await pipeline.run_cycle()
    finally:
        await fetcher.aclose()
    assert time.monotonic() - started < 5, "two new feeds start within 2 x 0.25 s"
    assert len(feed_server.hits) == 2
