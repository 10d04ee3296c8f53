"""An in-process pipeline over source specs (feeds, Telegram channels, pages, GDELT queries),
with a recording deliverer, on a real SQLite file (no subprocess)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.app.composition import build_source_reader
from bot.app.config import Config
from bot.core.models import FeedSpec, StoredAlert
from bot.cycle.pipeline import CycleSettings, Pipeline
from bot.cycle.story_grouping import StoryGrouper
from bot.feeds.fetcher import Fetcher, FetchSettings
from storage.db import open_database
from storage.repository import Repository
from tests.harness import default_matcher


@dataclass
class Recorder:
    """A deliverer that keeps what a cycle hands it."""

    alerts: list[StoredAlert] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)

    async def deliver(self, new_alerts: Sequence[StoredAlert]) -> None:
        self.alerts.extend(new_alerts)

    async def notify_admins(self, text: str) -> None:
        self.notices.append(text)


@dataclass
class Clock:
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def source_pipeline(
    db_path: Path,
    specs: Sequence[FeedSpec],
    *,
    clock: Clock | None = None,
    **config: Any,
) -> tuple[Pipeline, Repository, Fetcher, Recorder]:
    repo = Repository(open_database(db_path))
    fetcher = Fetcher(FetchSettings(deadline=20.0))
    recorder = Recorder()
    matcher = default_matcher()
    settings = Config(**config)
    pipeline = Pipeline(
        repo,
        fetcher,
        matcher=lambda: matcher,
        feeds=lambda: list(specs),
        deliverer=recorder,
        settings=CycleSettings(chat_ids=(1,), backfill_hours=settings.backfill_hours),
        stories=StoryGrouper(repo, timedelta(hours=72)),
        clock=clock or Clock(),
        sources=build_source_reader(settings, fetcher),
    )
    return pipeline, repo, fetcher, recorder


def alert_rows(repo: Repository) -> list[dict[str, Any]]:
    return repo.db.execute_returning_dicts("SELECT * FROM alerts ORDER BY id")
