"""The parse pool: every job off the event loop, in a worker, under a time limit."""

from __future__ import annotations

import copy
import dataclasses
import multiprocessing
import os
import pickle
from collections.abc import Iterator
from concurrent.futures.process import BrokenProcessPool
from datetime import UTC, datetime

import pytest

import bot.feeds.parse_pool as parse_pool
import bot.feeds.parser as parser_module
from bot.core.models import Item
from bot.feeds.parse_pool import ParsePool, parse_and_key
from tests.fakes.feed_server import rss

pytestmark = pytest.mark.slow  # worker processes and their time limits

URL = "https://feeds.example.org/a.xml"
BODY = rss([{"title": "Bamako", "link": "https://e.org/1", "guid": "g1"}]).encode()


@pytest.fixture(autouse=True)
def _unfreeze_after_each_test() -> Iterator[None]:
    """A pool's fork leaves what this process held frozen (ParsePool._forking_submit): made
    collectable again, so that the test session's garbage is not kept."""
    import gc

    yield
    gc.unfreeze()


@pytest.fixture
def pool() -> Iterator[ParsePool]:
    executor = ParsePool(workers=1)
    yield executor
    executor.shutdown(wait=True, cancel_futures=True)


def test_even_the_first_job_runs_in_a_worker_process() -> None:
    before = {child.pid for child in multiprocessing.active_children()}
    pool = ParsePool(workers=1)
    try:
        # no worker until the first job: a cycle without bodies to parse forks nothing
        assert {child.pid for child in multiprocessing.active_children()} == before
        worker = pool.submit(os.getpid).result(timeout=30)
        assert worker != os.getpid()
        assert worker in {child.pid for child in multiprocessing.active_children()} - before
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def test_a_parse_job_gives_items_keys_and_canonical_links(pool: ParsePool) -> None:
    parsed, keys, canonical = pool.submit(parse_and_key, BODY, URL, None).result(timeout=30)
    assert [i.title for i in parsed.items] == ["Bamako"]
    assert len(keys) == 1 and canonical == ["e.org/1"]


def _slow_parse(body: bytes, url: str, content_type: str | None) -> object:
    while True:  # a parser that never ends
        pass


def _stubborn_parse(body: bytes, url: str, content_type: str | None) -> object:
    while True:  # a parser that swallows every exception, even the time limit's
        try:
            while True:
                pass
        except BaseException:
            continue


def test_a_body_that_takes_too_long_fails_alone(
    pool: ParsePool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Patched before the pool forks, so the worker inherits the patches.
    monkeypatch.setattr(parse_pool, "PARSE_TIME_LIMIT", 0.5)
    monkeypatch.setattr(parser_module, "parse_feed", _slow_parse)
    parsed, keys, canonical = pool.submit(parse_and_key, BODY, URL, None).result(timeout=60)
    assert parsed.items == [] and keys == [] and canonical == []
    assert parsed.error is not None and "longer than 0.5 s" in str(parsed.error)
    assert parsed.error.kind == "parse_timeout"


def test_a_parser_stuck_past_the_cpu_limit_loses_its_worker_and_the_pool_recovers(
    pool: ParsePool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parse_pool, "PARSE_TIME_LIMIT", 0.3)
    monkeypatch.setattr(parse_pool, "PARSE_CPU_LIMIT", 1.0)
    monkeypatch.setattr(parser_module, "parse_feed", _stubborn_parse)
    with pytest.raises(BrokenProcessPool):
        pool.submit(parse_and_key, BODY, URL, None).result(timeout=60)
    monkeypatch.undo()
    assert pool.submit(os.getpid).result(timeout=30) != os.getpid()


def test_outside_a_worker_there_is_no_alarm() -> None:
    """Inline callers (the `match` command) are not interrupted by a worker's timers."""
    parsed, _, _ = parse_and_key(BODY, URL, None)
    assert [i.title for i in parsed.items] == ["Bamako"]


def test_workers_and_parent_keep_what_the_fork_shared_out_of_their_collections() -> None:
    """Forked with the parent's objects frozen (gc.freeze): a worker's collections never
    write to the inherited pages, so they stay shared; nor do the parent's, which keeps them
    frozen (a full collection there would copy every page it shares with the workers)."""
    import gc

    gc.unfreeze()  # whatever another test module's pool left frozen
    assert gc.get_freeze_count() == 0
    pool = ParsePool(workers=1)
    try:
        frozen_in_worker = pool.submit(gc.get_freeze_count).result(timeout=30)
        assert frozen_in_worker > 1000  # the modules, watchlists... the parent held at the fork
        gc.collect()
        assert gc.get_freeze_count() > 1000  # still frozen in the parent
        assert pool.submit(gc.get_freeze_count).result(timeout=30) == frozen_in_worker
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def test_an_item_comes_back_from_a_worker_with_every_field() -> None:
    """Items cross the process boundary by ``Item.__reduce__`` (one constructor call): each
    field must come back in its place, a new field included."""
    values: dict[str, object] = {
        f.name: f"value of {f.name}" for f in dataclasses.fields(Item) if f.name != "published"
    }
    values["published"] = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
    item = Item(**values)  # type: ignore[arg-type]
    for copied in (pickle.loads(pickle.dumps(item, pickle.HIGHEST_PROTOCOL)), copy.deepcopy(item)):
        assert copied == item
        assert {f.name: getattr(copied, f.name) for f in dataclasses.fields(Item)} == values
