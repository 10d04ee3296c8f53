"""A database deleted (or replaced) under `run` stops the bot with a clear error (issue 16, 11).

Before the fix writes went on into the unlinked file, and after a restart the last 24 h of
alerts were sent again from a fresh database.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from bot.core.errors import DatabaseGone
from storage.identity import EXIT_DATABASE_GONE, identity_of, verify
from tests.conftest import telegram_env, write_feed_list
from tests.fakes.feed_server import FeedServer, rss
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.main_process import MainProcess


def test_verify(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    path.write_bytes(b"x")
    identity = identity_of(path)
    verify(identity)
    replacement = tmp_path / "b.db"
    replacement.write_bytes(b"y")
    os.replace(replacement, path)
    with pytest.raises(DatabaseGone, match="another file is there"):
        verify(identity)
    path.unlink()
    with pytest.raises(DatabaseGone, match="nothing is there"):
        verify(identity)
    verify(identity_of(":memory:"))


@pytest.mark.slow
def test_run_stops_when_its_database_is_deleted(
    feed_server: FeedServer, telegram_api: FakeTelegramAPI, nw_env: dict[str, str], tmp_path: Path
) -> None:
    feed_server.set("/ok.xml", rss([]))
    env = telegram_env(nw_env, telegram_api)
    env["NEWSWATCH_ADMIN_IDS"] = "5550003"
    env["NEWSWATCH_FEEDS"] = str(write_feed_list(tmp_path, [feed_server.url("/ok.xml")]))
    config = tmp_path / "newswatch.toml"
    config.write_text("poll_interval_seconds = 10\n", encoding="utf-8")
    proc = MainProcess(env, "--config", str(config), "run")
    try:
        deadline = time.monotonic() + 40
        while not feed_server.hits and time.monotonic() < deadline:
            time.sleep(0.1)
        assert feed_server.hits, "no cycle"
        db = Path(env["NEWSWATCH_DB"])
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        code = proc.wait(timeout=60)  # the next cycle (within 10 s) notices
    finally:
        proc.stop()  # only if it is still running
    output = proc.output()
    assert code == EXIT_DATABASE_GONE, output[-3000:]
    assert "was deleted or replaced while newswatch was running" in output
    assert any("newswatch stopped" in m.text for m in telegram_api.messages_to(5550003))
    assert not Path(env["NEWSWATCH_DB"]).exists()  # not silently recreated
