"""The bot-managed watchlist and feed list: valid plain files after every change, hand edits
kept, and read again by FeedListFile when they change."""

from __future__ import annotations

import tomllib
from pathlib import Path

from bot.core.watchlist import parse_watchlist
from bot.cycle.managed_files import FeedListFile, ManagedFiles


def test_entities_are_added_replaced_and_removed_in_valid_toml(tmp_path: Path) -> None:
    files = ManagedFiles(tmp_path)
    files.add_entity("Koutiala", ["Koutiala", "Kutiala"], 1)
    files.add_entity('Say "Sikasso"', ["Sikasso", "سيكاسو"], 1)
    # A hand edit between two bot edits is kept.
    files.watchlist.write_text(files.watchlist.read_text() + "# my note\n", encoding="utf-8")
    files.add_entity("Koutiala", ["Koutiala"], 2)  # replaced, not duplicated
    data = tomllib.loads(files.watchlist.read_text(encoding="utf-8"))
    assert [e["name"] for e in data["entities"]] == ['Say "Sikasso"', "Koutiala"]
    assert "# my note" in files.watchlist.read_text(encoding="utf-8")
    assert files.remove_entity('Say "Sikasso"') and not files.remove_entity("Nowhere")
    assert files.entity_names() == ["Koutiala"]
    result = parse_watchlist(files.watchlist.read_text(encoding="utf-8"), str(files.watchlist))
    assert not result[1], result[1]


def test_feeds_are_added_and_removed_and_reloaded(tmp_path: Path) -> None:
    files = ManagedFiles(tmp_path)
    reader = FeedListFile(files.feeds, required=False)
    assert reader.load() == [] and reader.current() == []
    files.add_feed("https://a.example/rss", "A # wire\nsecond line", 1)
    files.add_feed("https://b.example/rss", None, 1)
    assert [s.url for s in reader.current()] == ["https://a.example/rss", "https://b.example/rss"]
    assert files.remove_feed("https://a.example/rss") and not files.remove_feed("https://x/")
    assert [s.url for s in reader.current()] == ["https://b.example/rss"]
