"""The event loop of `run` and `poll --once`: uvloop when installed, asyncio otherwise, and a
config that asks for what is not there is refused before anything starts."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.app import config as config_module
from bot.app import event_loop
from bot.app.config import load_config
from bot.app.event_loop import EventLoopChoice, loop_factory, uvloop_installed
from tests.conftest import CHAT, ROOT, require_slow, telegram_env, write_feed_list
from tests.fakes.feed_server import FeedServer, rfc822, rss
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.news_samples import JNIM_BAMAKO

needs_uvloop = pytest.mark.skipif(not uvloop_installed(), reason="uvloop is not installed")


async def _loop_module() -> str:
    return type(asyncio.get_running_loop()).__module__


@needs_uvloop
def test_auto_runs_on_uvloop_when_it_is_installed() -> None:
    assert event_loop.run(_loop_module(), EventLoopChoice.AUTO).startswith("uvloop")
    assert event_loop.run(_loop_module(), EventLoopChoice.UVLOOP).startswith("uvloop")


def test_auto_falls_back_to_asyncio_when_uvloop_cannot_be_imported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # import uvloop raises ImportError
    assert loop_factory(EventLoopChoice.AUTO) is None
    assert event_loop.run(_loop_module(), EventLoopChoice.AUTO).startswith("asyncio")
    with pytest.raises(ImportError):  # asked for explicitly: no silent fallback
        loop_factory(EventLoopChoice.UVLOOP)


def test_asyncio_choice_runs_on_asyncio_even_with_uvloop_installed() -> None:
    assert loop_factory(EventLoopChoice.ASYNCIO) is None
    assert event_loop.run(_loop_module(), EventLoopChoice.ASYNCIO).startswith("asyncio")


@pytest.mark.parametrize(
    ("value", "installed", "problem"),
    [
        ("auto", False, None),
        ("asyncio", True, None),
        ("uvloop", True, None),
        ("uvloop", False, "uvloop is not installed"),
        ("tokio", True, 'must be one of "auto", "asyncio", "uvloop"'),
    ],
)
def test_event_loop_setting(
    monkeypatch: pytest.MonkeyPatch, value: str, installed: bool, problem: str | None
) -> None:
    monkeypatch.setattr(config_module, "uvloop_installed", lambda: installed)
    config, problems = load_config(environ={"NEWSWATCH_EVENT_LOOP": value})
    found = [str(p) for p in problems if "NEWSWATCH_EVENT_LOOP" in str(p)]
    if problem is None:
        assert found == [] and config.event_loop == value
    else:
        assert len(found) == 1 and problem in found[0], found
        assert found[0].startswith("NEWSWATCH_EVENT_LOOP (environment)")


_WITHOUT_UVLOOP = (
    "import runpy, sys; sys.modules['uvloop'] = None; sys.argv[0] = 'main.py';"
    " runpy.run_path('main.py', run_name='__main__')"
)


def _poll(env: dict[str, str], *, block_uvloop: bool) -> subprocess.CompletedProcess[str]:
    require_slow("main.py poll --once")
    start = [sys.executable, "-c", _WITHOUT_UVLOOP] if block_uvloop else [sys.executable, "main.py"]
    return subprocess.run(
        [*start, "poll", "--once"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )


@pytest.mark.slow
def test_poll_once_alerts_the_same_with_or_without_uvloop(
    feed_server: FeedServer,
    telegram_api: FakeTelegramAPI,
    nw_env: dict[str, str],
    tmp_path: Path,
) -> None:
    """The bot runs where uvloop is missing; where it is present, on it (python-telegram-bot
    and httpx included)."""
    feed_server.set("/a.xml", rss([{**JNIM_BAMAKO, "pubDate": rfc822(time.time() - 3600)}]))
    env = telegram_env(nw_env, telegram_api)
    env["NEWSWATCH_FEEDS"] = str(write_feed_list(tmp_path, [feed_server.url("/a.xml")]))

    required = _poll({**env, "NEWSWATCH_EVENT_LOOP": "uvloop"}, block_uvloop=True)
    assert required.returncode == 2, required.stderr  # refused: nothing fetched, nothing sent
    assert "NEWSWATCH_EVENT_LOOP (environment): uvloop is not installed" in required.stderr
    assert feed_server.hits_for("/a.xml") == []

    without = _poll(env, block_uvloop=True)
    assert without.returncode == 0, without.stderr
    texts = [m.text for m in telegram_api.messages_to(CHAT)]
    assert len(texts) == 1 and "JNIM" in texts[0], texts

    again = _poll(env, block_uvloop=False)  # uvloop, where installed
    assert again.returncode == 0, again.stderr
    assert [h.status for h in feed_server.hits_for("/a.xml")] == [200, 304]
    assert len(telegram_api.messages_to(CHAT)) == 1  # nothing sent twice
