"""Console delivery (no token): each alert with its link under it, and the Telegram digest
rules: more than digest_threshold at once is one digest, urgent alerts apart (real SQLite)."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.console.delivery import ConsoleDeliverer
from bot.core.matching import Hit
from bot.core.models import StoredAlert
from bot.core.watchlist import Priority
from storage.db import open_database
from storage.repository import AlertDraft, NewItem, Repository

NOW = datetime.now(UTC).replace(microsecond=0)


def store(
    repo: Repository, n: int, title: str, priority: Priority = Priority.NORMAL
) -> StoredAlert:
    link = f"https://news.example.org/{n}"
    draft = AlertDraft(
        source="Sahel Wire", title=title, link=link, summary="Details.",
        published=NOW - timedelta(minutes=5), entities=("Mali",),
        matches=(Hit("Mali", "Mali", "title"),),
        priority=priority, chats=(),
    )  # fmt: skip
    item = NewItem(f"k{n}", link, "https://f.example/rss", title, link, draft.published, draft)
    [stored] = repo.alerts.store_feed_items("https://f.example/rss", [item], NOW, None)
    return stored


def test_each_alert_shows_its_link(tmp_path: Path) -> None:
    repo = Repository(open_database(tmp_path / "nw.db"))
    alerts = [store(repo, 1, "Mali: a convoy reaches Kidal")]
    out = io.StringIO()
    asyncio.run(ConsoleDeliverer(repo, "Africa/Bamako", out).deliver(alerts))
    text = out.getvalue()
    assert "Mali: a convoy reaches Kidal" in text
    assert "https://news.example.org/1" in text.splitlines()


def test_a_flood_is_one_digest_and_urgent_alerts_stay_apart(tmp_path: Path) -> None:
    repo = Repository(open_database(tmp_path / "nw.db"))
    alerts = [store(repo, i, f"Mali: routine report {i:02d}") for i in range(12)]
    alerts.append(store(repo, 99, "Mali: convoy ambushed", priority=Priority.URGENT))
    out = io.StringIO()
    asyncio.run(ConsoleDeliverer(repo, "Africa/Bamako", out, digest_threshold=10).deliver(alerts))
    text = out.getvalue()
    assert text.count("12 new alerts") == 1
    assert all(f"routine report {i:02d}" in text for i in range(12))
    assert all(f"https://news.example.org/{i}" in text for i in range(12))
    digest = text[text.index("12 new alerts") :]
    assert "convoy ambushed" not in digest and "convoy ambushed" in text
    assert " UTC · Sahel Wire" in digest  # digest lines show their time
