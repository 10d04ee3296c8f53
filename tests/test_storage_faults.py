"""Storage that fails while alerts go out: no repeats, a backoff, one notice (issue 16, 1).

The real ``main.py run`` process against the fake Bot API. The fault is real, not mocked:
the moment the fake accepts the first alert, the test lowers the bot process's file-size
limit (``prlimit RLIMIT_FSIZE``, Python ignores SIGXFSZ) so that every SQLite write fails
like on a full disk ("database or disk is full" / "disk I/O error"); mounting a full tmpfs
is not allowed on CI machines. Before the fix the same alert went out about once a second.
"""

from __future__ import annotations

import resource
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CHAT, ROOT, telegram_env, write_feed_list
from tests.fakes.feed_server import FeedServer, rfc822, rss
from tests.fakes.telegram_api import FakeTelegramAPI, parse_telegram_html

pytestmark = pytest.mark.slow  # main.py run while its storage fails

ADMIN = 5550002
TITLES = [
    "JNIM claims ambush on army convoy near Gao",
    "Bamako hosts AES ministers for a security summit",
    "Assimi Goïta announces a cabinet reshuffle",
]


def _feed() -> str:
    now = time.time()
    return rss(
        [
            {
                "title": title,
                "link": f"https://news.example.org/disk/{i}",
                "guid": f"disk-{i}",
                "pubDate": rfc822(now - 600 - i),
            }
            for i, title in enumerate(TITLES)
        ],
        title="Disk Wire",
    )


def _set_fsize(pid: int, limit: int | None) -> None:
    _, hard = resource.prlimit(pid, resource.RLIMIT_FSIZE)
    soft = hard if limit is None else limit
    resource.prlimit(pid, resource.RLIMIT_FSIZE, (soft, hard))


def test_full_disk_while_sending_gives_no_repeat_and_one_notice(
    feed_server: FeedServer, telegram_api: FakeTelegramAPI, nw_env: dict[str, str], tmp_path: Path
) -> None:
    feed_server.set("/disk.xml", _feed())
    env = telegram_env(nw_env, telegram_api)
    env["NEWSWATCH_ADMIN_IDS"] = str(ADMIN)
    env["NEWSWATCH_FEEDS"] = str(write_feed_list(tmp_path, [feed_server.url("/disk.xml")]))
    config = tmp_path / "newswatch.toml"
    config.write_text(
        "poll_interval_seconds = 10\nfetch_spread_seconds = 0\ndigest_threshold = 0\n",
        encoding="utf-8",
    )
    log_path = tmp_path / "run.log"
    log_file = log_path.open("w")
    # Raw Popen, not MainProcess: the disk is "full" for this process (RLIMIT_FSIZE set on its
    # pid), and its output goes to a file on purpose, so the limit hits its log as a full disk
    # would, not only the database.
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "main.py"), "--config", str(config), "run"],
        env=env,
        cwd=ROOT,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        text=True,
    )
    first: dict[str, Any] = {}

    def break_storage(params: dict[str, Any], result: dict[str, Any]) -> None:
        if str(params.get("chat_id")) == str(CHAT) and not first:
            first["message_id"] = result["message_id"]
            _set_fsize(proc.pid, 1)  # before the bot hears Telegram's answer

    telegram_api.before_reply["sendMessage"] = break_storage

    def to(chat: int) -> list[str]:
        return [m.text for m in telegram_api.messages_to(chat)]

    try:
        assert telegram_api.wait_for(lambda s: bool(first), timeout=60), "no alert sent"
        assert telegram_api.wait_for(
            lambda s: any("Storage failure" in t for t in to(ADMIN)), timeout=60
        ), "no storage notice"
        hits_at_notice = len(feed_server.hits)
        time.sleep(8)  # the failure goes on: before the fix, ~8 more sends and fetches
        during = to(CHAT)
        hits_during = len(feed_server.hits) - hits_at_notice
        _set_fsize(proc.pid, None)  # disk space is back
        assert telegram_api.wait_for(lambda s: len(to(CHAT)) >= len(TITLES), timeout=90), (
            log_path.read_text()[-4000:]
        )
        assert telegram_api.wait_for(
            lambda s: any("Storage works again" in t for t in to(ADMIN)), timeout=60
        )
        time.sleep(1.5)  # anything repeated would come now
    finally:
        if proc.poll() is None:
            _set_fsize(proc.pid, None)
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log_file.close()
    err = log_path.read_text()
    assert len(during) == 1, during  # the unrecorded send stops the pass: nothing else goes
    assert hits_during <= 3, f"{hits_during} fetches in 8 s: no backoff"
    counts = Counter(parse_telegram_html(t) for t in to(CHAT))
    for title in TITLES:
        sent = [text for text in counts if title in text]
        assert len(sent) == 1 and counts[sent[0]] == 1, (title, counts, err[-3000:])
    notices = [t for t in to(ADMIN) if "Storage failure" in t]
    assert len(notices) == 1, notices
    db = sqlite3.connect(env["NEWSWATCH_DB"])
    rows = db.execute(
        "SELECT status, message_id FROM deliveries WHERE chat_id = ? ORDER BY id", [CHAT]
    ).fetchall()
    assert [r[0] for r in rows] == ["sent"] * len(TITLES), rows
    assert first["message_id"] in {r[1] for r in rows}  # the id kept in memory was recorded
    assert proc.returncode == 0, err[-3000:]
    assert telegram_api.state.token not in err
