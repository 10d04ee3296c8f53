"""Every bot command against `main.py run`, the fake Bot API and a seeded SQLite database."""

from __future__ import annotations

import csv
import io
import re
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core.formatting import escape
from bot.core.models import FeedSpec
from tests.bot_process import RunningBot, ask
from tests.commands_seed import SEEDS, seed_alerts, seed_bulk
from tests.conftest import TOKEN, main_env, telegram_env, write_feed_list
from tests.fakes.feed_server import FeedServer, rfc822, rss
from tests.fakes.telegram_api import FakeTelegramAPI, SentMessage, parse_telegram_html, utf16_len

pytestmark = pytest.mark.slow  # main.py run answering commands, replies paced 1 s apart

ADMIN = 7001
GROUP = -1005550001
ADMIN_CHAT = 70010
STRANGER = 9009
FRIEND = 9010
WEB_BASE_URL = "https://archive.example.org/"


def _env(tmp: Path, api: FakeTelegramAPI, feeds: Path, admins: str) -> dict[str, str]:
    env = telegram_env(main_env(tmp / "newswatch.db", NEWSWATCH_FEEDS=str(feeds)), api, str(GROUP))
    if admins:
        env["NEWSWATCH_ADMIN_IDS"] = admins
    config = tmp / "newswatch.toml"
    config.write_text(f'web_base_url = "{WEB_BASE_URL}"\n', encoding="utf-8")
    env["NEWSWATCH_CONFIG"] = str(config)
    return env


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    tmp = tmp_path_factory.mktemp("commands")
    now = datetime.now(UTC)
    with FakeTelegramAPI(TOKEN) as api, FeedServer() as server:
        quiet = rss(
            [{"title": "Floods in Somalia", "link": "https://x.example/s", "guid": "s1",
              "description": "Rain.", "pubDate": rfc822(time.time() - 600)}],
            title="Quiet Wire",
        )  # fmt: skip
        server.set("/quiet.xml", quiet)
        server.set("/broken.xml", "upstream exploded", status=500)
        server.set("/stale.xml", rss([], title="Stale Gazette"))
        urls = [server.url("/quiet.xml"), server.url("/broken.xml"), server.url("/stale.xml")]
        repo = seed_alerts(tmp / "newswatch.db", now)
        seed_bulk(repo, now)
        repo.feeds.sync([FeedSpec(url=u) for u in urls], now)
        stale = repo.feeds.states([urls[2]])[urls[2]]
        repo.feeds.update(
            stale,
            replace(
                stale,
                title="Stale Gazette",
                last_fetch_at=now - timedelta(days=3),
                last_success_at=now - timedelta(days=3),
                first_success_at=now - timedelta(days=30),
                next_fetch_at=now + timedelta(hours=1),
            ),
        )
        repo.db.conn.close()
        env = _env(tmp, api, write_feed_list(tmp, urls), str(ADMIN))
        proc = RunningBot(env)
        try:
            published = lambda s: bool(s.commands) and f"chat:{ADMIN}" in s.scoped_commands  # noqa: E731
            assert api.wait_for(published, timeout=40), proc.output()
            db = sqlite3.connect(tmp / "newswatch.db")
            yield SimpleNamespace(api=api, proc=proc, db=db, urls=urls, now=now)
        finally:
            code = proc.stop()
        assert code == 0, proc.output()
        assert TOKEN not in proc.output()
        assert "Traceback" not in proc.output(), proc.output()


def group(bot: SimpleNamespace, text: str, user: int = ADMIN) -> list[SentMessage]:
    """Ask in the configured group (python-telegram-bot paces groups at 20 messages/min)."""
    return ask(bot.api, text, chat_id=GROUP, user_id=user, chat_type="supergroup")


def private(bot: SimpleNamespace, text: str, user: int = ADMIN) -> list[SentMessage]:
    """Ask in a private chat with the admin (a chat id of its own, apart from admin notices)."""
    return ask(bot.api, text, chat_id=ADMIN_CHAT, user_id=user)


def one(bot: SimpleNamespace, text: str, user: int = ADMIN) -> str:
    return "\n".join(m.text for m in private(bot, text, user))


def plain(html: str) -> str:
    return parse_telegram_html(html)


# ----- start-up -------------------------------------------------------------------------
def test_command_list_is_published_with_descriptions(bot: SimpleNamespace) -> None:
    names = {c["command"]: c["description"] for c in bot.api.state.commands}
    expected = "help recent search entity story stats trend feeds watchlist test mute unmute"
    for name in (*expected.split(), "mutes", "digest", "quiet", "export"):
        assert names.get(name), name
    # The admin commands are listed in the configured admin's private chat only.
    admins = {
        c["command"]: c["description"] for c in bot.api.state.scoped_commands[f"chat:{ADMIN}"]
    }
    assert "allow" not in names and "deny" not in names
    for name in (*expected.split(), "allow", "deny", "watch"):
        assert admins.get(name), name
    assert "PAIRING" not in bot.proc.output(), "an admin is configured: no pairing code"


def test_help_names_the_watched_entities_and_commands(bot: SimpleNamespace) -> None:
    text = one(bot, "/help")
    assert "JNIM" in text and "Assimi Goïta" in text
    assert "/search" in text and "/trend" in text and "/quiet" in text
    assert "/health" in text and "/subscribe" in text


def test_health_refuses_a_stranger_with_the_user_id(bot: SimpleNamespace) -> None:
    reply = ask(bot.api, "/health", chat_id=STRANGER, user_id=STRANGER)[0].text
    assert "private" in reply and str(STRANGER) in reply


# ----- access control -------------------------------------------------------------------
@pytest.mark.parametrize("command", ["/recent", "/search JNIM", "/stats", "/export", "/help"])
def test_strangers_get_one_refusal_with_their_id_and_no_data(
    bot: SimpleNamespace, command: str
) -> None:
    replies = ask(bot.api, command, chat_id=STRANGER, user_id=STRANGER)
    assert len(replies) == 1
    assert str(STRANGER) in replies[0].text and "private" in replies[0].text
    assert "JNIM" not in replies[0].text and "Bamako" not in replies[0].text
    assert not [d for d in bot.api.state.documents if str(d["chat_id"]) == str(STRANGER)]


def test_start_with_a_wrong_code_is_refused_when_an_admin_exists(bot: SimpleNamespace) -> None:
    replies = ask(bot.api, "/start ABCD2345", chat_id=STRANGER, user_id=STRANGER)
    assert str(STRANGER) in replies[0].text
    assert bot.db.execute("SELECT count(*) FROM users WHERE role = 'owner'").fetchone()[0] == 0


def test_members_of_a_configured_group_may_use_commands_also_as_cmd_at_botname(
    bot: SimpleNamespace,
) -> None:
    text = "\n".join(m.text for m in group(bot, "/recent@newswatch_bot 2", user=4242424))
    assert "Latest alerts" in text
    assert "private" not in text


def test_allow_and_deny_are_admin_only_stored_and_logged(bot: SimpleNamespace) -> None:
    refused = ask(bot.api, "/allow 9010", chat_id=STRANGER, user_id=STRANGER)
    assert str(STRANGER) in refused[0].text
    assert "may now use" in ask(bot.api, "/allow 9010", chat_id=ADMIN, user_id=ADMIN)[0].text
    assert "Latest alerts" in ask(bot.api, "/recent 1", chat_id=FRIEND, user_id=FRIEND)[0].text
    only = ask(bot.api, "/allow 1234", chat_id=FRIEND, user_id=FRIEND)[0].text
    assert "Only the owner" in only
    assert "no longer" in ask(bot.api, "/deny 9010", chat_id=ADMIN, user_id=ADMIN)[0].text
    again = ask(bot.api, "/recent 1", chat_id=FRIEND, user_id=FRIEND)
    assert str(FRIEND) in again[0].text and "Latest" not in again[0].text
    log = bot.db.execute("SELECT actor, action, user_id FROM access_log ORDER BY id").fetchall()
    assert (ADMIN, "allowed", FRIEND) in log and (ADMIN, "denied", FRIEND) in log
    assert "Usage" in ask(bot.api, "/allow bob", chat_id=ADMIN, user_id=ADMIN)[0].text
    huge = ask(bot.api, "/allow 99999999999999999999", chat_id=ADMIN, user_id=ADMIN)[0].text
    assert "too large" in huge and "internal error" not in huge


# ----- alerts ---------------------------------------------------------------------------
def test_recent_n_lists_the_newest_first(bot: SimpleNamespace) -> None:
    text = plain(one(bot, "/recent 3"))
    titles = [s.title for s in sorted(SEEDS, key=lambda s: s.hours_ago)]
    positions = [text.find(t) for t in titles[:2]]
    assert all(p >= 0 for p in positions) and positions == sorted(positions), text
    assert "drone strike" in text  # the bulk alert 3h ago is third
    assert titles[2] not in text


def test_recent_period(bot: SimpleNamespace) -> None:
    text = plain(one(bot, "/recent 6h"))
    assert "Assimi Goïta reçoit Sergueï Lavrov à Bamako" in text  # 5h ago
    assert "claims ambush near Kidal" not in text  # 9h ago
    assert "in the last 6h" in text


@pytest.mark.parametrize("arg", ["abc", "0", "7x", "9999"])
def test_recent_bad_argument_gets_a_clear_message(bot: SimpleNamespace, arg: str) -> None:
    text = one(bot, f"/recent {arg}")
    assert "Sorry" not in text and ("period" in text or "between" in text)


def test_long_replies_are_paginated_into_valid_messages(bot: SimpleNamespace) -> None:
    replies = private(bot, "/recent 100")
    assert len(replies) >= 2
    for message in replies:
        assert message.parse_mode == "HTML"
        assert utf16_len(plain(message.text)) <= 4096 and utf16_len(message.text) <= 4096
    joined = "\n".join(plain(m.text) for m in replies)
    for n in range(1, 41):
        assert f"report {n} of a long series" in joined, n  # nothing cut off
    assert len(re.findall(r"^• ", joined, flags=re.M)) == 52


def test_search_apostrophe_and_diacritics(bot: SimpleNamespace) -> None:
    text = plain(one(bot, "/search Jama'at"))
    assert "1 alert(s)" in text and "claims ambush near Kidal" in text
    goita = plain(one(bot, "/search goita"))
    assert "2 alert(s)" in goita and "Lavrov" in goita and "2030" in goita


def test_search_since_limits_the_period(bot: SimpleNamespace) -> None:
    text = plain(one(bot, "/search JNIM since:1d"))
    assert "claims ambush" in text and "Timbuktu" not in text


@pytest.mark.parametrize(
    "query", ['"', "'", "*", "NEAR(", "-", "(", ')"', 'JNIM "unbalanced', "AND OR NOT", "since:xx"]
)
def test_search_hostile_input_replies_without_error(bot: SimpleNamespace, query: str) -> None:
    text = one(bot, f"/search {query}")
    assert "Sorry" not in text and "Traceback" not in text and "fts5" not in text
    assert text


def test_search_more_button_gives_the_next_page(bot: SimpleNamespace) -> None:
    replies = private(bot, "/search kidal")
    last = replies[-1]
    assert "41 alert(s)" in plain(replies[0].text) and "(1–10" in plain(replies[0].text)
    markup = last.params.get("reply_markup")
    assert markup is not None
    button = markup["inline_keyboard"][0][0]
    assert button["text"] == "More"
    before = len(bot.api.messages_to(ADMIN_CHAT))
    bot.api.push_callback(button["callback_data"], chat_id=ADMIN_CHAT, user_id=ADMIN)
    assert bot.api.wait_for(
        lambda s: len([m for m in s.messages if m.chat_id == ADMIN_CHAT]) > before
    )
    page2 = plain(bot.api.messages_to(ADMIN_CHAT)[before].text)
    assert "(11–20" in page2
    assert bot.api.state.callback_answers


def test_entity_by_name_alias_and_period(bot: SimpleNamespace) -> None:
    text = plain(one(bot, "/entity jnim 1d"))
    assert "JNIM" in text and "claims ambush near Kidal" in text and "Ségou" not in text
    wagner = plain(one(bot, "/entity Africa Corps"))
    assert "Africa Corps convoy hit" in wagner
    assert "No watched entity" in one(bot, "/entity Nobody Atall")


def test_story_lists_every_outlet(bot: SimpleNamespace) -> None:
    story_id = bot.db.execute("SELECT story_id FROM alerts WHERE source = 'France 24'").fetchone()[
        0
    ]
    html = one(bot, f"/story {story_id}")
    text = plain(html)
    assert "2 outlet(s): RFI Afrique, France 24" in text
    # every report: outlet, language, time and link
    for source in ("RFI Afrique", "France 24"):
        link, title = bot.db.execute(
            "SELECT link, title FROM alerts WHERE source = ?", [source]
        ).fetchone()
        assert f'<a href="{link}">{title}</a>' in html
    assert "RFI Afrique · EN · 20" in text and "France 24 · EN · 20" in text
    # web_base_url is set: the reply links to the story's page in the web archive.
    assert f'<a href="https://archive.example.org/newswatch/story?id={story_id}">' in html
    assert "There is no story" in one(bot, "/story 99999")
    assert "Which story" in one(bot, "/story abc")
    # 20 digits overflowed SQLite's integers: "internal error" (issue 16)
    assert "There is no story" in one(bot, "/story 99999999999999999999")


def test_stats_counts_and_change(bot: SimpleNamespace) -> None:
    text = plain(one(bot, "/stats 7d"))
    assert "Stories over the last 7d" in text
    since = [(datetime.now(UTC) - timedelta(days=7)).isoformat(timespec="seconds")]
    when = "min(coalesce(published_at, created_at), created_at)"
    stories, reports = bot.db.execute(
        f"SELECT count(DISTINCT coalesce(story_id, -id)), count(*) FROM alerts WHERE {when} >= ?",
        since,
    ).fetchone()
    assert stories < reports, "the seed has stories reported by several outlets"
    # A story reported by several outlets counts once (it counted each report).
    assert f"Total: {stories} (" in text and f"from {reports} report(s)" in text
    assert re.search(r"JNIM: \d+ \(", text) and re.search(r"Reuters Africa: \d", text)


def test_trend_sends_a_png_photo(bot: SimpleNamespace) -> None:
    before = len(bot.api.state.photos)
    bot.api.push_message("/trend JNIM 30d", chat_id=ADMIN_CHAT, user_id=ADMIN)
    assert bot.api.wait_for(lambda s: len(s.photos) > before, timeout=30)
    photo = bot.api.state.photos[-1]
    assert photo["bytes"].startswith(b"\x89PNG\r\n\x1a\n") and len(photo["bytes"]) > 5000
    assert photo["caption"].startswith("JNIM: ") and "in the last 30d, per day" in photo["caption"]


def test_trend_bins_follow_the_period(bot: SimpleNamespace) -> None:
    """/trend 2h says 2h and bins by hour (it said "1 days" and drew one day-wide bar)."""
    before = len(bot.api.state.photos)
    bot.api.push_message("/trend JNIM 2h", chat_id=ADMIN_CHAT, user_id=ADMIN)
    assert bot.api.wait_for(lambda s: len(s.photos) > before, timeout=30)
    caption = bot.api.state.photos[-1]["caption"]
    assert "in the last 2h, per hour" in caption and "days" not in caption


def test_export_sends_a_csv_document(bot: SimpleNamespace) -> None:
    before = len(bot.api.state.documents)
    bot.api.push_message("/export 30d", chat_id=ADMIN_CHAT, user_id=ADMIN)
    assert bot.api.wait_for(lambda s: len(s.documents) > before, timeout=20)
    document = bot.api.state.documents[-1]
    assert document["filename"].endswith(".csv")
    rows = list(csv.DictReader(io.StringIO(document["bytes"].decode("utf-8"))))
    assert len(rows) == 52
    assert any(r["title"].startswith("Jama'at") and "JNIM" in r["entities"] for r in rows)


# ----- configuration views ----------------------------------------------------------------
def test_feeds_shows_failing_and_stale_feeds_and_summarises_healthy_ones(
    bot: SimpleNamespace,
) -> None:
    deadline = time.monotonic() + 60
    # The first cycle (its fetches are spread over a few seconds) has tried the broken feed
    # and fetched the healthy one.
    while time.monotonic() < deadline:
        query = "SELECT last_error, last_success_at FROM feeds WHERE url = ?"
        broken = bot.db.execute(query, [bot.urls[1]]).fetchone()
        healthy = bot.db.execute(query, [bot.urls[0]]).fetchone()
        if broken and broken[0] and healthy and healthy[1]:
            break
        time.sleep(0.2)
    text = plain(one(bot, "/feeds"))
    assert "1 healthy" in text
    assert bot.urls[1] in text and "failing" in text and "500" in text
    assert "Stale Gazette" in text and "stale" in text and "next try" in text
    assert bot.urls[0] not in text  # healthy feeds are only counted


def test_watchlist_shows_files_and_version(bot: SimpleNamespace) -> None:
    text = plain(one(bot, "/watchlist"))
    assert "sahel.toml" in text and "version" in text and "Tinzaouaten" in text


def test_test_explains_a_match(bot: SimpleNamespace) -> None:
    text = plain(one(bot, "/test JNIM fighters ambush an army convoy near Kidal"))
    assert "ALERT" in text and "JNIM" in text and "Kidal" in text
    assert "No alert" in plain(one(bot, "/test Floods in Somalia displace thousands"))
    assert "Paste a headline" in one(bot, "/test")


# ----- per-chat delivery ------------------------------------------------------------------
def test_mute_mutes_and_unmute(bot: SimpleNamespace) -> None:
    text = one(bot, "/mute jnim 6h")
    assert "Muted entity JNIM" in text and "still stored" in text
    assert "Muted source RFI Afrique" in one(bot, "/mute source rfi afrique 1d")
    rows = bot.db.execute(
        "SELECT kind, value FROM mutes WHERE chat_id = ?", [ADMIN_CHAT]
    ).fetchall()
    assert ("entity", "JNIM") in rows and ("source", "RFI Afrique") in rows
    listing = plain(one(bot, "/mutes"))
    assert "entity JNIM" in listing and "source RFI Afrique" in listing
    assert "Unmuted" in one(bot, "/unmute JNIM")
    assert "JNIM" not in plain(one(bot, "/mutes"))
    assert "Usage" in one(bot, "/mute JNIM")
    assert "neither" in one(bot, "/mute Atlantis 1d")
    assert "was not muted" in one(bot, "/unmute Kidal")


def test_digest_and_quiet_are_stored_per_chat(bot: SimpleNamespace) -> None:
    assert "07:30" in one(bot, "/digest daily 07:30")
    prefs = bot.db.execute(
        "SELECT digest_mode, digest_time FROM chat_prefs WHERE chat_id = ?", [ADMIN_CHAT]
    ).fetchone()
    assert prefs == ("all", "07:30")
    assert "once an hour" in one(bot, "/digest hourly")
    mode = bot.db.execute(
        "SELECT digest_mode FROM chat_prefs WHERE chat_id = ?", [ADMIN_CHAT]
    ).fetchone()
    assert mode == ("hourly",)
    assert "Digest: hourly" in plain(one(bot, "/digest"))
    assert "Digest off" in one(bot, "/digest off")
    assert "22:00-07:00" in one(bot, "/quiet 22:00-07:00")
    quiet = bot.db.execute(
        "SELECT quiet_start, quiet_end FROM chat_prefs WHERE chat_id = ?", [ADMIN_CHAT]
    ).fetchone()
    assert quiet == ("22:00", "07:00")
    assert "22:00-07:00" in one(bot, "/quiet")
    assert "off" in one(bot, "/quiet off")
    assert "time range" in one(bot, "/quiet 25:00-07:00") or "time of day" in one(
        bot, "/quiet 25:00-07:00"
    )


def _hold(bot: SimpleNamespace, chat: int, why: str, titles: list[str]) -> None:
    """Pending deliveries of seeded alerts to ``chat``, held for ``why`` until 8 h from now."""
    later = (datetime.now(UTC) + timedelta(hours=8)).isoformat(timespec="seconds")
    with bot.db:
        for title in titles:
            (alert_id,) = bot.db.execute(
                "SELECT id FROM alerts WHERE title = ?", [title]
            ).fetchone()
            bot.db.execute(
                "INSERT INTO deliveries (alert_id, chat_id, kind, status, attempts, not_before,"
                " held, created_at, updated_at) VALUES (?, ?, 'alert', 'pending', 0, ?, ?, ?, ?)",
                [alert_id, chat, later, why, later, later],
            )


@pytest.mark.parametrize(
    ("chat", "setting", "release", "why", "expected"),
    [
        (70021, "/quiet 00:00-23:59", "/quiet off", "quiet", "2 alerts during quiet hours"),
        (70022, "/digest daily 07:00", "/digest off", "daily", "Daily digest: 2 alerts"),
    ],
)
def test_turning_a_hold_off_releases_what_it_held_at_once(
    bot: SimpleNamespace, chat: int, setting: str, release: str, why: str, expected: str
) -> None:
    """/quiet off answered "alerts are sent at any hour" but kept them until the old end."""
    ask(bot.api, setting, chat_id=chat, user_id=ADMIN)
    # Two non-urgent alerts of two stories (urgent ones are never held).
    rows = bot.db.execute(
        "SELECT min(title) FROM alerts WHERE priority != 'urgent' GROUP BY story_id LIMIT 2"
    ).fetchall()
    titles = [r[0] for r in rows]
    _hold(bot, chat, why, titles)
    reply = ask(bot.api, release, chat_id=chat, user_id=ADMIN)
    assert "2 alert(s) held so far are on their way" in reply[0].text
    assert bot.api.wait_for(
        lambda s: any(expected in m.text for m in bot.api.messages_to(chat)), timeout=20
    ), [m.text for m in bot.api.messages_to(chat)]
    digest = next(m.text for m in bot.api.messages_to(chat) if expected in m.text)
    assert all(escape(t)[:40] in digest for t in titles), (titles, digest)
    pending = bot.db.execute(
        "SELECT count(*) FROM deliveries WHERE chat_id = ? AND status = 'pending'", [chat]
    ).fetchone()
    assert pending == (0,)


def test_retry_is_owner_only_and_makes_a_paused_feed_due(bot: SimpleNamespace) -> None:
    with bot.db:
        bot.db.execute(
            "UPDATE feeds SET status = 'paused', consecutive_failures = 5,"
            " next_fetch_at = '2099-01-01T00:00:00+00:00' WHERE url = ?",
            [bot.urls[1]],
        )
    refused = ask(bot.api, "/retry broken.xml", chat_id=FRIEND, user_id=FRIEND)
    assert "broken.xml" not in refused[0].text
    assert bot.db.execute("SELECT status FROM feeds WHERE url = ?", [bot.urls[1]]).fetchone() == (
        "paused",
    )
    text = one(bot, "/retry broken.xml")
    assert f"{bot.urls[1]} (paused after repeated failures) is active again" in text
    status, due = bot.db.execute(
        "SELECT status, next_fetch_at FROM feeds WHERE url = ?", [bot.urls[1]]
    ).fetchone()
    assert status == "active" and due < "2099"
    assert "2 feeds match" not in text
    assert "Usage" in one(bot, "/retry")
    assert "no feed matches 'nowhere'" in one(bot, "/retry nowhere")
    assert "feeds match '127.0.0.1'" in one(bot, "/retry 127.0.0.1")


def test_unknown_command_gets_a_hint(bot: SimpleNamespace) -> None:
    assert "Unknown command /frobnicate" in one(bot, "/frobnicate")


# ----- fuzzing ----------------------------------------------------------------------------
_counter = iter(range(100_000))
NOISE = st.sampled_from(['"', "'", "*", "(", ")", "-", "NEAR(", " OR ", "since:3d", "^", ":"])


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(st.one_of(st.text(min_size=1, max_size=15), NOISE), min_size=1, max_size=6))
def test_fuzz_search_always_replies_and_never_fails(bot: SimpleNamespace, parts: list[str]) -> None:
    query = "".join(parts).replace("\x00", "")
    chat = 20_000 + next(_counter)
    replies = ask(bot.api, f"/search {query}", chat_id=chat, user_id=ADMIN, settle=0.05)
    assert replies
    assert not any("Sorry" in m.text for m in replies), query
