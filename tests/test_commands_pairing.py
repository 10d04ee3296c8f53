"""Pairing: with no admin configured, `run` prints a one-time code; /start CODE makes the owner."""

from __future__ import annotations

import os
import re
import sqlite3
import time
from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from tests.commands_seed import RunningBot, ask
from tests.conftest import TOKEN, write_feed_list
from tests.fakes.feed_server import FeedServer, rfc822, rss
from tests.fakes.telegram_api import FakeTelegramAPI

OWNER = 6001
INTRUDER = 6002
COLLEAGUE = 6003


def _feed(items: list[tuple[str, str]]) -> str:
    return rss(
        [
            {"title": t, "link": f"https://n.example.org/{g}", "guid": g,
             "description": "Sahel news.", "pubDate": rfc822(time.time() - 300)}
            for g, t in items
        ],
        title="Sahel Wire",
    )  # fmt: skip


@pytest.fixture(scope="module")
def paired(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    tmp = tmp_path_factory.mktemp("pairing")
    with FakeTelegramAPI(TOKEN) as api, FeedServer() as server:
        server.set("/wire.xml", _feed([("s1", "Floods in Somalia")]))
        config = tmp / "newswatch.toml"
        config.write_text("poll_interval_seconds = 10\nmin_interval_seconds = 10\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSWATCH_", "TELEGRAM_"))}
        env.update(
            NEWSWATCH_DB=str(tmp / "newswatch.db"),
            NEWSWATCH_CONFIG=str(config),
            NEWSWATCH_FEEDS=str(write_feed_list(tmp, [server.url("/wire.xml")])),
            TELEGRAM_BOT_TOKEN=api.state.token,
            TELEGRAM_API_URL=api.base_url,
            PYTHONUNBUFFERED="1",
        )
        proc = RunningBot(env)
        try:
            line = proc.wait_output("PAIRING", timeout=40)
            assert line, proc.output()
            match = re.search(r"/start ([A-Z0-9]{8})", line)
            assert match, line
            yield SimpleNamespace(
                api=api, proc=proc, server=server, code=match.group(1),
                db=sqlite3.connect(tmp / "newswatch.db"),
            )  # fmt: skip
        finally:
            code = proc.stop()
        assert code == 0, proc.output()


def test_pairing_flow(paired):
    api, code = paired.api, paired.code
    assert "newswatch_bot" in paired.proc.wait_output("PAIRING")
    # Before pairing, nobody may use the bot.
    refused = ask(api, "/recent", chat_id=OWNER, user_id=OWNER)
    assert str(OWNER) in refused[0].text and "private" in refused[0].text
    # A wrong code is refused with the same refusal, and does not burn the right one.
    wrong = "ABCDEFGH" if code != "ABCDEFGH" else "HGFEDCBA"
    assert str(INTRUDER) in ask(api, f"/start {wrong}", chat_id=INTRUDER, user_id=INTRUDER)[0].text
    # The right code makes the owner and subscribes the owner's chat.
    reply = ask(api, f"/start {code.lower()}", chat_id=OWNER, user_id=OWNER)[0].text
    assert "Paired" in reply and "owner" in reply
    assert paired.db.execute("SELECT user_id, role FROM users").fetchall() == [(OWNER, "owner")]
    assert paired.db.execute("SELECT chat_id FROM subscriptions").fetchall() == [(OWNER,)]
    actions = [r[0] for r in paired.db.execute("SELECT action FROM access_log ORDER BY id")]
    assert actions == ["paired", "subscribed"]
    # The code works once only.
    again = ask(api, f"/start {code}", chat_id=INTRUDER, user_id=INTRUDER)[0].text
    assert str(INTRUDER) in again and "Paired" not in again
    assert paired.db.execute("SELECT count(*) FROM users WHERE role = 'owner'").fetchone()[0] == 1
    # The owner commands the bot and lets a colleague in.
    assert "Watching" in ask(api, "/help", chat_id=OWNER, user_id=OWNER)[0].text
    assert "may now use" in ask(api, f"/allow {COLLEAGUE}", chat_id=OWNER, user_id=OWNER)[0].text
    assert "Watching" in ask(api, "/start", chat_id=COLLEAGUE, user_id=COLLEAGUE)[0].text
    assert "pairing" in paired.proc.output().lower()  # every change is logged


def test_the_owners_chat_receives_alerts(paired):
    if not paired.db.execute("SELECT 1 FROM subscriptions").fetchone():
        pytest.skip("needs the pairing test first")
    paired.server.set(
        "/wire.xml",
        _feed([("s1", "Floods in Somalia"), ("m1", "JNIM fighters attack a convoy near Kidal")]),
    )
    assert paired.api.wait_for(
        lambda s: any("Kidal" in m.text and m.chat_id == OWNER for m in s.messages), timeout=45
    ), paired.proc.output()
