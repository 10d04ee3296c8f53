"""A chat that answered 403 comes back with its pending alerts (issue 16, point 2).

The real ``main.py run`` against the fake Bot API. Before the fix one 403 silenced a chat for
good: its later alerts stayed pending forever, and with admin = alert chat nobody was told.
"""

from __future__ import annotations

import sqlite3
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import CHAT, run_main, telegram_env, write_feed_list
from tests.fakes.feed_server import FeedServer, rfc822, rss
from tests.fakes.telegram_api import FakeTelegramAPI, parse_telegram_html
from tests.main_process import MainProcess

pytestmark = pytest.mark.slow  # main.py run against the fake Bot API

GROUP = -1005550010  # comes back when the bot is added again (my_chat_member)
GROUP2 = -1005550020  # comes back by /retry chat
WITNESS = -1005550030  # never blocked: the admin (CHAT) is told through it
TITLES = ["JNIM claims ambush on army convoy near Gao", "Assimi Goïta announces a reshuffle"]


def _alerts(api: FakeTelegramAPI, chat: int) -> Counter[str]:
    texts = [parse_telegram_html(m.text) for m in api.messages_to(chat)]
    return Counter(t for t in texts for title in TITLES if title in t)


def test_blocked_chats_come_back_by_start_readd_and_retry(
    feed_server: FeedServer, telegram_api: FakeTelegramAPI, nw_env: dict[str, str], tmp_path: Path
) -> None:
    now = time.time()
    feed_server.set(
        "/wire.xml",
        rss(
            [
                {
                    "title": t,
                    "link": f"https://news.example.org/r/{i}",
                    "guid": f"r-{i}",
                    "pubDate": rfc822(now - 300 - i),
                }
                for i, t in enumerate(TITLES)
            ]
        ),
    )
    chats = ",".join(str(c) for c in (CHAT, GROUP, GROUP2, WITNESS))
    env = telegram_env(nw_env, telegram_api, chats=chats)
    env["NEWSWATCH_ADMIN_IDS"] = str(CHAT)  # the usual setup: the admin's chat gets alerts
    env["NEWSWATCH_FEEDS"] = str(write_feed_list(tmp_path, [feed_server.url("/wire.xml")]))
    config = tmp_path / "newswatch.toml"
    config.write_text("digest_threshold = 0\nfetch_spread_seconds = 0\n", encoding="utf-8")
    telegram_api.state.blocked_chats.update({CHAT, GROUP, GROUP2})
    proc = MainProcess(env, "--config", str(config), "run")
    api = telegram_api
    try:
        assert api.wait_for(lambda s: sum(_alerts(api, WITNESS).values()) == 2, timeout=60)
        assert api.wait_for(
            lambda s: any(f"Chat {CHAT} deactivated" in m.text for m in api.messages_to(WITNESS)),
            timeout=30,
        ), "the admin, whose own chat blocked the bot, was not told through another chat"
        status = run_main(["--config", str(config), "status"], env)
        assert "inactive chats (3)" in status.stdout, status.stdout
        assert f"/retry chat {GROUP2}" in status.stdout
        api.state.blocked_chats.clear()  # the users unblock, the group admins re-add the bot
        time.sleep(1.0)
        assert sum(_alerts(api, CHAT).values()) == 0, "nothing before the chat comes back"

        api.push_message("/start", chat_id=CHAT, user_id=CHAT)
        assert api.wait_for(lambda s: sum(_alerts(api, CHAT).values()) == 2, timeout=30)
        api.push_member_update(GROUP, "member", user_id=CHAT)
        assert api.wait_for(lambda s: sum(_alerts(api, GROUP).values()) == 2, timeout=30)
        api.push_message(f"/retry chat {GROUP2}", chat_id=CHAT, user_id=CHAT)
        assert api.wait_for(lambda s: sum(_alerts(api, GROUP2).values()) == 2, timeout=30)
        assert api.wait_for(
            lambda s: any("is active again" in m.text for m in api.messages_to(CHAT)), timeout=10
        )
        time.sleep(1.5)  # a repeat would come now
        status = run_main(["--config", str(config), "status"], env)
    finally:
        code = proc.stop()
    output = proc.output()
    for chat in (CHAT, GROUP, GROUP2, WITNESS):
        counts = _alerts(api, chat)
        assert sorted(counts.values()) == [1, 1], (chat, counts, output[-3000:])
    assert "inactive chats" not in status.stdout
    db = sqlite3.connect(env["NEWSWATCH_DB"])
    statuses = {r[0] for r in db.execute("SELECT status FROM deliveries WHERE kind = 'alert'")}
    assert statuses == {"sent"}
    assert code == 0, output[-3000:]
    assert api.state.token not in output
