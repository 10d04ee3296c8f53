"""In a group alert chat only its admins (or the bot's) change alert settings (issue 16, 12).

Before the fix any member could /mute, /quiet or /digest the group for 10 years, with no
audit entry and no notice. The real `main.py run` against the fake Bot API.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from tests.bot_process import RunningBot, ask
from tests.conftest import write_feed_list
from tests.fakes.feed_server import FeedServer, rfc822, rss
from tests.fakes.telegram_api import FakeTelegramAPI

pytestmark = pytest.mark.slow  # main.py run against the fake Bot API

GROUP = -1005550088
OWNER = 5550089  # a bot admin
GROUP_ADMIN = 5550090  # an admin of the Telegram group, not of the bot
MEMBER = 5550091  # a plain member of the alert group


def test_only_group_admins_change_settings(
    feed_server: FeedServer, telegram_api: FakeTelegramAPI, nw_env: dict[str, str], tmp_path: Path
) -> None:
    feed_server.set(
        "/ok.xml",
        rss([{"title": "JNIM attack near Gao", "guid": "g", "pubDate": rfc822(time.time() - 60)}]),
    )
    env = dict(nw_env)
    env.update(
        TELEGRAM_BOT_TOKEN=telegram_api.state.token,
        TELEGRAM_API_URL=telegram_api.base_url,
        NEWSWATCH_CHAT_IDS=str(GROUP),
        NEWSWATCH_ADMIN_IDS=str(OWNER),
        NEWSWATCH_FEEDS=str(write_feed_list(tmp_path, [feed_server.url("/ok.xml")])),
    )
    telegram_api.state.chat_admins[GROUP] = {GROUP_ADMIN}
    bot = RunningBot(env)

    def say(text: str, user: int) -> str:
        replies = ask(telegram_api, text, chat_id=GROUP, user_id=user, chat_type="supergroup")
        return "\n".join(m.text for m in replies)

    try:
        assert telegram_api.wait_for(lambda s: bool(s.commands), timeout=40), bot.output()
        for command in ("/mute JNIM 3650d", "/quiet 22:00-06:00", "/digest daily 08:00"):
            assert "Only this group's admins" in say(command, MEMBER), command
        assert "JNIM" not in say("/mutes", MEMBER)  # viewing is open to members
        reply = say("/mute JNIM 10d", GROUP_ADMIN)
        assert "Muted" in reply and f"changed by user{GROUP_ADMIN}" in reply, reply
        assert "needs the bot's owner" in say("/mute Bamako 3650d", GROUP_ADMIN)
        reply = say("/mute Bamako 3650d", OWNER)
        assert "Muted" in reply and f"(id {OWNER})" in reply, reply
        # The "Mute … 24h" buttons under an alert: the same rule
        alert = next(m for m in telegram_api.messages_to(GROUP) if "JNIM attack" in m.text)
        buttons = alert.params["reply_markup"]["inline_keyboard"]
        source_button = next(
            b for row in buttons for b in row if b["callback_data"].startswith("mute:s:")
        )
        before = len(telegram_api.state.callback_answers)
        for user in (MEMBER, GROUP_ADMIN):
            telegram_api.push_callback(
                source_button["callback_data"],
                chat_id=GROUP,
                user_id=user,
                message_id=alert.message_id,
                chat_type="supergroup",
            )
        assert telegram_api.wait_for(lambda s: len(s.callback_answers) >= before + 2, timeout=20), (
            bot.output()
        )
        answers = [a.get("text", "") for a in telegram_api.state.callback_answers[before:]]
        assert "Only this group's admins" in answers[0] and "Muted" in answers[1], answers
    finally:
        assert bot.stop() == 0, bot.output()
    db = sqlite3.connect(env["NEWSWATCH_DB"])
    audit = db.execute(
        "SELECT actor, detail FROM access_log WHERE action = 'chat setting' AND chat_id = ?"
        " ORDER BY id",
        [GROUP],
    ).fetchall()
    assert audit[:2] == [(GROUP_ADMIN, "/mute JNIM 10d"), (OWNER, "/mute Bamako 3650d")]
    assert audit[2][0] == GROUP_ADMIN and audit[2][1].startswith("mute button: source")
    assert len(audit) == 3
    mutes = {r[0] for r in db.execute("SELECT value FROM mutes WHERE chat_id = ?", [GROUP])}
    assert {"JNIM", "Bamako"} < mutes
