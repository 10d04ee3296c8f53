"""The small faults of issue 16, point 13, each reproduced against the real process."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_main, telegram_env, write_feed_list
from tests.fakes.feed_server import FeedServer, rss
from tests.fakes.telegram_api import FakeTelegramAPI


@pytest.mark.slow
def test_a_fifo_named_toml_in_the_watchlist_folder_is_skipped(
    feed_server: FeedServer, telegram_api: FakeTelegramAPI, nw_env: dict[str, str], tmp_path: Path
) -> None:
    """Opening it blocked the event loop until someone wrote to it."""
    folder = tmp_path / "watchlists"
    shutil.copytree(ROOT / "watchlists", folder)
    os.mkfifo(folder / "evil.toml")
    feed_server.set("/ok.xml", rss([]))
    env = telegram_env(nw_env, telegram_api)
    env["NEWSWATCH_WATCHLISTS"] = str(folder)
    env["NEWSWATCH_FEEDS"] = str(write_feed_list(tmp_path, [feed_server.url("/ok.xml")]))
    check = run_main(["check"], env, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    poll = run_main(["poll", "--once"], env, timeout=60)
    assert poll.returncode == 0, poll.stderr[-2000:]
    assert "evil.toml is not a regular file; skipped" in poll.stderr


@pytest.mark.slow
def test_a_short_token_the_config_accepts_is_redacted_in_the_crash_trace(
    feed_server: FeedServer, telegram_api: FakeTelegramAPI, nw_env: dict[str, str], tmp_path: Path
) -> None:
    """`1234:` + 23 characters passes the config check but not the log's token pattern;
    the fake rejects it (401), and PTB's InvalidToken names it in the crash trace."""
    token = "1234:abcdefghijklmnopqrstuvw"
    feed_server.set("/ok.xml", rss([]))
    env = telegram_env(nw_env, telegram_api)
    env["TELEGRAM_BOT_TOKEN"] = token
    env["NEWSWATCH_FEEDS"] = str(write_feed_list(tmp_path, [feed_server.url("/ok.xml")]))
    for command in (["run"], ["poll", "--once"]):
        out = run_main(command, env, timeout=60)
        assert out.returncode != 0
        text = out.stdout + out.stderr
        assert "<redacted-token>" in text, text[-2000:]
        assert token not in text and token.split(":")[1] not in text, text[-2000:]


@pytest.mark.slow
def test_a_one_letter_alias_is_warned_unless_short_ok(
    nw_env: dict[str, str], tmp_path: Path
) -> None:
    folder = tmp_path / "watchlists"
    folder.mkdir()
    (folder / "short.toml").write_text(
        '[[entities]]\nname = "Letter"\naliases = ["a"]\n\n'
        '[[entities]]\nname = "G5 Sahel"\n'
        'aliases = [{ text = "G5", short_ok = true }, "G5 Sahel"]\n',
        encoding="utf-8",
    )
    env = dict(nw_env, NEWSWATCH_WATCHLISTS=str(folder))
    out = run_main(["check"], env)
    assert out.returncode == 0, out.stdout + out.stderr  # a warning, not a problem
    assert "short.toml:3: warning: entity 'Letter': alias 'a' is shorter than 3" in out.stdout
    assert "G5'" not in out.stdout and "short_ok = true" in out.stdout


@pytest.mark.slow
def test_repeated_guids_are_logged_once_per_feed(
    feed_server: FeedServer, nw_env: dict[str, str], tmp_path: Path
) -> None:
    """Items repeating a GUID with other content were dropped without a word."""
    import time

    from tests.fakes.feed_server import rfc822

    now = rfc822(time.time() - 60)
    feed_server.set(
        "/dup.xml",
        rss(
            [
                {"title": "JNIM attack near Gao", "guid": "g1", "pubDate": now},
                {"title": "Bamako summit opens", "guid": "g1", "pubDate": now},
                {"title": "Kidal drone strike", "guid": "g2", "pubDate": now},
                {"title": "Mali junta decree", "guid": "g2", "pubDate": now},
            ]
        ),
    )
    env = dict(nw_env)
    env["NEWSWATCH_FEEDS"] = str(write_feed_list(tmp_path, [feed_server.url("/dup.xml")]))
    out = run_main(["poll", "--once"], env, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stderr.count("items repeat a GUID with other content") == 1, out.stderr[-2000:]
    assert "'g1'" in out.stderr


def test_rotating_guids_and_links_give_one_alert_row_per_story_and_outlet(tmp_path: Path) -> None:
    """A feed that gives its article a new GUID and link on every fetch added one alert row
    per fetch (each a new item key, grouped into the same story)."""
    import asyncio
    import time

    from tests.fakes.feed_server import FeedServer, rfc822
    from tests.harness import make_pipeline

    with FeedServer() as server:
        pipeline, repo, fetcher, _ = make_pipeline(
            tmp_path / "nw.db", [server.url("/rotating.xml")], chat_ids=(1,)
        )

        async def cycles() -> None:
            try:
                for n in range(4):
                    item = {
                        "title": "JNIM fighters attack army positions near Bamako",
                        "description": "Militants struck a checkpoint on the outskirts of Bamako.",
                        "guid": f"rotating-{n}-{time.time_ns()}",
                        "link": f"https://news.example.org/a?session={n}",
                        "pubDate": rfc822(time.time() - 120),
                    }
                    server.set("/rotating.xml", rss([item], title="Rotating Wire"))
                    await pipeline.run_cycle(force=True)
            finally:
                await fetcher.aclose()

        asyncio.run(cycles())
    items = repo.db.execute("SELECT count(*) FROM items").fetchone()[0]
    alerts = repo.db.execute("SELECT count(*) FROM alerts").fetchone()[0]
    assert items == 4  # every key is remembered
    assert alerts == 1
