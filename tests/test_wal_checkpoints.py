"""The write-ahead log is checkpointed from a thread of its own (storage.checkpoints): the writer
keeps only a backstop, the data is intact, a failed checkpoint never ends the thread, and the
`poll --once` command starts and stops it."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from storage.checkpoints import BACKSTOP_PAGES, DEFAULT_PAGES, WalCheckpointer
from storage.db import open_database
from storage.sqlite_utils_loader import Database


def _autocheckpoint(db: Database) -> int:
    return int(db.execute("PRAGMA wal_autocheckpoint").fetchone()[0])


def _write(db: Database, rows: int, start: int = 0) -> None:
    db.execute("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, body TEXT)")
    for i in range(start, start + rows, 50):
        db.execute("BEGIN IMMEDIATE")
        db.conn.executemany(
            "INSERT INTO t (id, body) VALUES (?, ?)",
            [(n, "x" * 2000) for n in range(i, min(i + 50, start + rows))],
        )
        db.execute("COMMIT")


def _wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.01)


def test_the_thread_checkpoints_while_the_writer_keeps_a_backstop(tmp_path: Path) -> None:
    db = open_database(tmp_path / "nw.db", migrate=False)
    assert _autocheckpoint(db) == DEFAULT_PAGES
    checkpoints = WalCheckpointer(db, tmp_path / "nw.db", busy_interval=0.01, idle_interval=0.02)
    assert checkpoints.start()
    assert checkpoints.running
    assert _autocheckpoint(db) == BACKSTOP_PAGES
    names = [t.name for t in threading.enumerate()]
    assert "wal-checkpoint" in names
    _write(db, 3000)  # about 1,500 pages of log
    _wait_for(lambda: checkpoints.checkpoints >= 1, "a checkpoint by the thread")
    checkpoints.stop()
    assert not checkpoints.running
    assert _autocheckpoint(db) == DEFAULT_PAGES
    assert "wal-checkpoint" not in [t.name for t in threading.enumerate()]
    # Everything the writer committed is there, for the writer and for a new connection.
    assert db.execute("SELECT count(*) FROM t").fetchone()[0] == 3000
    db.conn.close()
    other = sqlite3.connect(tmp_path / "nw.db")
    assert other.execute("SELECT count(*), sum(length(body)) FROM t").fetchone() == (
        3000,
        6_000_000,
    )
    assert other.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    other.close()
    assert not (tmp_path / "nw.db-wal").exists()  # the last close checkpointed the rest


def test_the_log_is_copied_into_the_file_by_the_thread(tmp_path: Path) -> None:
    """What the thread copied is in the database file itself: a reader that ignores the log
    (immutable=1) sees the rows once the thread has checkpointed them."""
    db = open_database(tmp_path / "nw.db", migrate=False)
    checkpoints = WalCheckpointer(db, tmp_path / "nw.db", busy_interval=0.01, idle_interval=0.02)
    assert checkpoints.start()
    _write(db, 500)

    def in_file() -> bool:
        uri = f"file:{tmp_path / 'nw.db'}?immutable=1"
        conn = sqlite3.connect(uri, uri=True)
        try:
            return bool(conn.execute("SELECT count(*) FROM t").fetchone()[0] == 500)
        except sqlite3.Error:
            return False
        finally:
            conn.close()

    _wait_for(in_file, "the rows copied into the database file")
    checkpoints.stop()
    db.conn.close()


def test_without_wal_nothing_starts() -> None:
    db = open_database(":memory:", migrate=False)
    checkpoints = WalCheckpointer(db, ":memory:")
    assert not checkpoints.start()
    assert not checkpoints.running
    assert _autocheckpoint(db) == DEFAULT_PAGES
    checkpoints.stop()  # harmless


def test_a_failed_checkpoint_is_logged_and_tried_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = open_database(tmp_path / "nw.db", migrate=False)
    checkpoints = WalCheckpointer(db, tmp_path / "nw.db")
    broken = sqlite3.connect(tmp_path / "nw.db")
    broken.close()
    with caplog.at_level("WARNING", logger="newswatch.storage"):
        assert checkpoints._checkpoint(broken) is False
    assert checkpoints.failures == 1
    assert "WAL checkpoint failed" in caplog.text
    working = sqlite3.connect(tmp_path / "nw.db")
    _write(db, 100)
    assert checkpoints._checkpoint(working) is True  # the next one works
    assert checkpoints._checkpoint(working) is False  # nothing new since
    working.close()
    db.conn.close()


def test_poll_once_starts_and_stops_the_checkpointer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []
    started = WalCheckpointer.start
    stopped = WalCheckpointer.stop

    def start(self: WalCheckpointer) -> bool:
        seen.append("start")
        return started(self)

    def stop(self: WalCheckpointer, timeout: float = 10.0) -> None:
        seen.append(f"stop running={self.running}")
        stopped(self, timeout)

    monkeypatch.setattr(WalCheckpointer, "start", start)
    monkeypatch.setattr(WalCheckpointer, "stop", stop)
    feeds = tmp_path / "feeds.txt"
    feeds.write_text("", encoding="utf-8")
    monkeypatch.setenv("NEWSWATCH_DB", str(tmp_path / "nw.db"))
    monkeypatch.setenv("NEWSWATCH_FEEDS", str(feeds))
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)
    from bot.cli.entry import main

    assert main(["poll", "--once"]) == 0
    assert seen == ["start", "stop running=True"]
    assert "wal-checkpoint" not in [t.name for t in threading.enumerate()]
