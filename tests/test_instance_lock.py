"""A second poller on the same database or bot token is refused with a clear message."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.app.instance_lock import (
    InstanceLock,
    database_lock_path,
    instance_locks,
    is_held,
    read_holder,
    token_lock_path,
)
from bot.core.errors import AlreadyRunning
from tests.bot_process import RunningBot
from tests.conftest import run_main, telegram_env, write_feed_list
from tests.fakes.feed_server import FeedServer, rss
from tests.fakes.telegram_api import FakeTelegramAPI

pytestmark = pytest.mark.slow  # two main.py processes


def wait_until(predicate: Callable[[], object], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_lock_is_exclusive_and_names_its_holder(tmp_path: Path) -> None:
    path = tmp_path / "x.db.lock"
    first = InstanceLock(path, "database x.db")
    first.acquire("run")
    try:
        assert is_held(path)
        holder = read_holder(path)
        assert holder is not None and holder["pid"] == os.getpid() and holder["command"] == "run"
        with pytest.raises(AlreadyRunning) as refused:
            InstanceLock(path, "database x.db").acquire("poll --once")
        message = str(refused.value)
        assert f"pid {os.getpid()}" in message and "`run`" in message
        assert "database x.db" in message and str(path) in message
    finally:
        first.release()
    assert not is_held(path)
    again = InstanceLock(path, "database x.db")
    again.acquire("run")
    again.release()


def test_token_lock_is_per_token_and_server_and_hides_the_token(tmp_path: Path) -> None:
    token = "123456789:AAH-secret-token-abcdefghijklmnopqrstuvw"
    a = token_lock_path(token, "https://bot-api.example/bot", tmp_path)
    assert a == token_lock_path(token, "https://bot-api.example/bot/", tmp_path)
    assert a != token_lock_path(token, "http://127.0.0.1:9999/bot", tmp_path)
    assert a != token_lock_path(token + "x", "https://bot-api.example/bot", tmp_path)
    assert "secret" not in str(a) and "123456789" not in str(a)
    with instance_locks(tmp_path / "one.db", token, "run", api_url="u", lock_dir=tmp_path):
        with (
            pytest.raises(AlreadyRunning, match="bot token"),
            instance_locks(tmp_path / "other.db", token, "run", api_url="u", lock_dir=tmp_path),
        ):
            pass
        # the database lock was released again when the token lock failed
        assert not is_held(database_lock_path(tmp_path / "other.db"))


def test_second_instance_is_refused_and_a_killed_holder_frees_the_lock(
    feed_server: FeedServer, nw_env: dict[str, str], tmp_path: Path
) -> None:
    feed_server.set("/rss.xml", rss([{"title": "Bamako", "guid": "1"}]))
    nw_env["NEWSWATCH_FEEDS"] = str(write_feed_list(tmp_path, [feed_server.url("/rss.xml")]))
    lock = database_lock_path(nw_env["NEWSWATCH_DB"])
    runner = RunningBot(nw_env)
    pid = runner.proc.pid
    try:
        assert wait_until(lambda: is_held(lock)), "run never took the lock"
        second = run_main(["poll", "--once"], nw_env, timeout=60)
        assert second.returncode == 3, second.stderr
        assert "refusing to start" in second.stderr
        assert f"pid {pid}" in second.stderr and "`run`" in second.stderr
        third = run_main(["run"], nw_env, timeout=60)
        assert third.returncode == 3 and "refusing to start" in third.stderr
        status = run_main(["status"], nw_env, timeout=60)
        assert status.returncode == 0, status.stderr
        assert f"service: running (pid {pid}, run" in status.stdout
    finally:
        runner.proc.send_signal(signal.SIGKILL)  # no clean shutdown: the lock file stays
        runner.stop()
    # The kernel dropped the lock with the process: no stale lock blocks a restart.
    assert not is_held(lock)
    after = run_main(["poll", "--once"], nw_env, timeout=60)
    assert after.returncode == 0, after.stderr
    status = run_main(["status"], nw_env, timeout=60)
    assert "service: not running" in status.stdout


def test_same_token_on_two_databases_is_refused(
    telegram_api: FakeTelegramAPI, nw_env: dict[str, str], tmp_path: Path, feed_server: FeedServer
) -> None:
    feed_server.set("/rss.xml", rss([{"title": "Bamako", "guid": "1"}]))
    env = telegram_env(nw_env, telegram_api)
    env["NEWSWATCH_FEEDS"] = str(write_feed_list(tmp_path, [feed_server.url("/rss.xml")]))
    runner = RunningBot(env)
    try:
        lock = token_lock_path(telegram_api.state.token, telegram_api.base_url)
        assert wait_until(lambda: is_held(lock)), "run never took the token lock"
        other = dict(env, NEWSWATCH_DB=str(tmp_path / "elsewhere.db"))
        second = run_main(["poll", "--once"], other, timeout=60)
        assert second.returncode == 3, second.stderr
        assert "bot token" in second.stderr
        assert telegram_api.state.token not in second.stderr + second.stdout
    finally:
        runner.stop()
