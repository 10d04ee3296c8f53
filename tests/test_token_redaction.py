"""The bot token never appears in anything newswatch prints, whatever goes wrong."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from bot.app.logging_setup import redact
from tests.conftest import CHAT, run_main, telegram_env, write_feed_list
from tests.fakes.feed_server import FeedServer, rfc822, rss
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.main_process import MainProcess

pytestmark = pytest.mark.slow  # main.py poll and run against a failing Bot API

NOW = time.time()
FEED = rss(
    [
        {
            "title": f"Mali: JNIM attack number {i} near Bamako, {word}",
            "link": f"https://news.example.org/jnim-{i}",
            "guid": f"jnim-{i}",
            "description": f"Story {i}: {word}.",
            "pubDate": rfc822(NOW - 600),
        }
        for i, word in enumerate(["convoy ambushed", "curfew declared", "gold mine seized"])
    ]
)


def assert_no_token(token: str, *outputs: str) -> None:
    text = "\n".join(outputs)
    secret = token.split(":", 1)[1]
    assert token not in text, "the bot token leaked into the output"
    assert secret not in text, "the secret half of the token leaked into the output"


def feeds_with_faults(feed_server: FeedServer, tmp_path: Path) -> Path:
    feed_server.set("/ok.xml", FEED)
    feed_server.set("/broken.xml", "", status=500)
    feed_server.set("/html.xml", FEED, fault="html")
    return write_feed_list(
        tmp_path,
        [feed_server.url(p) for p in ("/ok.xml", "/broken.xml", "/html.xml")]
        + ["http://127.0.0.1:9/refused.xml"],
    )


@pytest.mark.parametrize("verbose", [False, True], ids=["info", "debug"])
def test_poll_with_bot_api_faults_never_prints_the_token(
    verbose: bool,
    feed_server: FeedServer,
    telegram_api: FakeTelegramAPI,
    nw_env: dict[str, str],
    tmp_path: Path,
) -> None:
    env = telegram_env(nw_env, telegram_api)
    env["NEWSWATCH_FEEDS"] = str(feeds_with_faults(feed_server, tmp_path))
    # A dropped connection (network error), a 500 and a 429 on the way to delivering.
    telegram_api.inject("sendMessage", "drop", count=1)
    telegram_api.inject("sendMessage", "500", count=1)
    telegram_api.inject("sendMessage", "429", count=1, retry_after=1)
    args = (["-v"] if verbose else []) + ["poll", "--once"]
    result = run_main(args, env, timeout=120)
    assert result.returncode == 0, redact(result.stderr)
    assert len(telegram_api.messages_to(CHAT)) >= 1, "the faults were recovered from"
    assert "HTTP 500" in result.stderr and "HTML page" in result.stderr
    assert_no_token(telegram_api.state.token, result.stdout, result.stderr)


def test_unreachable_bot_api_crash_output_has_no_token(
    feed_server: FeedServer, nw_env: dict[str, str], tmp_path: Path
) -> None:
    with socket.socket() as sock:  # a port with nobody listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    token = "987654321:AAF-another-secret-token-abcdefghijklmnop"
    env = dict(nw_env)
    env["TELEGRAM_BOT_TOKEN"] = token
    env["TELEGRAM_API_URL"] = f"http://127.0.0.1:{port}/bot"
    env["NEWSWATCH_CHAT_IDS"] = str(CHAT)
    env["NEWSWATCH_FEEDS"] = str(feeds_with_faults(feed_server, tmp_path))
    for args in (["poll", "--once"], ["-v", "poll", "--once"]):
        result = run_main(args, env, timeout=120)
        assert result.returncode != 0
        assert "Traceback" in result.stderr or "error" in result.stderr.lower()
        assert_no_token(token, result.stdout, result.stderr)


def test_run_with_bot_api_dropping_connections_never_prints_the_token(
    feed_server: FeedServer, telegram_api: FakeTelegramAPI, nw_env: dict[str, str], tmp_path: Path
) -> None:
    env = telegram_env(nw_env, telegram_api)
    env["NEWSWATCH_FEEDS"] = str(feeds_with_faults(feed_server, tmp_path))
    telegram_api.inject("getUpdates", "drop", count=2)
    telegram_api.inject("getUpdates", "502", count=1)
    telegram_api.inject("sendMessage", "drop", count=2)
    config = tmp_path / "newswatch.toml"
    config.write_text("fetch_spread_seconds = 0.2\n", encoding="utf-8")
    proc = MainProcess(env, "-v", "--config", str(config), "run")  # stdout and stderr
    try:
        assert telegram_api.wait_for(lambda s: len(s.messages) >= 1, timeout=30)
        telegram_api.push_message("/health", chat_id=CHAT, user_id=CHAT)
        assert telegram_api.wait_for(
            lambda s: any("newswatch status" in m.text for m in s.messages), timeout=20
        )
    finally:
        code = proc.stop()
    assert code == 0, redact(proc.output())[-2000:]
    assert_no_token(telegram_api.state.token, proc.output())
