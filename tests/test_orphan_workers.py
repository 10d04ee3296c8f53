"""No orphan parse workers: ``kill -9`` of ``run`` or ``poll --once`` frees the lock (issue 16).

Before the fix the forked parse workers survived their parent, ignored SIGTERM (the asyncio
handler they inherited) and kept the instance lock, so every restart was refused (exit 3
naming a dead pid). Real processes, real SIGKILL.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.app.instance_lock import database_lock_path, is_held
from tests.conftest import ROOT, run_main, telegram_env, write_feed_list
from tests.fakes.feed_server import FeedServer, rfc822, rss
from tests.fakes.telegram_api import FakeTelegramAPI

pytestmark = pytest.mark.slow  # kill -9 of main.py and its parse workers


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _wait(predicate: Callable[[], object], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("command", [["run"], ["poll", "--once"]], ids=["run", "poll-once"])
def test_kill_9_leaves_no_worker_and_no_lock(
    command: list[str],
    feed_server: FeedServer,
    telegram_api: FakeTelegramAPI,
    nw_env: dict[str, str],
    tmp_path: Path,
) -> None:
    now = time.time()
    feed_server.set(
        "/ok.xml",
        rss([{"title": "Bamako summit", "guid": "1", "pubDate": rfc822(now - 60)}]),
    )
    feed_server.set("/hang.xml", "", fault="hang")  # keeps poll --once busy after the parse
    env = telegram_env(nw_env, telegram_api)
    urls = [feed_server.url("/ok.xml"), feed_server.url("/hang.xml")]
    env["NEWSWATCH_FEEDS"] = str(write_feed_list(tmp_path, urls))
    config = tmp_path / "newswatch.toml"
    config.write_text(
        "fetch_deadline = 120.0\nread_timeout = 120.0\nfetch_spread_seconds = 0\n",
        encoding="utf-8",
    )
    # Raw Popen, not MainProcess: the test is main.py killed with SIGKILL and what becomes of
    # its parse workers; with a pipe, workers that outlived it would hold the pipe open.
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "main.py"), "--config", str(config), *command],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # the body of ok.xml goes to the parse workers; hang.xml keeps the cycle open
        assert _wait(lambda: len(feed_server.hits) >= 2 and bool(_children(proc.pid)))
        time.sleep(0.5)  # the pool starts all its workers
        workers = _children(proc.pid)
        assert workers, "no parse worker to orphan"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        assert _wait(lambda: not any(_alive(w) for w in workers), timeout=10), (
            f"parse workers {workers} outlived their parent"
        )
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert not is_held(database_lock_path(env["NEWSWATCH_DB"]))
    feed_server.set("/hang.xml", rss([]))
    again = run_main(["--config", str(config), "poll", "--once"], env, timeout=120)
    assert again.returncode == 0, again.stderr[-2000:]


def test_start_up_ends_orphans_of_a_dead_holder(
    feed_server: FeedServer, nw_env: dict[str, str], tmp_path: Path
) -> None:
    """An orphan from an older version (it ignores SIGTERM) holds the lock of a dead `run`."""
    env = dict(nw_env)
    feed_server.set("/ok.xml", rss([]))
    env["NEWSWATCH_FEEDS"] = str(write_feed_list(tmp_path, [feed_server.url("/ok.xml")]))
    lock = database_lock_path(env["NEWSWATCH_DB"])
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    dead_pid = int(gone.stdout)
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text(json.dumps({"pid": dead_pid, "command": "run", "started_at": "x"}))
    orphan = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, signal, sys, time\n"
            "signal.signal(signal.SIGTERM, lambda *a: None)\n"
            "f = open(sys.argv[1], 'a+'); fcntl.flock(f, fcntl.LOCK_EX)\n"
            "print('held', flush=True); time.sleep(600)\n",
            str(lock),
            "run",  # forked workers carry their parent's argv
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert orphan.stdout is not None and orphan.stdout.readline().strip() == "held"
        assert is_held(lock)
        result = run_main(["poll", "--once"], env, timeout=60)
        assert result.returncode == 0, result.stderr[-2000:]
        assert f"holder pid {dead_pid} is dead" in result.stderr
        assert orphan.wait(timeout=10) == -signal.SIGKILL
    finally:
        if orphan.poll() is None:
            os.kill(orphan.pid, signal.SIGKILL)
            orphan.wait()


def test_a_live_holder_is_still_refused(nw_env: dict[str, str], tmp_path: Path) -> None:
    """The recovery never touches a lock whose recorded holder is alive."""
    lock = database_lock_path(nw_env["NEWSWATCH_DB"])
    lock.parent.mkdir(parents=True, exist_ok=True)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, json, os, sys, time\n"
            "f = open(sys.argv[1], 'a+'); fcntl.flock(f, fcntl.LOCK_EX)\n"
            "f.truncate(0); json.dump({'pid': os.getpid(), 'command': 'run'}, f); f.flush()\n"
            "print('held', flush=True); time.sleep(600)\n",
            str(lock),
            "run",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        result = run_main(["poll", "--once"], nw_env, timeout=60)
        assert result.returncode == 3
        assert holder.poll() is None
    finally:
        holder.kill()
        holder.wait()
