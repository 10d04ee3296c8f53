"""Open the newswatch SQLite file: WAL mode, busy timeout, and schema migrations."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from storage.migrations import apply_migrations
from storage.sqlite_utils_loader import Database

BUSY_TIMEOUT_MS = 15_000


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
