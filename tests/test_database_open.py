"""storage/db.py opens every connection: the writer, read-only readers (the story window's
re-index, the web archive) and the WAL checkpoint thread's, on real SQLite files, at paths
with spaces, ``?``, ``#`` and ``%`` in them."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.core.errors import DatabaseMissing, NewswatchError, ServiceError
from bot.cycle.story_grouping import StoryGrouper
from storage.checkpoints import WalCheckpointer
from storage.db import BUSY_TIMEOUT_MS, open_checkpointer, open_database, open_reader
from tests.fakes.feed_server import FeedServer
from tests.harness import make_pipeline
from tests.test_loop_responsiveness import (
    FIRST,
    SECOND,
    _feed,
    _stories,
    record_reindexes,
    run_one_cycle,
)
from tests.test_wal_checkpoints import _wait_for

# Folder and file names a naive "file:" URI would misread: "?" starts the query, "#" the
# fragment, "%" an escape ("%20" would become a space, "%3F" a "?"), "&" and "=" separate
# and assign query parameters.
AWKWARD = [
    pytest.param("with space/news watch.db", id="spaces"),
    pytest.param("q?mode=rw/nw?mode=rwc.db", id="question-marks"),
    pytest.param("hash#frag/nw#1.db", id="hashes"),
    pytest.param("pct%20dir/nw%3F%.db", id="percents"),
    pytest.param("a&b=c/x&immutable=1.db", id="ampersands"),
    pytest.param("Tombouctou é/Ségou.db", id="non-ascii"),
    pytest.param("plain/newswatch.db", id="plain"),
]


def _written(path: Path) -> None:
    """A database the writer created at ``path``, with one row of its own."""
    db = open_database(path)
    db.execute("CREATE TABLE probe (id INTEGER PRIMARY KEY, body TEXT)")
    db.execute("INSERT INTO probe (body) VALUES ('from the writer')")
    db.conn.close()


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@pytest.mark.parametrize("name", AWKWARD)
def test_a_reader_reads_the_writers_file_whatever_its_path(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    _written(path)
    before = _files(tmp_path)
    conn = open_reader(path)
    try:
        assert conn.execute("SELECT body FROM probe").fetchall() == [("from the writer",)]
        (main,) = [row[2] for row in conn.execute("PRAGMA database_list") if row[1] == "main"]
        assert Path(main) == path.resolve()
    finally:
        conn.close()
    new = {f for f in _files(tmp_path) if f not in before}
    assert new <= {f"{name}-wal", f"{name}-shm"}  # WAL's own files, nothing else


@pytest.mark.parametrize("name", AWKWARD)
def test_a_reader_cannot_write(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    _written(path)
    conn = open_reader(path)
    try:
        assert conn.execute("PRAGMA query_only").fetchone()[0] == 1
        for sql in (
            "INSERT INTO probe (body) VALUES ('from a reader')",
            "CREATE TABLE other (x)",
            "DELETE FROM probe",
        ):
            with pytest.raises(sqlite3.OperationalError):
                conn.execute(sql)
        conn.execute("PRAGMA query_only = OFF")  # mode=ro holds even without query_only
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            conn.execute("INSERT INTO probe (body) VALUES ('from a reader')")
    finally:
        conn.close()
    check = open_reader(path)
    assert check.execute("SELECT count(*) FROM probe").fetchone()[0] == 1
    check.close()


@pytest.mark.parametrize("name", AWKWARD)
def test_a_missing_file_is_a_clear_error_and_nothing_is_created(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    with pytest.raises(DatabaseMissing) as caught:
        open_reader(path)
    assert str(caught.value) == f"no database at {path}"
    assert caught.value.path == str(path)
    assert isinstance(caught.value, ServiceError) and isinstance(caught.value, NewswatchError)
    assert _files(tmp_path) == []  # neither the file nor its folder


def test_a_missing_file_is_never_mistaken_for_a_file_named_by_a_prefix(tmp_path: Path) -> None:
    """``data?x.db`` as a naive URI names ``data``, with a query: the reader must refuse."""
    _written(tmp_path / "data")
    with pytest.raises(DatabaseMissing):
        open_reader(tmp_path / "data?x.db")
    with pytest.raises(DatabaseMissing):
        open_reader(tmp_path / "data#x.db")
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("data-")) == ["data"]


def test_a_folder_is_no_database(tmp_path: Path) -> None:
    with pytest.raises(DatabaseMissing):
        open_reader(tmp_path)


def test_an_in_memory_database_has_no_file_to_read() -> None:
    with pytest.raises(ValueError):
        open_reader(":memory:")
    with pytest.raises(ValueError):
        open_checkpointer(":memory:")


def test_a_reader_never_migrates(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = open_database(path, migrate=False)  # a file some older version left, say
    db.execute("CREATE TABLE probe (id INTEGER PRIMARY KEY)")
    db.conn.close()
    conn = open_reader(path)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    finally:
        conn.close()
    assert tables == ["probe"]
    writer = open_database(path, migrate=False)
    assert [r[0] for r in writer.execute("SELECT name FROM sqlite_master")] == ["probe"]
    writer.conn.close()


def test_a_reader_waits_for_a_busy_writer_instead_of_failing(tmp_path: Path) -> None:
    """A writer holding the file exclusively (a rollback-journal commit, or WAL in exclusive
    locking mode) makes a reader wait (busy timeout), not fail with "database is locked"."""
    path = tmp_path / "busy.db"
    _written(path)
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA journal_mode = DELETE")
    writer.execute("BEGIN EXCLUSIVE")
    writer.execute("INSERT INTO probe (body) VALUES ('committed while the reader waited')")

    no_wait = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=0)  # the control
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        no_wait.execute("SELECT count(*) FROM probe").fetchone()
    no_wait.close()

    reader = open_reader(path)
    assert reader.execute("PRAGMA busy_timeout").fetchone()[0] == BUSY_TIMEOUT_MS
    reader.close()
    result: list[Any] = []
    querying = threading.Event()

    def read() -> None:
        conn = open_reader(path)
        try:
            querying.set()
            result.append(conn.execute("SELECT count(*) FROM probe").fetchone()[0])
        except sqlite3.Error as exc:
            result.append(exc)
        finally:
            conn.close()

    thread = threading.Thread(target=read)
    thread.start()
    assert querying.wait(30)
    thread.join(0.3)  # the reader queries meanwhile: without a busy timeout it fails at once
    writer.execute("COMMIT")
    thread.join(30)
    writer.close()
    assert result == [2]  # it waited, then saw the commit


def test_the_checkpointer_connection_opens_awkward_paths_and_never_creates(
    tmp_path: Path,
) -> None:
    path = tmp_path / "q?#%20 x" / "nw#?.db"
    with pytest.raises(sqlite3.OperationalError):
        open_checkpointer(path)
    assert _files(tmp_path) == []
    _written(path)
    conn = open_checkpointer(path)
    try:
        assert conn.execute("SELECT count(*) FROM probe").fetchone()[0] == 1
        busy, _frames, _copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        assert busy == 0
        seen: list[int] = []
        other = threading.Thread(target=lambda: seen.append(conn.execute("SELECT 1").fetchone()[0]))
        other.start()
        other.join(30)
        assert seen == [1]  # usable from the checkpoint thread
    finally:
        conn.close()


def test_the_checkpoint_thread_runs_on_an_awkward_path(tmp_path: Path) -> None:
    path = tmp_path / "a ?b#c%d" / "nw.db"
    db = open_database(path, migrate=False)
    checkpointer = WalCheckpointer(db, path, busy_interval=0.01, idle_interval=0.05)
    assert checkpointer.start()
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)")
    db.execute("BEGIN IMMEDIATE")
    db.conn.executemany("INSERT INTO t (body) VALUES (?)", [("x" * 2000,)] * 200)
    db.execute("COMMIT")
    try:
        _wait_for(lambda: checkpointer.checkpoints >= 1, "a checkpoint by the thread")
        assert checkpointer.failures == 0
    finally:
        checkpointer.stop()
        db.conn.close()
    assert {p.name for p in path.parent.iterdir()} <= {"nw.db", "nw.db-wal", "nw.db-shm"}
    assert [p.name for p in tmp_path.iterdir()] == [path.parent.name]


@pytest.fixture
def server() -> Any:
    with FeedServer() as srv:
        srv.set("/a.xml", _feed("a", FIRST))
        yield srv


def test_the_story_window_is_reindexed_off_the_loop_from_an_awkward_path(
    tmp_path: Path, server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "news #1? 100%" / "nw&mode=rwc.db"
    first, _repo, fetcher, _ = make_pipeline(db, [server.url("/a.xml")])
    run_one_cycle(first, fetcher.aclose)
    indexed = record_reindexes(monkeypatch)
    server.set("/b.xml", _feed("b", SECOND))
    second, repo2, fetcher2, _ = make_pipeline(db, [server.url("/a.xml"), server.url("/b.xml")])
    run_one_cycle(second, fetcher2.aclose)
    assert indexed and indexed[0][0] != threading.get_ident()  # a thread, not the loop's
    assert indexed[0][1] == len(FIRST)  # read through the reader, at that path
    assert isinstance(second.stories, StoryGrouper)
    assert second.stories.loaded_stored == len(FIRST)
    assert all(story is not None for _, story in _stories(repo2))
    assert {p.name for p in db.parent.iterdir()} <= {f"{db.name}{x}" for x in ("", "-wal", "-shm")}
    assert [p.name for p in tmp_path.iterdir()] == [db.parent.name]  # no stray file


@dataclass(frozen=True)
class _WebConfig:
    db_path: str
    web_base_url: str | None = None
    web_username: str = "newswatch"
    web_password_hash: str | None = None


@pytest.mark.parametrize("name", ["x?y/nw.db", "q?mode=rwc/nw#1.db", "pct%3F dir/nw%20x.db"])
def test_the_web_archive_reads_the_file_at_an_awkward_path_and_cannot_write(
    tmp_path: Path, name: str
) -> None:
    """Every connection of the web archive (its start-up inspection and Datasette's own) opens
    the file at the path, read-only: Datasette's default opener would open (and create,
    read-write) the file named by the part before ``?`` or ``#``."""
    pytest.importorskip("datasette", reason="needs the `web` extra")
    from bot.web.server import build_datasette, inspect_database

    path = tmp_path / name
    db = open_database(path)
    db.execute(
        "INSERT INTO feeds (url, title, status) VALUES ('https://example.org/rss', 'x', 'active')"
    )
    db.conn.close()
    before = _files(tmp_path)
    web = inspect_database(path, open_reader)
    ds = build_datasette(_WebConfig(str(path)), web, require_auth=False, open_reader=open_reader)

    async def scenario() -> tuple[list[Any], list[Any], BaseException | None]:
        await ds.invoke_startup()
        archive = ds.get_database("newswatch")
        count = (await archive.execute("SELECT count(*) FROM feeds")).rows
        files = (await archive.execute("SELECT file FROM pragma_database_list")).rows
        refused: BaseException | None = None
        try:
            await archive.execute_write("DELETE FROM feeds")
        except Exception as exc:
            refused = exc
        archive.close()
        return [tuple(r) for r in count], [tuple(r) for r in files], refused

    count, files, refused = asyncio.run(scenario())
    assert count == [(1,)]
    assert files == [(str(path.resolve()),)]
    assert isinstance(refused, sqlite3.OperationalError) and "read-only" in str(refused)
    assert {f for f in _files(tmp_path) if f not in before} <= {f"{name}-wal", f"{name}-shm"}
    check = open_reader(path)
    assert check.execute("SELECT count(*) FROM feeds").fetchone()[0] == 1
    check.close()


def test_the_web_archive_without_a_database_says_to_run_the_bot_first(tmp_path: Path) -> None:
    pytest.importorskip("datasette", reason="needs the `web` extra")
    from bot.core.errors import WebError
    from bot.web.server import inspect_database

    with pytest.raises(WebError, match=r"no database at .*: run the bot first"):
        inspect_database(tmp_path / "nw?.db", open_reader)
    assert _files(tmp_path) == []
