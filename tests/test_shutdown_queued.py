"""SIGTERM with 60 queued group commands: out within 10 s; the next start answers them.

Issue 16, point 8: python-telegram-bot answered every queued command before stopping:
paced at 20 messages a minute in a group, 60 of them took 147 s (systemd's TimeoutStopSec
is 20). Telegram does not send them again (getUpdates confirmed them when they were
fetched), so the bot keeps them in the database for its next start.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import pytest

from tests.conftest import ROOT, telegram_env, write_feed_list
from tests.fakes.feed_server import FeedServer, rss
from tests.fakes.telegram_api import FakeTelegramAPI

pytestmark = pytest.mark.slow  # SIGTERM to main.py run

GROUP = -1005550077
ADMIN = 5550078


def _start(env: dict[str, str], log_path: Path) -> tuple[subprocess.Popen[bytes], IO[str]]:
    log_file = log_path.open("a")
    return subprocess.Popen(
        [sys.executable, str(ROOT / "main.py"), "run"],
        env=env,
        cwd=ROOT,
        stdout=log_file,
        stderr=subprocess.STDOUT,
    ), log_file


def _stop(proc: subprocess.Popen[bytes]) -> tuple[int, float]:
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return code, time.monotonic() - started


def test_sigterm_with_60_queued_group_commands(
    feed_server: FeedServer, telegram_api: FakeTelegramAPI, nw_env: dict[str, str], tmp_path: Path
) -> None:
    feed_server.set("/ok.xml", rss([]))
    env = telegram_env(nw_env, telegram_api, chats=str(GROUP))
    env["NEWSWATCH_ADMIN_IDS"] = str(ADMIN)
    env["NEWSWATCH_FEEDS"] = str(write_feed_list(tmp_path, [feed_server.url("/ok.xml")]))
    log_path = tmp_path / "run.log"
    proc, log_file = _start(env, log_path)
    try:
        assert telegram_api.wait_for(lambda s: bool(s.commands), timeout=40)
        for _ in range(60):
            telegram_api.push_message("/help", chat_id=GROUP, user_id=ADMIN, chat_type="supergroup")
        assert telegram_api.wait_for(lambda s: len(s.messages) >= 2, timeout=30)
        code, took = _stop(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
        log_file.close()
    output = log_path.read_text()
    assert code == 0, output[-3000:]
    assert took < 10.0, f"shutdown took {took:.1f}s"
    answered = len(telegram_api.messages_to(GROUP))
    db = sqlite3.connect(env["NEWSWATCH_DB"])
    kept = db.execute("SELECT count(*) FROM deferred_updates").fetchone()[0]
    db.close()
    assert kept >= 60 - answered - 1 and kept > 0, (answered, kept)
    assert "queued command(s) not answered: kept for the next start" in output

    proc, log_file = _start(env, log_path)  # the next start answers them, in order
    try:
        assert telegram_api.wait_for(
            lambda s: len(telegram_api.messages_to(GROUP)) >= answered + 2, timeout=40
        ), log_path.read_text()[-3000:]
        code, took = _stop(proc)  # again within 10 s, what is left kept again
    finally:
        if proc.poll() is None:
            proc.kill()
        log_file.close()
    assert code == 0 and took < 10.0
    assert "answering" in log_path.read_text()
