"""`main.py run`: scheduled cycles, commands by long polling, watchlist hot reload, SIGTERM."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.bot_process import RunningBot
from tests.conftest import CHAT, telegram_env, write_feed_list
from tests.fakes.feed_server import FeedServer, rfc822, rss
from tests.fakes.telegram_api import FakeTelegramAPI

pytestmark = pytest.mark.slow  # main.py run in real time

ADMIN = 777001

WATCHLIST = """
[[entities]]
name = "Mali"
aliases = ["Mali", "Malian"]
"""
WATCHLIST_WITH_TIMBUKTU = (
    WATCHLIST
    + """
[[entities]]
name = "Timbuktu"
aliases = ["Timbuktu", "Tombouctou"]
"""
)


def _item(guid: str, title: str, age: float = 600) -> dict[str, str]:
    return {
        "title": title,
        "guid": guid,
        "link": f"https://example.org/{guid}",
        "description": title,
        "pubDate": rfc822(time.time() - age),
    }


def _start_run(
    feed_server: FeedServer,
    telegram_api: FakeTelegramAPI,
    nw_env: dict[str, str],
    tmp_path: Path,
    feed_body: str,
    **extra_env: str,
) -> tuple[RunningBot, Path]:
    """`main.py run` against the fakes: one local feed, a watchlist folder, ADMIN as admin."""
    wl_dir = tmp_path / "watchlists"
    wl_dir.mkdir()
    (wl_dir / "desk.toml").write_text(WATCHLIST)
    feed_server.set("/a.xml", feed_body)
    env = telegram_env(nw_env, telegram_api)
    env.update(
        {
            "NEWSWATCH_FEEDS": str(write_feed_list(tmp_path, [feed_server.url("/a.xml")])),
            "NEWSWATCH_WATCHLISTS": str(wl_dir),
            "NEWSWATCH_ADMIN_IDS": str(ADMIN),
            **extra_env,
        }
    )
    return RunningBot(env), wl_dir


def test_run_polls_answers_reloads_and_stops_on_sigterm(
    feed_server: FeedServer, telegram_api: FakeTelegramAPI, nw_env: dict[str, str], tmp_path: Path
) -> None:
    config = tmp_path / "nw.toml"
    config.write_text("poll_interval_seconds = 10\n")
    proc, wl_dir = _start_run(
        feed_server,
        telegram_api,
        nw_env,
        tmp_path,
        rss([_item("m1", "Mali: transition charter extended")]),
        NEWSWATCH_CONFIG=str(config),
    )
    try:
        # 1. the first cycle runs at start and delivers
        assert telegram_api.wait_for(
            lambda s: any("transition charter" in m.text for m in s.messages), timeout=30
        ), proc.output()[-3000:]
        # 2. commands are answered by long polling
        telegram_api.push_message("/help", chat_id=ADMIN, user_id=ADMIN)
        assert telegram_api.wait_for(
            lambda s: any(
                str(m.chat_id) == str(ADMIN) and "Watching" in m.text for m in s.messages
            ),
            timeout=20,
        ), proc.output()[-3000:]
        # 3. a watchlist edit takes effect by the next cycle, and admins are told what changed
        (wl_dir / "desk.toml").write_text(WATCHLIST_WITH_TIMBUKTU)
        feed_server.set(
            "/a.xml",
            rss(
                [
                    _item("m1", "Mali: transition charter extended"),
                    _item("t1", "Timbuktu manuscripts return home"),
                ]
            ),
        )
        assert telegram_api.wait_for(
            lambda s: any("Timbuktu manuscripts" in m.text for m in s.messages), timeout=40
        ), proc.output()[-3000:]
        assert any("Timbuktu" in m.text for m in telegram_api.messages_to(ADMIN))
        # 4. an invalid edit keeps the last good version and tells the admins
        (wl_dir / "desk.toml").write_text(WATCHLIST + "\n[[entities]]\nname = 'Broken'\n")
        assert telegram_api.wait_for(
            lambda s: any(
                "desk.toml" in m.text
                and str(m.chat_id) == str(ADMIN)
                and "rejected" in m.text.lower()
                for m in s.messages
            ),
            timeout=40,
        ), proc.output()[-3000:]
        alerts = [m for m in telegram_api.messages_to(CHAT)]
        assert len(alerts) == 2, [m.text for m in alerts]
    finally:
        code = proc.stop()  # SIGTERM, killed after 20 s
    assert code == 0, proc.output()[-3000:]
    assert proc.stopped_in is not None and proc.stopped_in < 10
    assert "stopped cleanly" in proc.output()


def test_a_second_poller_on_the_token_is_reported_once_and_commands_resume(
    feed_server: FeedServer, telegram_api: FakeTelegramAPI, nw_env: dict[str, str], tmp_path: Path
) -> None:
    """409 Conflict from getUpdates (the same token polled on another machine)."""
    telegram_api.inject("getUpdates", "409", count=3)
    proc, _wl_dir = _start_run(feed_server, telegram_api, nw_env, tmp_path, rss([]))
    try:
        telegram_api.push_message("/help", chat_id=ADMIN, user_id=ADMIN)
        assert telegram_api.wait_for(
            lambda s: any(str(m.chat_id) == str(ADMIN) for m in s.messages), timeout=40
        ), proc.output()[-3000:]
    finally:
        proc.stop()
    output = proc.output()
    assert output.count("another bot instance is polling Telegram with this token") == 1, output
    assert telegram_api.state.token not in output
