"""The cycle stores the feeds that ended together in one commit group: when that commit fails,
none of them is stored, each is reported, the story index holds none of them (alerts are
grouped once stored), and the next cycle stores them (real feed server, real SQLite)."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

import bot.cycle.pipeline as pipeline_module
from bot.core.models import CycleReport
from bot.cycle.story_grouping import StoryGrouper
from storage.sqlite_utils_loader import Database
from storage.transactions import CommitGroup, commit_group
from tests.fakes.feed_server import FeedServer, rfc822, rss
from tests.harness import make_pipeline


def _feed(name: str, title: str) -> str:
    item = {"title": title, "guid": f"{name}-1", "link": f"https://n.example.org/{name}/1",
            "description": title, "pubDate": rfc822(time.time() - 120)}  # fmt: skip
    return rss([item], title=name)


def test_a_failed_group_commit_stores_nothing_and_the_next_cycle_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    @contextmanager
    def failing_commit(db: Database) -> Iterator[CommitGroup]:
        with commit_group(db) as group:
            yield group
            if group.blocks:  # as a full disk would make COMMIT fail
                raise sqlite3.OperationalError("database or disk is full")

    with FeedServer() as server:
        server.set("/a.xml", _feed("a", "JNIM fighters attack a convoy near Kidal"))
        server.set("/b.xml", _feed("b", "Army patrol ambushed near Menaka, Mali"))
        urls = [server.url("/a.xml"), server.url("/b.xml")]
        pipeline, repo, fetcher, _ = make_pipeline(tmp_path / "nw.db", urls, chat_ids=(1,))
        stories = pipeline.stories
        assert isinstance(stories, StoryGrouper)

        async def two_cycles() -> tuple[CycleReport, CycleReport]:
            monkeypatch.setattr(pipeline_module, "commit_group", failing_commit)
            failed = await pipeline.run_cycle(force=True)
            assert repo.db.execute("SELECT count(*) FROM items").fetchone()[0] == 0
            assert repo.db.execute("SELECT count(*) FROM alerts").fetchone()[0] == 0
            assert len(stories.index) == 0, "the index holds a rolled-back alert"
            monkeypatch.setattr(pipeline_module, "commit_group", commit_group)
            stored_now = await pipeline.run_cycle(force=True)
            await fetcher.aclose()
            return failed, stored_now

        failed, stored = asyncio.run(two_cycles())
    assert failed.errors == 2 and set(failed.feed_errors) == set(urls)
    assert failed.storage_error and failed.alerts == 0
    assert len(stories.index) == 2
    assert stored.errors == 0 and stored.alerts == 2
    assert repo.db.execute("SELECT count(*) FROM items").fetchone()[0] == 2
