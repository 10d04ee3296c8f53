"""Crash test: `poll --once` killed with SIGKILL while delivering a batch, then run again."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import CHAT, ROOT, run_main, telegram_env, write_feed_list
from tests.fakes.feed_server import FeedServer, rfc822, rss
from tests.fakes.telegram_api import FakeTelegramAPI, parse_telegram_html

pytestmark = pytest.mark.slow  # SIGKILLs main.py while it delivers

TITLES = [
    "JNIM claims ambush on army convoy near Gao",
    "Bamako hosts AES ministers for a security summit",
    "FAMa retake Boulkessi base after heavy fighting",
    "Assimi Goïta announces a cabinet reshuffle",
    "Kidal residents flee as drone strikes intensify",
    "Africa Corps instructors deployed to Ménaka region",
    "Mali junta suspends a French broadcaster again",
    "Tombouctou: JNIM blockade causes food shortages",
]


def _feed() -> str:
    now = time.time()
    return rss(
        [
            {
                "title": title,
                "link": f"https://news.example.org/crash/{i}",
                "guid": f"crash-{i}",
                "description": f"Report number {i} from the Sahel desk.",
                "pubDate": rfc822(now - 600 - i),
            }
            for i, title in enumerate(TITLES)
        ],
        title="Crash Wire",
    )


def _env(
    feed_server: FeedServer, telegram_api: FakeTelegramAPI, nw_env: dict[str, str], tmp_path: Path
) -> dict[str, str]:
    feed_server.set("/crash.xml", _feed())
    env = telegram_env(nw_env, telegram_api)
    env["NEWSWATCH_FEEDS"] = str(write_feed_list(tmp_path, [feed_server.url("/crash.xml")]))
    return env


def _kill_during_delivery(
    env: dict[str, str], telegram_api: FakeTelegramAPI, after: int, delay: float
) -> None:
    # Raw Popen, not MainProcess: the test is the SIGKILL between two sends (its output is not
    # read, so the kill lands exactly when the fake API saw the chosen send).
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "main.py"), "poll", "--once"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        reached = telegram_api.wait_for(lambda s: len(s.messages) >= after, timeout=60)
        assert reached, "the batch never started"
        if delay:
            time.sleep(delay)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert len(telegram_api.state.messages) < len(TITLES), "killed in the middle of the batch"


def _delivered(telegram_api: FakeTelegramAPI) -> Counter[str]:
    return Counter(
        parse_telegram_html(m.text).split("\n")[1] for m in telegram_api.messages_to(CHAT)
    )


@pytest.mark.parametrize(
    ("after", "delay", "max_duplicates"),
    [
        (3, 0.5, 0),  # common case: killed between two sends (the per-chat pacing gap)
        (2, 0.0, 1),  # worst case: killed the moment Telegram answered a send
    ],
    ids=["between-sends", "right-after-a-send"],
)
def test_sigkill_mid_batch_then_rerun_delivers_everything(
    feed_server: FeedServer,
    telegram_api: FakeTelegramAPI,
    nw_env: dict[str, str],
    tmp_path: Path,
    after: int,
    delay: float,
    max_duplicates: int,
) -> None:
    env = _env(feed_server, telegram_api, nw_env, tmp_path)
    _kill_during_delivery(env, telegram_api, after, delay)
    before_rerun = len(telegram_api.state.messages)

    rerun = run_main(["poll", "--once"], env)
    assert rerun.returncode == 0, rerun.stderr

    counts = _delivered(telegram_api)
    duplicates = sum(n - 1 for n in counts.values())
    print(f"crash test: {before_rerun} sent before SIGKILL, {duplicates} duplicate(s)")
    assert set(counts) == set(TITLES), "every alert arrives"
    assert duplicates <= max_duplicates
    db = sqlite3.connect(env["NEWSWATCH_DB"])
    assert db.execute("SELECT status, count(*) FROM deliveries GROUP BY status").fetchall() == [
        ("sent", len(TITLES))
    ]
    third = run_main(["poll", "--once"], env)
    assert third.returncode == 0
    assert sum(_delivered(telegram_api).values()) == len(TITLES) + duplicates, "nothing resent"
