"""Open connections to the newswatch SQLite file: the one place that knows how.

Three kinds, each with its settings in one function (``tests/test_architecture.py`` fails
on a ``sqlite3.connect`` anywhere else):

- ``open_database``: the writer (creates the file, WAL, busy timeout, ``synchronous =
  NORMAL``, foreign keys, schema migrations);
- ``open_reader``: a read-only connection (``mode=ro``, ``query_only``, the same busy
  timeout), for work off the writer's connection: the story window's re-index in a thread,
  the web archive (its start-up inspection and every Datasette connection). It never
  creates the file nor migrates it;
- ``open_checkpointer``: the WAL checkpoint thread's connection (``storage/checkpoints.py``).

Readers and the checkpointer open the file by a ``file:`` URI whose path is percent-quoted,
so that a path with spaces, ``?``, ``#`` or ``%`` names the same file the writer opened.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from urllib.parse import quote

from bot.core.errors import DatabaseMissing
from storage.migrations import apply_migrations
from storage.sqlite_utils_loader import Database

BUSY_TIMEOUT_MS = 15_000
# The checkpoint thread waits at most this long for a lock; a passive checkpoint that cannot
# get one is simply tried again later.
CHECKPOINT_TIMEOUT_S = 1.0


def open_database(path: str | Path, *, migrate: bool = True) -> Database:
    """Open (creating if needed) the database at ``path`` and bring its schema up to date.

    A reader holding a lock (Datasette, the sqlite3 shell) makes writers wait up to
    BUSY_TIMEOUT_MS instead of failing at once.
    """
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(
        str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
    )
    # Autocommit: storage.transactions.transaction() issues BEGIN IMMEDIATE / COMMIT itself.
    db = Database(conn)
    db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    if str(path) != ":memory:":
        db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute("PRAGMA foreign_keys = ON")
    if migrate:
        apply_migrations(db)
    return db


def open_reader(path: str | Path, *, any_thread: bool = False) -> sqlite3.Connection:
    """A read-only connection to the existing database at ``path`` (``mode=ro`` and
    ``PRAGMA query_only``): it cannot write, never creates the file and never migrates it.

    A writer holding a lock makes it wait up to BUSY_TIMEOUT_MS, as the writer waits for
    readers. Raises DatabaseMissing when there is no database file at ``path``. The
    connection belongs to the thread that opened it (the sqlite3 module's default) unless
    ``any_thread`` (Datasette's connections: each used by one thread, closed by another).
    """
    target = _file_path(path)
    try:
        conn = sqlite3.connect(
            _file_uri(target, "ro"),
            uri=True,
            timeout=BUSY_TIMEOUT_MS / 1000,
            check_same_thread=not any_thread,
        )
    except sqlite3.OperationalError as exc:  # "unable to open database file"
        if not target.is_file():
            raise DatabaseMissing(str(path)) from exc
        raise
    conn.execute("PRAGMA query_only = ON")
    return conn


def open_checkpointer(path: str | Path) -> sqlite3.Connection:
    """The WAL checkpoint thread's connection to the existing database at ``path``
    (``mode=rw``: it never creates the file); it may be used from another thread than the
    one that opened it. Raises sqlite3.Error when the file cannot be opened."""
    target = _file_path(path)
    return sqlite3.connect(
        _file_uri(target, "rw"), uri=True, timeout=CHECKPOINT_TIMEOUT_S, check_same_thread=False
    )


def _file_path(path: str | Path) -> Path:
    if str(path) in ("", ":memory:"):
        raise ValueError("an in-memory database has no file to open a second connection to")
    return Path(path)


def _file_uri(path: Path, mode: str) -> str:
    """``file:`` URI of ``path`` (made absolute) with ``mode``: every byte of the path but
    ``/`` percent-quoted, so none of it is read as the URI's query (``?``), fragment (``#``)
    or an escape (``%``)."""
    absolute = os.fsencode(path.resolve())
    return f"file://{quote(absolute, safe='/')}?mode={mode}"
