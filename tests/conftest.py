"""Shared fixtures: local feed server, fake Bot API, and an environment for running main.py."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest

from tests.fakes.feed_server import FeedServer
from tests.fakes.telegram_api import FakeTelegramAPI

ROOT = Path(__file__).resolve().parent.parent
SHARED_FEEDS = ROOT.parent / "shared" / "feeds"
TOKEN = "123456789:AAH-test-token-abcdefghijklmnopqrstuvw"
CHAT = 5550001


_RUNNING: list[pytest.Item] = []


def pytest_configure(config: pytest.Config) -> None:
    """Hypothesis without timing checks: how fast a case runs is not what the tests assert.

    On a loaded 2-core machine the "too slow" health check and the per-example deadline
    failed tests whose behaviour was right (a FailedHealthCheck in test_stories under
    load). Timed assertions belong in bench/. Tests that pass their own
    ``suppress_health_check`` list add ``too_slow`` to it.
    """
    from hypothesis import HealthCheck, settings

    settings.register_profile(
        "newswatch", deadline=None, suppress_health_check=[HealthCheck.too_slow]
    )
    settings.load_profile("newswatch")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(
    item: pytest.Item, nextitem: pytest.Item | None
) -> Generator[None, object, object]:
    _RUNNING.append(item)
    try:
        return (yield)
    finally:
        _RUNNING.pop()


def require_slow(what: str) -> None:
    """A test that starts main.py must carry the ``slow`` marker, so that ``pytest -m "not
    slow"`` stays a quick run (README, "Running the tests")."""
    if _RUNNING and _RUNNING[-1].get_closest_marker("slow") is None:
        raise AssertionError(
            f"{_RUNNING[-1].nodeid} starts {what}: mark it @pytest.mark.slow"
            " (or the module: pytestmark = pytest.mark.slow)"
        )


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    with FeedServer() as server:
        yield server


@pytest.fixture
def telegram_api() -> Iterator[FakeTelegramAPI]:
    with FakeTelegramAPI(TOKEN) as api:
        yield api


def main_env(db: Path | None = None, **settings: str) -> dict[str, str]:
    """An environment for main.py: this one without any NEWSWATCH_ or TELEGRAM_ variable (no
    real Telegram, the repo's watchlists), unbuffered output, the database ``db``, and
    ``settings`` (``NEWSWATCH_FEEDS=…``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSWATCH_", "TELEGRAM_"))}
    env["PYTHONUNBUFFERED"] = "1"
    if db is not None:
        env["NEWSWATCH_DB"] = str(db)
    env.update(settings)
    return env


@pytest.fixture
def nw_env(tmp_path: Path) -> dict[str, str]:
    """A clean environment for main.py (main_env) with a database in tmp_path."""
    return main_env(tmp_path / "newswatch.db")


def telegram_env(
    env: dict[str, str], api: FakeTelegramAPI, chats: str = str(CHAT)
) -> dict[str, str]:
    env = dict(env)
    env["TELEGRAM_BOT_TOKEN"] = api.state.token
    env["TELEGRAM_API_URL"] = api.base_url
    env["NEWSWATCH_CHAT_IDS"] = chats
    return env


def run_main(
    args: list[str], env: dict[str, str], timeout: float = 120, stdin: bytes | None = None
) -> subprocess.CompletedProcess[str]:
    require_slow(f"main.py {' '.join(args)}")
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        input=stdin.decode() if stdin is not None else None,
    )


def write_feed_list(tmp_path: Path, urls: list[str]) -> Path:
    path = tmp_path / "feeds.txt"
    path.write_text("\n".join(urls) + "\n", encoding="utf-8")
    return path


def corpus_files() -> list[Path]:
    """Every capture in ../shared/feeds (empty when the corpus is absent)."""
    if not SHARED_FEEDS.is_dir():
        return []
    skip = {"MANIFEST.json", "SOURCES.md", "LICENSE", "LICENSE-MIT"}
    return sorted(p for p in SHARED_FEEDS.rglob("*") if p.is_file() and p.name not in skip)
