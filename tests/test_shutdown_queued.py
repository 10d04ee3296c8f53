"""SIGTERM with 60 queued group commands: out within 10 s; the next start answers them.

Issue 16, point 8: python-telegram-bot answered every queued command before stopping:
paced at 20 messages a minute in a group, 60 of them took 147 s (systemd's TimeoutStopSec
is 20). Telegram does not send them again (getUpdates confirmed them when they were
fetched), so the bot keeps them in the database for its next start.
"""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path

import pytest

from tests.bot_process import RunningBot
from tests.conftest import telegram_env, write_feed_list
from tests.fakes.feed_server import FeedServer, rss
from tests.fakes.telegram_api import FakeTelegramAPI

pytestmark = pytest.mark.slow  # SIGTERM to main.py run

GROUP = -1005550077
ADMIN = 5550078


def _stop(bot: RunningBot) -> tuple[int, float]:
    """SIGTERM; the exit code (killed after 20 s: -9) and how long the process took to exit
    (infinite when it had exited before the signal)."""
    code = bot.stop()
    return code, math.inf if bot.stopped_in is None else bot.stopped_in


def test_sigterm_with_60_queued_group_commands(
    feed_server: FeedServer, telegram_api: FakeTelegramAPI, nw_env: dict[str, str], tmp_path: Path
) -> None:
    feed_server.set("/ok.xml", rss([]))
    env = telegram_env(nw_env, telegram_api, chats=str(GROUP))
    env["NEWSWATCH_ADMIN_IDS"] = str(ADMIN)
    env["NEWSWATCH_FEEDS"] = str(write_feed_list(tmp_path, [feed_server.url("/ok.xml")]))
    proc = RunningBot(env)
    try:
        assert telegram_api.wait_for(lambda s: bool(s.commands), timeout=40), proc.output()
        for _ in range(60):
            telegram_api.push_message("/help", chat_id=GROUP, user_id=ADMIN, chat_type="supergroup")
        assert telegram_api.wait_for(lambda s: len(s.messages) >= 2, timeout=30), proc.output()
    finally:
        code, took = _stop(proc)
    output = proc.output()
    assert code == 0, output[-3000:]
    assert took < 10.0, f"shutdown took {took:.1f}s"
    answered = len(telegram_api.messages_to(GROUP))
    db = sqlite3.connect(env["NEWSWATCH_DB"])
    kept = db.execute("SELECT count(*) FROM deferred_updates").fetchone()[0]
    db.close()
    assert kept >= 60 - answered - 1 and kept > 0, (answered, kept)
    assert "queued command(s) not answered: kept for the next start" in output

    proc = RunningBot(env)  # the next start answers them, in order
    try:
        assert telegram_api.wait_for(
            lambda s: len(telegram_api.messages_to(GROUP)) >= answered + 2, timeout=40
        ), proc.output()[-3000:]
    finally:
        code, took = _stop(proc)  # again within 10 s, what is left kept again
    assert code == 0 and took < 10.0, proc.output()[-3000:]
    assert "answering" in proc.output()
