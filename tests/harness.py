"""Build an in-process pipeline on a real SQLite file for tests (no subprocess), wired by the
application's composition (bot/app/composition.py) as `poll --once` wires it."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

from bot.app.composition import build_pipeline, console_deliverer
from bot.app.config import Config
from bot.core.matching import Matcher
from bot.core.models import FeedSpec
from bot.cycle.pipeline import Pipeline
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
    # No spread of fetch starts: a test's cycle fetches every feed at once.
    config = Config(chat_ids=chat_ids, backfill_hours=backfill_hours, fetch_spread_seconds=0.0)
    repo = Repository(open_database(db_path))
    fetcher = Fetcher(settings or FetchSettings(deadline=20.0))
    out = io.StringIO()
    chosen = matcher or default_matcher()
    pipeline = build_pipeline(
        config,
        repo,
        fetcher,
        matcher=lambda: chosen,
        feeds=lambda: [FeedSpec(url=u) for u in urls],
        deliverer=deliverer or console_deliverer(config, repo, out),  # type: ignore[arg-type]
        stories=stories,
    )
    return pipeline, repo, fetcher, out
