"""`main.py run` against the fake Bot API: start it, talk to it, and start it unpaired."""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import TOKEN, main_env, write_feed_list
from tests.fakes.feed_server import FeedServer, rfc822, rss
from tests.fakes.telegram_api import FakeTelegramAPI, SentMessage
from tests.main_process import MainProcess


class RunningBot(MainProcess):
    """``main.py run`` as a subprocess, its output collected line by line."""

    def __init__(self, env: dict[str, str]) -> None:
        super().__init__(env, "run")


def ask(
    api: FakeTelegramAPI,
    text: str,
    *,
    chat_id: int,
    user_id: int,
    chat_type: str = "private",
    settle: float = 1.3,  # replies to one chat are paced 1 s apart
    timeout: float = 15.0,
) -> list[SentMessage]:
    """Send ``text`` to the bot and return the messages it sent to ``chat_id`` in reply."""
    before = len(api.messages_to(chat_id))
    api.push_message(text, chat_id=chat_id, user_id=user_id, chat_type=chat_type)
    arrived = api.wait_for(
        lambda s: sum(1 for m in s.messages if str(m.chat_id) == str(chat_id)) > before,
        timeout=timeout,
    )
    assert arrived, f"no reply to {text!r}"
    count = len(api.messages_to(chat_id))
    while True:  # more pages may follow
        time.sleep(settle)
        now_count = len(api.messages_to(chat_id))
        if now_count == count:
            break
        count = now_count
    return api.messages_to(chat_id)[before:]


def wire_feed(items: list[tuple[str, str]]) -> str:
    """The "Sahel Wire" RSS feed of (guid, title) items, published five minutes ago."""
    return rss(
        [
            {"title": t, "link": f"https://n.example.org/{g}", "guid": g,
             "description": "Sahel news.", "pubDate": rfc822(time.time() - 300)}
            for g, t in items
        ],
        title="Sahel Wire",
    )  # fmt: skip


@dataclass
class UnpairedBot:
    """A running bot with a token and no admin: the pairing code it printed, and its parts."""

    api: FakeTelegramAPI
    proc: RunningBot
    server: FeedServer  # serves /wire.xml, the bot's only feed
    code: str
    db: sqlite3.Connection  # the bot's database, read in autocommit mode
    watchlists: Path | None


@contextmanager
def unpaired_bot(
    tmp: Path,
    feed: str,
    *,
    watchlist: str | None = None,
    usernames: dict[str, int] | None = None,
) -> Iterator[UnpairedBot]:
    """``main.py run`` with a token, no admin and no alert chat, polling ``feed`` every 10 s
    (with ``watchlist`` as the only watchlist file, else the shipped ones); yields once it
    printed its pairing code, stops it after and checks it exited 0."""
    with FakeTelegramAPI(TOKEN) as api, FeedServer() as server:
        api.state.usernames.update(usernames or {})
        server.set("/wire.xml", feed)
        config = tmp / "newswatch.toml"
        config.write_text("poll_interval_seconds = 10\nmin_interval_seconds = 10\n")
        env = main_env(
            tmp / "newswatch.db",
            NEWSWATCH_CONFIG=str(config),
            NEWSWATCH_FEEDS=str(write_feed_list(tmp, [server.url("/wire.xml")])),
            TELEGRAM_BOT_TOKEN=api.state.token,
            TELEGRAM_API_URL=api.base_url,
        )
        folder = None
        if watchlist is not None:
            folder = tmp / "watchlists"
            folder.mkdir()
            (folder / "desk.toml").write_text(watchlist)
            env["NEWSWATCH_WATCHLISTS"] = str(folder)
        proc = RunningBot(env)
        try:
            line = proc.wait_output("PAIRING", timeout=40)
            assert line, proc.output()
            match = re.search(r"/start ([A-Z0-9]{8})", line)
            assert match, line
            db = sqlite3.connect(tmp / "newswatch.db", isolation_level=None)
            try:
                yield UnpairedBot(api, proc, server, match.group(1), db, folder)
            finally:
                db.close()
        finally:
            code = proc.stop()
        assert code == 0, proc.output()
