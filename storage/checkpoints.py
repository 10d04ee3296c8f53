"""Checkpoint the SQLite write-ahead log from a thread of its own, so the writer never waits
on a checkpoint's page copying and fsyncs.

In WAL mode SQLite copies the log back into the database file (a checkpoint) on the
connection that commits when the log has grown past ``wal_autocheckpoint`` pages (1,000 by
default), and syncs the log and the file to disk twice doing so. The writer is the event
loop's thread, the cycle's critical path: a cold 1,000-feed cycle ran about 40 checkpoints
there, 70-90 fdatasyncs, 1-2 s of waiting on a busy disk (docs/performance.md, "Cold cycle
pass (stop 27)"). ``WalCheckpointer`` runs ``PRAGMA wal_checkpoint(PASSIVE)`` on a
connection of its own, from a daemon thread, which SQLite's documentation suggests for
that purpose; a passive checkpoint never blocks the writer nor waits for it, and the sqlite3
module releases the GIL while SQLite works. The writer's own automatic checkpoint stays as a
backstop at ``BACKSTOP_PAGES``: if this thread stops or lags, the log is still bounded.

Durability is unchanged: commits are what ``synchronous = NORMAL`` makes them, whoever
checkpoints; a checkpoint that fails (the disk is full, the file went away) is logged and
tried again later, and the writer's backstop takes over meanwhile.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

from storage.db import open_checkpointer
from storage.sqlite_utils_loader import Database

log = logging.getLogger("newswatch.storage")

# The writer's own automatic checkpoint while a checkpointer runs: about 40 MB of log. It
# only triggers if the thread cannot keep the log short (stopped, or a reader pinning the log).
BACKSTOP_PAGES = 10_000
# SQLite's default, given back when the checkpointer stops.
DEFAULT_PAGES = 1_000
# How often the thread checkpoints while the log grows, and at most how long it sleeps when
# there was nothing to copy (an idle service wakes it a few times a minute, for nothing).
BUSY_INTERVAL = 0.2
IDLE_INTERVAL = 5.0


class WalCheckpointer:
    """Checkpoints ``path``'s write-ahead log from a daemon thread while started.

    ``start`` raises the writer connection's automatic checkpoint (``db``) to the backstop
    and starts the thread; ``stop`` ends the thread, closes its connection and gives the
    writer SQLite's default back. Without WAL (an in-memory database) it does nothing.
    ``checkpoints`` counts the checkpoints that copied pages (for tests and the log).
    """

    def __init__(
        self,
        db: Database,
        path: str | Path,
        *,
        busy_interval: float = BUSY_INTERVAL,
        idle_interval: float = IDLE_INTERVAL,
        backstop_pages: int = BACKSTOP_PAGES,
    ):
        self.db = db
        self.path = str(path)
        self.busy_interval = busy_interval
        self.idle_interval = idle_interval
        self.backstop_pages = backstop_pages
        self.checkpoints = 0
        self.failures = 0
        self._stop = threading.Event()
        self._last: tuple[int, int] | None = None  # (frames in the log, frames copied)
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> bool:
        """Start the thread; False (and nothing done) when the database is not in WAL mode."""
        if self._thread is not None:
            return True
        mode = self.db.execute("PRAGMA journal_mode").fetchone()
        if self.path == ":memory:" or mode is None or str(mode[0]).lower() != "wal":
            return False
        try:
            conn = open_checkpointer(self.path)
        except (sqlite3.Error, ValueError) as exc:  # the writer checkpoints itself, as before
            log.warning("WAL checkpoints stay on the writer: %s", exc)
            return False
        self.db.execute(f"PRAGMA wal_autocheckpoint = {int(self.backstop_pages)}")
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._loop, args=(conn,), name="wal-checkpoint", daemon=True
        )
        self._thread.start()
        return True

    def stop(self, timeout: float = 10.0) -> None:
        """End the thread (a checkpoint in progress finishes first) and give the writer its
        own automatic checkpoint back. The writer's close checkpoints what is left."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stop.set()
        thread.join(timeout)
        try:
            self.db.execute(f"PRAGMA wal_autocheckpoint = {DEFAULT_PAGES}")
        except sqlite3.Error as exc:  # a closed or broken writer: nothing left to give back
            log.debug("wal_autocheckpoint not restored: %s", exc)

    def _loop(self, conn: sqlite3.Connection) -> None:
        try:
            interval = self.busy_interval
            while not self._stop.wait(interval):
                copied = self._checkpoint(conn)
                interval = self.busy_interval if copied else min(self.idle_interval, interval * 2)
        finally:
            conn.close()

    def _checkpoint(self, conn: sqlite3.Connection) -> bool:
        """One passive checkpoint; True when the log had grown since the last one."""
        try:
            row = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except sqlite3.Error as exc:  # the writer's backstop takes over meanwhile
            self.failures += 1
            log.warning("WAL checkpoint failed (tried again later): %s", exc)
            return False
        if row is None:
            return False
        _busy, frames, copied = (int(v) for v in row)
        last, self._last = self._last, (frames, copied)
        if frames > 0 and (frames, copied) != last:
            self.checkpoints += 1
            return True
        return False
