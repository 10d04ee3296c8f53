"""Command floods: replies paced and 429s waited out, one "slow down" (issue 16, point 9).

Before the fix 31 of 100 private replies were sent, the rest dropped on 429 with about 3
tracebacks each; a handled 429 logged an ERROR traceback.
"""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import pytest

from tests.bot_process import RunningBot
from tests.conftest import write_feed_list
from tests.fakes.feed_server import FeedServer, rss
from tests.fakes.telegram_api import FakeTelegramAPI

pytestmark = pytest.mark.slow  # main.py run against the fake Bot API

USER = 5550101


def test_a_flood_of_100_commands_gets_one_slow_down(
    feed_server: FeedServer, telegram_api: FakeTelegramAPI, nw_env: dict[str, str], tmp_path: Path
) -> None:
    feed_server.set("/ok.xml", rss([]))
    env = dict(nw_env)
    env.update(
        TELEGRAM_BOT_TOKEN=telegram_api.state.token,
        TELEGRAM_API_URL=telegram_api.base_url,
        NEWSWATCH_CHAT_IDS=str(USER),
        NEWSWATCH_ADMIN_IDS="5550102",  # USER is a member of an alert chat, not an admin
        NEWSWATCH_FEEDS=str(write_feed_list(tmp_path, [feed_server.url("/ok.xml")])),
    )
    bot = RunningBot(env)
    try:
        assert telegram_api.wait_for(lambda s: bool(s.commands), timeout=40), bot.output()
        telegram_api.inject("sendMessage", "429", count=1, chat_id=USER, retry_after=2)
        for i in range(100):
            telegram_api.push_message(f"/recent {i % 5 + 1}", chat_id=USER, user_id=USER)
        slow = lambda s: any("Slow down" in m.text for m in telegram_api.messages_to(USER))  # noqa: E731
        assert telegram_api.wait_for(slow, timeout=90), bot.output()[-3000:]
        time.sleep(3)  # anything after the "slow down" would come now
    finally:
        assert bot.stop() == 0, bot.output()
    texts = [m.text for m in telegram_api.messages_to(USER)]
    assert sum("Slow down" in t for t in texts) == 1
    replies = [t for t in texts if "Slow down" not in t]
    assert len(replies) == 20, len(replies)  # every allowed command answered, 429 or not
    output = bot.output()
    assert output.count("(429) before a reply") == 1, output[-3000:]
    assert "Traceback" not in output and " ERROR " not in output, output[-3000:]
    sends = [c[1] for c in telegram_api.calls_of("sendMessage") if c[2].get("chat_id") == USER]
    gaps = [b - a for a, b in itertools.pairwise(sends)]
    assert min(gaps) >= 0.9, "replies to one chat closer than the 1 s pacing"
