"""The signature helper (bot.cycle.signature_helper): `poll --once` files its pending alerts
while a forked process computes their story signatures ahead of it. Whatever the helper does
(its signatures all ready, killed midway, answering bytes that are not of the alert), the
filing gives the same stories, in the same order, with the same stored signatures as one
that computes every signature itself; nothing is lost or filed twice. Real SQLite files, the
shipped model and lexicons, a real forked helper."""

from __future__ import annotations

import json
import shutil
import sqlite3
from concurrent.futures import wait
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import bot.cycle.story_grouping as story_grouping
from bot.core.story_codec import encode_signature, inputs_digest
from bot.core.watchlist import Priority
from bot.cycle.signature_helper import SignatureHelper
from bot.cycle.story_grouping import HELPER_MIN, StoryGrouper
from storage.alerts import AlertDraft, NewItem
from storage.db import open_database
from storage.repository import Repository
from tests.harness import default_matcher

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
WINDOW = timedelta(hours=72)
DATA = Path(__file__).parent / "data"
CHUNK = 64  # as the pipeline files them (_FILE_CHUNK)
ALERTS = 2 * HELPER_MIN + 10
Outcome = tuple[list[tuple[int, int, bool]], dict[str, Any]]


@pytest.fixture(scope="module")
def pending_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database holding ALERTS alerts stored by one cycle, none filed yet: the labelled
    stories' reports, each several times from other outlets and at other hours (so some join
    a story, some are dropped as a second alert of one outlet, some start their own)."""
    path = tmp_path_factory.mktemp("pending") / "nw.db"
    repo = Repository(open_database(path))
    entries = json.loads((DATA / "stories_labelled.json").read_text(encoding="utf-8"))["items"]
    matcher = default_matcher()
    items = []
    for n in range(ALERTS):
        entry = entries[n % len(entries)]
        lap = n // len(entries)
        title = entry["title"] if lap == 0 else f"{entry['title']} ({lap})"
        link = f"https://example.org/{n}"
        draft = AlertDraft(
            source=f"{entry['outlet']} {n % 5}",
            title=title,
            link=link,
            summary=entry["summary"],
            published=NOW - timedelta(hours=40 - entry["hours"] - lap * 3),
            entities=tuple(matcher.match(title, entry["summary"]).entities),
            matches=(),
            priority=Priority.NORMAL,
            chats=((1, None),),
            group_later=True,
        )
        items.append(NewItem(f"k{n}", None, "https://example.org/feed", title, link, None, draft))
    assert repo.alerts.store_feed_items("https://example.org/feed", items, NOW, None) == []
    repo.db.conn.close()
    return path


def _copy(pending_db: Path, tmp_path: Path, name: str) -> Repository:
    path = tmp_path / f"{name}.db"
    shutil.copy(pending_db, path)
    return Repository(open_database(path))


def _file_all(grouper: StoryGrouper) -> list[tuple[int, int, bool]]:
    """File every pending alert as Pipeline._group_stories does (CHUNK a transaction)."""
    filed: list[tuple[int, int, bool]] = []
    left = 1
    while left:
        done, left = grouper.group_pending(NOW, CHUNK)
        filed.extend((a.alert_id, a.story_id, a.new_story) for a in done)
    return filed


def _outcome(repo: Repository) -> dict[str, Any]:
    db = repo.db
    return {
        "alerts": db.execute("SELECT id, story_id, delivered FROM alerts ORDER BY id").fetchall(),
        "stories": db.execute("SELECT * FROM stories ORDER BY id").fetchall(),
        "signatures": db.execute(
            "SELECT alert_id, tag, data FROM story_signatures ORDER BY alert_id"
        ).fetchall(),
        "outbox": db.execute("SELECT alert_id, chat_id FROM deliveries ORDER BY id").fetchall(),
        "pending": db.execute("SELECT count(*) FROM story_pending").fetchone()[0],
    }


class _Counting(StoryGrouper):
    """Counts the signatures computed on the main thread."""

    computed = 0

    def signature(self, title: str, summary: str, entities: Any) -> Any:
        self.computed += 1
        return super().signature(title, summary, entities)


@pytest.fixture
def inline(pending_db: Path, tmp_path: Path) -> Outcome:
    """The reference: every signature computed on the main thread."""
    repo = _copy(pending_db, tmp_path, "inline")
    grouper = _Counting(repo, WINDOW, store_signatures=True)
    filed = _file_all(grouper)
    assert grouper.computed == ALERTS
    return filed, _outcome(repo)


def _helper_grouper(repo: Repository) -> _Counting:
    return _Counting(repo, WINDOW, store_signatures=True, parallel_signatures=True)


def test_signatures_from_the_helper_file_exactly_as_computed_ones(
    pending_db: Path, tmp_path: Path, inline: Outcome
) -> None:
    repo = _copy(pending_db, tmp_path, "helper")
    grouper = _helper_grouper(repo)
    done, _left = grouper.group_pending(NOW, CHUNK)  # starts the helper for the rest
    helper = grouper._helper
    assert helper is not None
    wait(helper._futures)  # all its signatures ready: none is computed here any more
    filed = [(a.alert_id, a.story_id, a.new_story) for a in done] + _file_all(grouper)
    assert grouper.computed == CHUNK  # only the first chunk, filed while the helper started
    assert helper.taken == ALERTS - CHUNK
    assert grouper._helper is None  # stopped once everything is filed
    assert not any(p.is_alive() for p in helper._processes)
    assert (filed, _outcome(repo)) == inline
    assert _outcome(repo)["pending"] == 0


def _stalling_after_one_chunk(monkeypatch: pytest.MonkeyPatch) -> None:
    """The helper answers its first job, then hangs (the forked helper inherits the patch of
    the signature function its job calls)."""
    import time

    import bot.cycle.signature_helper as helper_module

    real = helper_module.signature  # type: ignore[attr-defined]
    calls = []

    def stalling(*args: Any) -> Any:
        calls.append(1)
        if len(calls) > helper_module.CHUNK:
            time.sleep(600)
        return real(*args)

    monkeypatch.setattr(helper_module, "signature", stalling)


@pytest.mark.parametrize("fate", ["killed", "hung"])
def test_a_helper_that_dies_or_hangs_midway_loses_nothing_and_files_nothing_twice(
    pending_db: Path,
    tmp_path: Path,
    inline: Outcome,
    monkeypatch: pytest.MonkeyPatch,
    fate: str,
) -> None:
    _stalling_after_one_chunk(monkeypatch)
    repo = _copy(pending_db, tmp_path, fate)
    grouper = _helper_grouper(repo)
    done, _left = grouper.group_pending(NOW, CHUNK)
    helper = grouper._helper
    assert helper is not None
    wait(helper._futures[:1])  # its first results are in; then it dies, or hangs
    if fate == "killed":
        for process in helper._processes:
            process.kill()
            process.join()
    filed = [(a.alert_id, a.story_id, a.new_story) for a in done] + _file_all(grouper)
    assert 0 < helper.taken < ALERTS - CHUNK  # the rest were computed here
    assert grouper.computed == ALERTS - helper.taken
    assert len({alert_id for alert_id, _, _ in filed}) == len(filed)
    assert (filed, _outcome(repo)) == inline
    assert not any(p.is_alive() for p in helper._processes)  # a hung helper is killed


def test_bytes_not_of_the_alert_are_never_used(
    pending_db: Path, tmp_path: Path, inline: Outcome, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A helper answering another alert's signature, or garbage: computed here instead."""
    other = encode_signature(
        StoryGrouper(None, WINDOW).signature("Another title", "", ()),  # type: ignore[arg-type]
        inputs_digest("Another title", "", ()),
    )
    answers = iter([other, b"\x00garbage", None] * ALERTS)
    monkeypatch.setattr(SignatureHelper, "take", lambda self, alert_id: next(answers))
    repo = _copy(pending_db, tmp_path, "wrong")
    grouper = _helper_grouper(repo)
    filed = _file_all(grouper)
    assert grouper.computed == ALERTS
    assert (filed, _outcome(repo)) == inline


def test_few_alerts_get_no_helper(pending_db: Path, tmp_path: Path) -> None:
    repo = _copy(pending_db, tmp_path, "few")
    repo.db.execute(
        "DELETE FROM story_pending WHERE alert_id NOT IN"
        f" (SELECT alert_id FROM story_pending ORDER BY alert_id LIMIT {HELPER_MIN - 1})"
    )
    grouper = _helper_grouper(repo)
    grouper.group_pending(NOW, CHUNK)
    assert grouper._helper is None


def test_without_stored_signatures_no_helper(pending_db: Path, tmp_path: Path) -> None:
    repo = _copy(pending_db, tmp_path, "nostore")
    grouper = StoryGrouper(repo, WINDOW, parallel_signatures=True)  # no tag to store under
    grouper.group_pending(NOW, CHUNK)
    assert grouper._helper is None


def test_an_alert_stored_between_two_chunks_is_filed_in_its_place(
    pending_db: Path, tmp_path: Path
) -> None:
    """The order of the pending alerts is kept between chunks only while the pending rows
    are the same: a row added meanwhile (here: one published before all the others) is read,
    and filed first of what is left; the helper started for the old rows is stopped."""
    repo = _copy(pending_db, tmp_path, "added")
    grouper = _helper_grouper(repo)
    grouper.group_pending(NOW, CHUNK)
    assert grouper._helper is not None
    draft = AlertDraft(
        source="Late outlet",
        title="Mali: curfew declared in Gao after attack",
        link="https://example.org/late",
        summary="",
        published=NOW - timedelta(days=2),
        entities=("Gao",),
        matches=(),
        priority=Priority.NORMAL,
        chats=((1, None),),
        group_later=True,
    )
    late = NewItem("late", None, "https://example.org/f2", draft.title, draft.link, None, draft)
    repo.alerts.store_feed_items("https://example.org/f2", [late], NOW, None)
    late_id = repo.db.execute("SELECT id FROM alerts WHERE item_key = 'late'").fetchone()[0]
    done, _left = grouper.group_pending(NOW, CHUNK)
    assert done[0].alert_id == late_id
    _file_all(grouper)
    assert repo.db.execute("SELECT count(*) FROM story_pending").fetchone()[0] == 0
    assert grouper._helper is None


def test_a_failed_chunk_stops_the_helper_and_keeps_the_alerts_pending(
    pending_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = _copy(pending_db, tmp_path, "failed")
    grouper = _helper_grouper(repo)
    grouper.group_pending(NOW, CHUNK)
    helper = grouper._helper
    assert helper is not None
    before = repo.db.execute("SELECT count(*) FROM story_pending").fetchone()[0]

    def broken(*args: Any, **kwargs: Any) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(repo.alerts, "file_pending", broken)
    with pytest.raises(sqlite3.OperationalError):
        grouper.group_pending(NOW, CHUNK)
    assert grouper._helper is None
    assert not any(p.is_alive() for p in helper._processes)
    assert repo.db.execute("SELECT count(*) FROM story_pending").fetchone()[0] == before
    monkeypatch.undo()
    _file_all(grouper)  # the next try files them all
    assert repo.db.execute("SELECT count(*) FROM story_pending").fetchone()[0] == 0


def test_the_helper_computes_what_the_main_thread_would() -> None:
    """encoded_signatures (the helper's job) against the grouper's own signature, run here."""
    from bot.cycle.signature_helper import encoded_signatures

    grouper = StoryGrouper(None, WINDOW, store_signatures=True)  # type: ignore[arg-type]
    texts = [
        ("Attaque à Kidal : 12 soldats tués", "Des hommes armés ont attaqué un poste.", ("Kidal",)),
        ("مقتل 12 جنديا في هجوم على معسكر للجيش في كيدال", "", ("Kidal",)),
        ("", "", ()),
    ]
    story_grouping_lexicons = grouper._resolve()
    import bot.cycle.signature_helper as helper_module

    helper_module._LEXICONS = story_grouping_lexicons
    try:
        got = encoded_signatures(texts)
    finally:
        helper_module._LEXICONS = None
    assert got == [encode_signature(grouper.signature(*t), inputs_digest(*t)) for t in texts]
    assert story_grouping.HELPER_MIN > CHUNK  # a helper only for more than one chunk


@pytest.mark.parametrize(("background_delivery", "parallel"), [(False, True), (True, False)])
def test_only_poll_once_is_wired_to_use_a_helper(
    tmp_path: Path, background_delivery: bool, parallel: bool
) -> None:
    """`poll --once` (no background delivery) files with its second core idle; `run` keeps
    its parse workers and files as before."""
    from bot.app.composition import build_pipeline
    from bot.app.config import Config

    repo = Repository(open_database(tmp_path / "nw.db"))
    pipeline = build_pipeline(
        Config(),
        repo,
        None,  # type: ignore[arg-type]  # never used to build the grouper
        matcher=default_matcher,
        feeds=list,
        deliverer=None,  # type: ignore[arg-type]
        background_delivery=background_delivery,
    )
    grouper = pipeline.stories
    assert isinstance(grouper, StoryGrouper)
    assert grouper._parallel is parallel
