"""SIGTERM stops `main.py run` cleanly within 10 s (exit code 0), even in a stuck cycle."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.app.instance_lock import database_lock_path, is_held
from tests.conftest import telegram_env, write_feed_list
from tests.fakes.feed_server import FeedServer, rss
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.main_process import MainProcess

pytestmark = pytest.mark.slow  # SIGTERM to main.py run


def wait_until(predicate: Callable[[], object], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("stuck", [False, True], ids=["idle", "during-a-hanging-fetch"])
def test_sigterm_is_a_clean_shutdown_within_10s(
    stuck: bool,
    feed_server: FeedServer,
    telegram_api: FakeTelegramAPI,
    nw_env: dict[str, str],
    tmp_path: Path,
) -> None:
    feed_server.set("/ok.xml", rss([{"title": "Bamako", "guid": "1"}]))
    feed_server.set("/hang.xml", "", fault="hang")
    urls = [feed_server.url("/ok.xml")] + ([feed_server.url("/hang.xml")] if stuck else [])
    env = telegram_env(nw_env, telegram_api)
    env["NEWSWATCH_FEEDS"] = str(write_feed_list(tmp_path, urls))
    config = tmp_path / "newswatch.toml"
    config.write_text(
        "fetch_deadline = 120.0\nread_timeout = 120.0\nfetch_spread_seconds = 0.5\n",
        encoding="utf-8",
    )
    proc = MainProcess(env, "--config", str(config), "run")
    try:
        assert wait_until(lambda: len(feed_server.hits) >= len(urls)), "no cycle started"
        assert wait_until(lambda: telegram_api.calls_of("getUpdates")), "not polling Telegram"
        if not stuck:
            time.sleep(0.5)  # let the cycle finish: idle between cycles
    finally:
        code = proc.stop()  # SIGTERM, killed after 20 s
    output = proc.output()
    took = proc.stopped_in
    assert code == 0, output[-2000:]
    assert took is not None and took < 10.0, f"shutdown took {took}s"
    assert "stopped cleanly" in output
    if stuck:
        assert "cycle abandoned at shutdown" in output
    assert not is_held(database_lock_path(env["NEWSWATCH_DB"]))
    assert telegram_api.state.token not in output
    print(f"SIGTERM ({'stuck' if stuck else 'idle'}): exited 0 in {took:.2f}s")
