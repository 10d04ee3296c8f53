"""Explicit SQLite transactions (BEGIN IMMEDIATE … COMMIT) on an autocommit connection."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from storage.sqlite_utils_loader import Database


@contextmanager
def transaction(db: Database) -> Iterator[Database]:
    """Run the block in one write transaction; roll back on any exception.

    The connection is in autocommit mode, so sqlite-utils' own ``with conn:`` blocks cannot
    commit half of ours: inside this block, write only through ``db.execute``/``executemany``.
    """
    conn = db.conn
    if conn.in_transaction:  # nested use joins the outer transaction
        yield db
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:  # whatever ended the block (even a cancellation): undone, re-raised
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
