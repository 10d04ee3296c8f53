"""storage.transactions.commit_group: blocks committed together, each atomic on its own; a
failed COMMIT undoes the whole group (real SQLite file)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from storage.db import open_database
from storage.sqlite_utils_loader import Database
from storage.transactions import commit_group, transaction


@pytest.fixture
def db(tmp_path: Path) -> Database:
    db = open_database(tmp_path / "nw.db", migrate=False)
    db.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
    db.execute(
        "CREATE TABLE child (id INTEGER PRIMARY KEY, parent INTEGER"
        " REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)"
    )
    return db


def _ids(db: Database, table: str) -> list[int]:
    return [r[0] for r in db.execute(f"SELECT id FROM {table} ORDER BY id").fetchall()]


def test_a_failing_block_is_undone_alone(db: Database) -> None:
    with commit_group(db) as group:
        with group.block():
            db.execute("INSERT INTO parent (id) VALUES (1)")
        with pytest.raises(ValueError), group.block():
            db.execute("INSERT INTO parent (id) VALUES (2)")
            raise ValueError("this feed's trouble")
        with group.block(), transaction(db):  # a nested transaction() joins the group
            db.execute("INSERT INTO parent (id) VALUES (3)")
        assert db.conn.in_transaction  # not committed before the group ends
    assert not db.conn.in_transaction
    assert _ids(db, "parent") == [1, 3]
    assert group.blocks == 2


def test_a_failed_commit_undoes_every_block(db: Database) -> None:
    # The deferred foreign key is checked at COMMIT: the commit itself fails.
    with pytest.raises(sqlite3.IntegrityError), commit_group(db) as group:
        with group.block():
            db.execute("INSERT INTO parent (id) VALUES (1)")
        with group.block():
            db.execute("INSERT INTO child (id, parent) VALUES (1, 99)")
    assert not db.conn.in_transaction
    assert _ids(db, "parent") == [] and _ids(db, "child") == []


def test_a_group_without_blocks_takes_no_write_lock(db: Database) -> None:
    with commit_group(db):
        assert not db.conn.in_transaction
    assert not db.conn.in_transaction


def test_a_group_cannot_start_inside_a_transaction(db: Database) -> None:
    with transaction(db), pytest.raises(RuntimeError), commit_group(db):
        pass
