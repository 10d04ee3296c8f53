"""Admin notices over 4096 characters are split or summarised, never lost (issue 16, 5).

Before the fix a 600-problem watchlist edit (83,111 characters) got "Message is too long";
the notice was marked failed and the admin never learnt that the edit was refused.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from bot.core.formatting import utf16_len
from bot.core.notice_pages import notice_pages
from tests.conftest import ROOT, telegram_env, write_feed_list
from tests.fakes.feed_server import FeedServer
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.main_process import MainProcess

ADMIN = 5550009


@pytest.mark.parametrize(
    ("text", "pages", "summary"),
    [
        ("short", 1, False),
        ("\n".join(f"problem {i}: " + "x" * 60 for i in range(100)), 2, False),
        ("\n".join(f"problem {i}: " + "x" * 120 for i in range(600)), 3, True),
        ("y" * 60_000, 3, True),  # one huge line
        ("𝕏" * 5000, 3, False),  # astral characters count 2 units each
    ],
    ids=["short", "two-pages", "600-problems", "one-huge-line", "astral"],
)
def test_notice_pages(text: str, pages: int, summary: bool) -> None:
    out = notice_pages(text)
    assert len(out) == pages
    assert all(utf16_len(page) <= 4096 for page in out)
    assert ("main.py check" in out[-1]) == summary
    if pages > 1:
        assert out[0].startswith(f"(1/{pages})")
    if not summary:  # everything is there
        assert "".join(p.split("\n", 1)[-1] if pages > 1 else p for p in out).replace(
            "\n", ""
        ) == text.replace("\n", "")


@pytest.mark.slow
def test_a_600_problem_watchlist_edit_reaches_the_admin(
    feed_server: FeedServer, telegram_api: FakeTelegramAPI, nw_env: dict[str, str], tmp_path: Path
) -> None:
    watchlists = tmp_path / "watchlists"
    shutil.copytree(ROOT / "watchlists", watchlists)
    env = telegram_env(nw_env, telegram_api)
    env["NEWSWATCH_ADMIN_IDS"] = str(ADMIN)
    env["NEWSWATCH_WATCHLISTS"] = str(watchlists)
    env["NEWSWATCH_FEEDS"] = str(write_feed_list(tmp_path, [feed_server.url("/none.xml")]))
    config = tmp_path / "newswatch.toml"
    config.write_text("poll_interval_seconds = 10\n", encoding="utf-8")
    proc = MainProcess(env, "--config", str(config), "run")
    try:
        assert telegram_api.wait_for(lambda s: bool(s.commands), timeout=40), proc.output()
        bad = "".join(
            f'\n[[entities]]\nname = "Broken {i} with a rather long name to fill the notice"'
            f'\naliases = ["Broken {i}"]\nbogus_key_{i} = 1\n'
            for i in range(600)
        )
        time.sleep(1.1)  # a new modification time
        with (watchlists / "sahel.toml").open("a", encoding="utf-8") as handle:
            handle.write(bad)
        assert telegram_api.wait_for(
            lambda s: any("main.py check" in m.text for m in telegram_api.messages_to(ADMIN)),
            timeout=60,
        ), [m.text[:200] for m in telegram_api.messages_to(ADMIN)]
    finally:
        proc.stop()
    notices = [m.text for m in telegram_api.messages_to(ADMIN)]
    assert all(utf16_len(t) <= 4096 for t in notices)
    assert any("bogus_key_0" in t for t in notices)
    assert not [c for c in telegram_api.calls_of("sendMessage") if len(c[2]["text"]) > 4096]
