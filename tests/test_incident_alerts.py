"""End to end (feed server -> poll --once -> fake Telegram): alerts carry their incident line,
the incident fields are stored, a high-severity incident is urgent and a chat's minimum
severity holds the rest for its digest."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pytest

from bot.core.incidents import Severity
from bot.core.watchlist import Priority
from storage.db import open_database
from storage.repository import Repository
from tests.conftest import CHAT, run_main, telegram_env, write_feed_list
from tests.fakes.feed_server import FeedServer, rfc822, rss
from tests.fakes.telegram_api import FakeTelegramAPI, parse_telegram_html

ITEMS = [
    ("JNIM fighters kill at least 12 soldiers in attack on Boulkessi camp in Mali",
     "The jihadists stormed the army camp at dawn, the Malian army said."),
    ("Mali: JNIM claims drone strike near Kidal, three killed", "Fighters said a drone hit a car."),
    ("Mali's transitional president Assimi Goïta receives Russian minister in Bamako",
     "Talks on cooperation."),
]  # fmt: skip


def _feed() -> str:
    now = time.time()
    return rss(
        [{"title": t, "link": f"https://news.example.org/inc/{i}", "guid": f"inc-{i}",
          "description": s, "pubDate": rfc822(now - 600 - i)}
         for i, (t, s) in enumerate(ITEMS)],
        title="Sahel Wire",
    )  # fmt: skip


def _env(
    feed_server: FeedServer, telegram_api: FakeTelegramAPI, nw_env: dict[str, str], tmp_path: Path
) -> dict[str, str]:
    feed_server.set("/inc.xml", _feed())
    env = telegram_env(nw_env, telegram_api)
    env["NEWSWATCH_FEEDS"] = str(write_feed_list(tmp_path, [feed_server.url("/inc.xml")]))
    return env


@pytest.mark.slow
def test_alerts_carry_incident_lines_and_priority(
    feed_server: FeedServer, telegram_api: FakeTelegramAPI, nw_env: dict[str, str], tmp_path: Path
) -> None:
    env = _env(feed_server, telegram_api, nw_env, tmp_path)
    done = run_main(["poll", "--once"], env)
    assert done.returncode == 0, done.stderr
    texts = {parse_telegram_html(m.text).split("\n")[1]: m for m in telegram_api.messages_to(CHAT)}
    attack = texts[ITEMS[0][0]]
    plain = parse_telegram_html(attack.text)
    assert "⚔️ Battle · 12 killed · Boulkessi (Mopti)" in plain
    assert plain.startswith("🚨")  # high severity: urgent, with sound
    assert not attack.params.get("disable_notification")
    drone = parse_telegram_html(texts[ITEMS[1][0]].text)
    assert "💥 Drone/air strike · 3 killed" in drone and not drone.startswith("🚨")
    visit = parse_telegram_html(texts[ITEMS[2][0]].text)
    assert not any(icon in visit for icon in ("⚔️", "💥", "🩸", "♟️", "✊", "🔥"))  # no incident line
    db = sqlite3.connect(nw_env["NEWSWATCH_DB"])
    rows = {
        r[0]: r[1:]
        for r in db.execute("SELECT title, event_type, sub_event, fatalities, places, severity,"
                            " priority FROM alerts")
    }  # fmt: skip
    event_type, sub_event, fatalities, places, severity, priority = rows[ITEMS[0][0]]
    assert (event_type, sub_event, fatalities, severity, priority) == (
        "battles", "armed clash", 12, "high", "urgent",
    )  # fmt: skip
    assert json.loads(places)[0]["id"] == "ml-boulkessi"
    assert rows[ITEMS[1][0]][:3] == ("explosions_remote_violence", "air/drone strike", 3)
    assert rows[ITEMS[2][0]][0] is None  # a visit is no incident


@pytest.mark.slow
def test_high_only_chat_gets_the_rest_in_its_digest(
    feed_server: FeedServer, telegram_api: FakeTelegramAPI, nw_env: dict[str, str], tmp_path: Path
) -> None:
    env = _env(feed_server, telegram_api, nw_env, tmp_path)
    repo = Repository(open_database(Path(nw_env["NEWSWATCH_DB"])))
    from datetime import UTC, datetime

    repo.chats.set_severity_pref(CHAT, "*", Severity.HIGH, datetime.now(UTC))
    repo.db.conn.close()
    done = run_main(["poll", "--once"], env)
    assert done.returncode == 0, done.stderr
    sent = [parse_telegram_html(m.text) for m in telegram_api.messages_to(CHAT)]
    assert len(sent) == 1 and "Boulkessi" in sent[0]
    db = sqlite3.connect(nw_env["NEWSWATCH_DB"])
    held = db.execute(
        "SELECT count(*) FROM deliveries WHERE status = 'pending' AND held = 'daily'"
    ).fetchone()[0]
    assert held == 2  # the drone strike (medium) and the visit (no incident) wait


def test_a_later_report_updates_the_story_incident(tmp_path: Path) -> None:
    """The first report has no toll; a later one of the same story says 25 killed and names
    Mondoro too: the story's first alert (the message that is edited) shows both."""
    from datetime import UTC, datetime

    from bot.data.incident_data import load_default_tagger
    from storage.repository import AlertDraft, NewItem

    tagger = load_default_tagger()
    repo = Repository(open_database(tmp_path / "db.sqlite"))
    now = datetime.now(UTC)
    reports = [
        "Mali: attack under way on the Boulkessi army camp",
        "Mali: at least 25 soldiers killed in attacks on Boulkessi and Mondoro camps",
        "Mali army says situation in Boulkessi under control",  # no incident: changes nothing
    ]
    story = None
    for i, title in enumerate(reports):
        draft = AlertDraft(
            source=f"Outlet {i}", title=title, link=f"https://x.example/{i}", summary="",
            published=now, entities=("Mali",), matches=(), priority=Priority.NORMAL, chats=(),
            story_id=story, incident=tagger.tag(title).fields(),
        )  # fmt: skip
        item = NewItem(f"k{i}", None, "feed", title, None, now, alert=draft)
        stored = repo.alerts.store_feed_items("feed", [item], now, None)
        story = stored[0].story_id
    row = repo.db.execute_returning_dicts(
        "SELECT a.* FROM stories s JOIN alerts a ON a.id = s.first_alert_id WHERE s.id = ?",
        [story],
    )[0]
    assert row["title"] == reports[0]
    assert (row["event_type"], row["fatalities"], row["severity"]) == ("battles", 25, "high")
    assert [p["id"] for p in json.loads(row["places"])] == ["ml-boulkessi", "ml-mondoro"]
