"""End to end: `main.py poll --once` against the local feed server and the fake Bot API."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from tests.conftest import CHAT, run_main, telegram_env, write_feed_list
from tests.fakes.feed_server import FeedServer, rfc822, rss
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.news_samples import JNIM_BAMAKO, SOMALIA_FLOODS, goita_lavrov_atom

pytestmark = pytest.mark.slow  # main.py poll --once end to end

NOW = time.time()

MALI_FEED = rss(
    [
        {
            **JNIM_BAMAKO,
            # markup and an entity: the alert must escape the text for Telegram HTML
            "description": "<p>Militants linked to al-Qaeda struck a checkpoint &amp; a base.</p>",
            "pubDate": rfc822(NOW - 3600),
        },
        {**SOMALIA_FLOODS, "pubDate": rfc822(NOW - 1800)},
        {
            "title": "Old news: Bamako market reopens",
            "link": "https://news.example.org/old-bamako",
            "guid": "old-1",
            "description": "An old story.",
            "pubDate": rfc822(NOW - 10 * 86400),
        },
    ],
    title="Sahel Wire",
)
ATOM_FEED = goita_lavrov_atom(NOW - 600)


def test_poll_once_delivers_then_second_run_sends_nothing(
    feed_server: FeedServer, telegram_api: FakeTelegramAPI, nw_env: dict[str, str], tmp_path: Path
) -> None:
    feed_server.set("/rss.xml", MALI_FEED)
    feed_server.set("/atom.xml", ATOM_FEED, content_type="application/atom+xml")
    feeds = write_feed_list(tmp_path, [feed_server.url("/rss.xml"), feed_server.url("/atom.xml")])
    env = telegram_env(nw_env, telegram_api)
    env["NEWSWATCH_FEEDS"] = str(feeds)

    first = run_main(["poll", "--once"], env)
    assert first.returncode == 0, first.stderr
    assert first.stderr.count("cycle: feeds=") == 1, first.stderr  # it was printed twice

    texts = [m.text for m in telegram_api.messages_to(CHAT)]
    assert len(texts) == 2, texts
    assert any("JNIM" in t and "Bamako" in t for t in texts)
    assert any("Goïta" in t and "Lavrov" in t for t in texts)
    assert not any("Somalia" in t for t in texts), "Somalia must not match Mali"
    assert not any("Old news" in t for t in texts), "first fetch must not backfill old items"
    assert all(m.parse_mode == "HTML" for m in telegram_api.messages_to(CHAT))
    assert any("&amp;" in t for t in texts), "feed text is escaped for Telegram HTML"

    hits_before = len(feed_server.hits)
    second = run_main(["poll", "--once"], env)
    assert second.returncode == 0, second.stderr
    assert len(telegram_api.messages_to(CHAT)) == 2, "second run must send nothing"
    new_statuses = feed_server.statuses()[hits_before:]
    assert new_statuses == [304, 304]

    db = sqlite3.connect(nw_env["NEWSWATCH_DB"])
    assert db.execute("select count(*) from alerts").fetchone()[0] == 2
    assert db.execute("select count(*) from items").fetchone()[0] == 4
    statuses = db.execute("select status, count(*) from deliveries group by status").fetchall()
    assert statuses == [("sent", 2)]
    assert db.execute("select count(*) from feeds where etag is not null").fetchone()[0] == 2


def test_poll_once_without_token_prints_alerts(
    feed_server: FeedServer, nw_env: dict[str, str], tmp_path: Path
) -> None:
    feed_server.set("/rss.xml", MALI_FEED)
    feeds = write_feed_list(tmp_path, [feed_server.url("/rss.xml")])
    nw_env["NEWSWATCH_FEEDS"] = str(feeds)
    result = run_main(["poll", "--once"], nw_env)
    assert result.returncode == 0, result.stderr
    assert "TELEGRAM_BOT_TOKEN" in result.stdout
    assert "JNIM fighters attack" in result.stdout
    assert "Somalia" not in result.stdout


def test_changed_body_with_same_items_is_not_parsed_twice(
    feed_server: FeedServer, nw_env: dict[str, str], tmp_path: Path
) -> None:
    feed_server.set("/rss.xml", MALI_FEED, fault="no-etag")
    nw_env["NEWSWATCH_FEEDS"] = str(write_feed_list(tmp_path, [feed_server.url("/rss.xml")]))
    assert run_main(["poll", "--once"], nw_env).returncode == 0
    second = run_main(["poll", "--once"], nw_env)
    assert second.returncode == 0
    assert "unchanged=1" in second.stderr
