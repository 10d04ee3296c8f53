"""Build an in-process pipeline on a real SQLite file for tests (no subprocess)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from bot.console.delivery import ConsoleDeliverer
from bot.core.matching import Matcher
from bot.core.models import FeedSpec
from bot.cycle.pipeline import CycleSettings, Pipeline
from bot.cycle.story_grouping import StoryGrouper
from bot.cycle.watchlist_files import WatchlistReloader
from bot.feeds.fetcher import Fetcher, FetchSettings
from storage.db import open_database
from storage.repository import Repository

ROOT = Path(__file__).resolve().parent.parent


def default_matcher() -> Matcher:
    reloader = WatchlistReloader(ROOT / "watchlists")
    reloader.load()
    return reloader.matcher


def make_pipeline(
    db_path: Path,
    urls: Sequence[str],
    *,
    matcher: Matcher | None = None,
    settings: FetchSettings | None = None,
    deliverer: object | None = None,
    chat_ids: tuple[int, ...] = (),
    stories: bool = True,
    backfill_hours: int = 24,
) -> tuple[Pipeline, Repository, Fetcher, io.StringIO]:
    repo = Repository(open_database(db_path))
    fetcher = Fetcher(settings or FetchSettings(deadline=20.0))
    out = io.StringIO()
    chosen = matcher or default_matcher()
    pipeline = Pipeline(
        repo,
        fetcher,
        matcher=lambda: chosen,
        feeds=lambda: [FeedSpec(url=u) for u in urls],
        deliverer=deliverer or ConsoleDeliverer(repo, "Africa/Bamako", out=out),  # type: ignore[arg-type]
        settings=CycleSettings(chat_ids=chat_ids, backfill_hours=backfill_hours),
        stories=StoryGrouper(repo, timedelta(hours=72)) if stories else None,
    )
    return pipeline, repo, fetcher, out
