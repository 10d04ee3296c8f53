"""Weak matches end to end: stored by `poll --once`, never sent, found by `search` and /search,
explained by /test."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pytest

from tests.bot_process import RunningBot, ask
from tests.conftest import CHAT, run_main, telegram_env, write_feed_list
from tests.fakes.feed_server import FeedServer, rfc822, rss
from tests.fakes.telegram_api import FakeTelegramAPI, parse_telegram_html

pytestmark = pytest.mark.slow  # main.py run against the fake Bot API

NOW = time.time()
ADMIN_ID = 7001
FEED = rss(
    [
        {
            "title": "Mali: JNIM fighters attack army positions near Kidal",
            "link": "https://news.example.org/jnim-kidal",
            "guid": "strong-1",
            "description": "Militants struck a checkpoint.",
            "pubDate": rfc822(NOW - 3600),
        },
        {
            "title": "Peacekeeping budget talks stall in New York",
            "link": "https://news.example.org/un-budget",
            "guid": "weak-1",
            "description": "Cuts would hit missions in Lebanon, South Sudan, Cyprus and Mali.",
            "pubDate": rfc822(NOW - 1800),
        },
        {
            "title": "Far-away places with strange sounding names",
            "link": "https://news.example.org/idiom",
            "guid": "idiom-1",
            "description": "A column on Timbuktu as a byword for remoteness.",
            "pubDate": rfc822(NOW - 1200),
        },
    ],
    title="World Wire",
)


def test_weak_match_is_stored_searchable_and_never_sent(
    feed_server: FeedServer, telegram_api: FakeTelegramAPI, nw_env: dict[str, str], tmp_path: Path
) -> None:
    feed_server.set("/world.xml", FEED)
    env = telegram_env(nw_env, telegram_api)
    env["NEWSWATCH_FEEDS"] = str(write_feed_list(tmp_path, [feed_server.url("/world.xml")]))
    env["NEWSWATCH_ADMIN_IDS"] = str(ADMIN_ID)

    polled = run_main(["poll", "--once"], env)
    assert polled.returncode == 0, polled.stderr
    texts = [m.text for m in telegram_api.messages_to(CHAT)]
    assert len(texts) == 1 and "Kidal" in texts[0], texts  # the weak match is not sent

    db = sqlite3.connect(env["NEWSWATCH_DB"])
    rows = db.execute("SELECT title, entities, reasons FROM weak_matches").fetchall()
    alerts = [r[0] for r in db.execute("SELECT title FROM alerts")]
    db.close()
    assert alerts == ["Mali: JNIM fighters attack army positions near Kidal"]
    assert [(r[0], json.loads(r[1])) for r in rows] == [
        ("Peacekeeping budget talks stall in New York", ["Mali"])
    ]  # the idiom is excluded outright, not weak
    assert "in a list of 3+ names" in json.loads(rows[0][2])[0]

    found = run_main(["search", "Cyprus"], env)
    assert found.returncode == 0, found.stderr
    assert found.stdout.startswith("0 alert(s) match Cyprus")
    assert "1 weak match(es), stored but not alerted" in found.stdout
    assert "~ Peacekeeping budget talks stall in New York (World Wire; weak: Mali)" in found.stdout

    proc = RunningBot(env)
    try:
        assert telegram_api.wait_for(lambda s: bool(s.commands), timeout=40), proc.output()
        reply = ask(telegram_api, "/search mali", chat_id=ADMIN_ID, user_id=ADMIN_ID)
        text = parse_telegram_html("\n".join(m.text for m in reply))
        assert "1 alert(s) match" in text and "Kidal" in text
        assert "1 weak match(es), stored but not alerted" in text
        assert "Peacekeeping budget talks" in text

        reply = ask(
            telegram_api,
            "/test Peacekeeping budget talks\nCuts hit missions in Lebanon, South Sudan, Cyprus"
            " and Mali.",
            chat_id=ADMIN_ID,
            user_id=ADMIN_ID,
        )
        text = parse_telegram_html("\n".join(m.text for m in reply))
        assert "No alert: weak match only (Mali)" in text
        assert "[salience]" in text and "in a list of 3+ names" in text
    finally:
        code = proc.stop()
    assert code == 0, proc.output()
