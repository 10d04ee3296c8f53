"""A reader or writer holding the database (Datasette, the sqlite3 shell) makes a cycle wait."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from bot.core.models import CycleReport
from storage.db import open_database
from tests.fakes.feed_server import FeedServer, rfc822, rss
from tests.harness import make_pipeline

pytestmark = pytest.mark.slow  # waits for a real lock holder to let go

FEED = rss(
    [
        {
            "title": "Mali: JNIM fighters ambush a convoy near Boulkessi",
            "link": "https://news.example.org/boulkessi",
            "guid": "boulkessi",
            "pubDate": rfc822(time.time() - 600),
        }
    ]
)


def hold(db_path: Path, statement: str, seconds: float, ready: threading.Event) -> None:
    """Another process-like connection takes a lock and keeps it for ``seconds``."""
    conn = sqlite3.connect(db_path, isolation_level=None, timeout=30)
    try:
        conn.execute(statement)
        conn.execute("SELECT count(*) FROM feeds").fetchone()
        ready.set()
        time.sleep(seconds)
        conn.execute("COMMIT")
    finally:
        conn.close()


@pytest.mark.parametrize("statement", ["BEGIN EXCLUSIVE", "BEGIN IMMEDIATE", "BEGIN"])
def test_cycle_waits_for_a_lock_holder_and_completes(statement: str, tmp_path: Path) -> None:
    db_path = tmp_path / "nw.db"
    open_database(db_path).conn.close()  # schema in place, WAL mode on
    with FeedServer() as server:
        server.set("/rss.xml", FEED)
        pipeline, repo, fetcher, _out = make_pipeline(
            db_path, [server.url("/rss.xml")], chat_ids=(1,)
        )
        ready = threading.Event()
        holder = threading.Thread(target=hold, args=(db_path, statement, 2.0, ready))
        holder.start()
        assert ready.wait(10)
        started = time.monotonic()

        async def scenario() -> CycleReport:
            try:
                return await pipeline.run_cycle(force=True)
            finally:
                await fetcher.aclose()

        report = asyncio.run(scenario())
        waited = time.monotonic() - started
        holder.join()
    assert report.errors == 0 and report.alerts == 1
    assert repo.db.execute("SELECT count(*) FROM alerts").fetchone()[0] == 1
    if statement != "BEGIN":  # a plain reader never blocks a WAL writer
        assert waited >= 1.5, f"the cycle should have waited for the lock ({waited:.2f}s)"
    assert repo.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
