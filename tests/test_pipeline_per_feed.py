"""`run` delivers each feed's alerts as soon as they are stored: a slow-drip feed in the same
cycle does not hold back the alerts of a healthy one (real feed server, real SQLite)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from bot.core.models import StoredAlert
from bot.feeds.fetcher import FetchSettings
from tests.fakes.feed_server import FeedServer, rfc822, rss
from tests.harness import make_pipeline


class Recorder:
    """A deliverer that notes what it was handed, and whether the slow feed was done then
    (its failure is stored once its fetch gives up)."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[int], bool]] = []
        self.slow_done: Callable[[], bool] = lambda: False

    async def deliver(self, new_alerts: Sequence[StoredAlert]) -> None:
        self.calls.append(([a.alert_id for a in new_alerts], self.slow_done()))

    async def notify_admins(self, text: str) -> None:
        pass


def _feed(guid: str, title: str) -> str:
    item = {"title": title, "guid": guid, "link": f"https://n.example.org/{guid}",
            "description": title, "pubDate": rfc822(time.time() - 120)}  # fmt: skip
    return rss([item], title=guid)


@pytest.mark.slow
def test_a_healthy_feeds_alerts_go_out_before_a_slow_feed_ends(tmp_path: Path) -> None:
    with FeedServer() as server:
        server.set("/healthy.xml", _feed("h1", "JNIM fighters attack a convoy near Kidal"))
        # 1 byte a second: this feed holds its cycle until the fetch deadline.
        server.set("/slow.xml", _feed("s1", "Mali: drought in Mopti"), fault="slow")
        urls = [server.url("/slow.xml"), server.url("/healthy.xml")]
        recorder = Recorder()
        pipeline, repo, fetcher, _ = make_pipeline(
            tmp_path / "nw.db",
            urls,
            settings=FetchSettings(deadline=6.0, read_timeout=6.0),
            deliverer=recorder,
            chat_ids=(1,),
        )
        pipeline.settings.deliver_per_feed = True

        def slow_done() -> bool:
            row = repo.db.execute("SELECT last_error FROM feeds WHERE url = ?", [urls[0]])
            return row.fetchone()[0] is not None

        recorder.slow_done = slow_done

        async def main() -> None:
            cycle = asyncio.create_task(pipeline.run_cycle(force=True))
            async with asyncio.timeout(60):  # a guard only: the order is what is checked
                report = await cycle
            assert report.errors == 1 and report.alerts == 1
            await fetcher.aclose()

        asyncio.run(main())
    first = next(call for call in recorder.calls if call[0])
    assert first[1] is False, "the alert was handed over while the slow feed still ran"
    assert len(first[0]) == 1
    pending = repo.db.execute("SELECT count(*) FROM deliveries WHERE status = 'pending'")
    assert pending.fetchone()[0] == 1  # stored in the outbox before it was handed over
