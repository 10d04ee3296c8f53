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


class CommitGroup:
    """Several write blocks in one transaction, each block atomic on its own (a savepoint).

    Committing costs SQLite a WAL write of every page the transaction dirtied, and every
    thousand such pages a checkpoint with two fsyncs. A cold poll cycle stores a thousand
    feeds, each touching pages of the same item indexes: committing them a few at a time
    writes those shared pages once per group instead of once per feed. A block that fails
    is rolled back to its savepoint and the others still commit. The transaction begins with
    the first block (a group without writes never takes the write lock) and commits when the
    ``with commit_group(...)`` ends. Use it only where nothing awaits between the blocks:
    another coroutine's writes would join the open transaction.
    """

    def __init__(self, db: Database):
        self._conn = db.conn
        self._blocks = 0

    @property
    def blocks(self) -> int:
        """How many blocks wrote in this group (committed together at its end)."""
        return self._blocks

    @contextmanager
    def block(self) -> Iterator[None]:
        conn = self._conn
        if not conn.in_transaction:
            conn.execute("BEGIN IMMEDIATE")
        conn.execute("SAVEPOINT feed_block")
        try:
            yield
        except BaseException:  # only this block's writes are undone; the group goes on
            conn.execute("ROLLBACK TO feed_block")
            conn.execute("RELEASE feed_block")
            raise
        conn.execute("RELEASE feed_block")
        self._blocks += 1


@contextmanager
def commit_group(db: Database) -> Iterator[CommitGroup]:
    """Blocks run with ``group.block()`` inside this ``with`` commit together at its end.

    On an exception (or a failed COMMIT) everything the group wrote is rolled back and the
    exception propagates: the caller treats every block of the group as not stored.
    """
    conn = db.conn
    if conn.in_transaction:
        raise RuntimeError("commit_group inside an open transaction")
    group = CommitGroup(db)
    try:
        yield group
        if conn.in_transaction:
            conn.execute("COMMIT")
    except BaseException:  # the group's writes are undone, whatever ended it
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
